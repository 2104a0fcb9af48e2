/*
 * The floor: what the kernel charges for the work urocket does per request,
 * with no HTTP front and no Deno. Each worker loops: posix_spawn the handler
 * in a session of its own (POSIX_SPAWN_SETSID, as urocket needs for the group
 * kill) with a stdin pipe carrying a 100-byte payload and a stderr pipe,
 * stdout on /dev/null; accept its reply on the worker's own unix socket and
 * answer 200; then wait for stderr EOF and reap it.
 *
 *   floor HANDLER WORKERS SECONDS DIR [argv]
 *
 * With `argv`, the floor of webhook's path instead (bench/webhook.ts): the
 * handler (bench/echo.c) gets the 100-byte payload as its one argument, stdin
 * on /dev/null, stdout and stderr on one pipe read to EOF, no session of its
 * own, and the worker reaps it — what adnanh/webhook's CombinedOutput() does
 * before it answers.
 *
 * Prints one JSON line: workers, count, seconds, rps, p50_ms, p99_ms.
 * Latency is spawn → reply answered (when urocket would answer its client),
 * or with `argv` spawn → output read and child reaped (when webhook would).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Reads one HTTP request (headers + Content-Length body) and answers 200. */
static void answer(int fd) {
  char buf[8192];
  size_t got = 0;
  long need = -1;
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
    buf[got] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end) {
      if (need < 0) {
        char *cl = strcasestr(buf, "content-length:");
        need = (end + 4 - buf) + (cl ? atol(cl + 15) : 0);
      }
      if ((long)got >= need) break;
    }
  }
  const char reply[] =
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 22\r\n"
      "connection: close\r\n\r\n{\"status\":\"delivered\"}";
  if (write(fd, reply, sizeof reply - 1) < 0) die("write");
}

/* webhook's path: payload as the argument, combined output read to EOF, then reaped. */
static void spawn_argv(const char *handler, const char *payload, char *const envp[]) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) die("pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  char *argv[] = {(char *)handler, (char *)payload, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, handler, &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (rc != 0) {
    errno = rc;
    die("posix_spawn");
  }
  char sink[4096];
  while (read(out[0], sink, sizeof sink) > 0) {
  }
  close(out[0]);
  int status;
  waitpid(pid, &status, 0);
}

static void worker(const char *handler, double seconds, const char *dir, int index, int out,
                   int argv_mode) {
  char sock_path[256];
  snprintf(sock_path, sizeof sock_path, "%s/floor-%d.sock", dir, index);
  unlink(sock_path);
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, sock_path, sizeof addr.sun_path - 1);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(listener, 64) < 0) die("listen");

  char payload[100];
  memset(payload, ' ', sizeof payload);
  memcpy(payload, "{\"bench\":\"payload\"}", 19);
  size_t cap = 1 << 20, count = 0;
  double *lat = malloc(cap * sizeof *lat);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, def;
  sigemptyset(&none);
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  char *path_env = getenv("PATH");
  double start = now_ms(), deadline = start + seconds * 1e3;
  while (argv_mode && now_ms() < deadline) {
    char env_store[2][300];
    snprintf(env_store[0], 300, "PATH=%s", path_env ? path_env : "/usr/bin:/bin");
    snprintf(env_store[1], 300, "HOME=/root");
    char *envp[] = {env_store[0], env_store[1], NULL};
    char text[sizeof payload + 1];
    memcpy(text, payload, sizeof payload);
    text[sizeof payload] = '\0';
    double t0 = now_ms();
    spawn_argv(handler, text, envp);
    if (count == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
    lat[count++] = now_ms() - t0;
  }
  while (!argv_mode && now_ms() < deadline) {
    char env_store[12][300];
    char *envp[13];
    int e = 0;
    char id[40];
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012zx", (unsigned)index, count);
    snprintf(env_store[e++], 300, "PATH=%s", path_env ? path_env : "/usr/bin:/bin");
    snprintf(env_store[e++], 300, "HOME=/root");
    snprintf(env_store[e++], 300, "REQUEST_ID=%s", id);
    snprintf(env_store[e++], 300, "URIPATH=/bench");
    snprintf(env_store[e++], 300, "REQUEST_METHOD=POST");
    snprintf(env_store[e++], 300, "QUERY_STRING=");
    snprintf(env_store[e++], 300, "CONTENT_TYPE=application/json");
    snprintf(env_store[e++], 300, "CONTENT_LENGTH=100");
    snprintf(env_store[e++], 300, "UROCKET_SOCKET=%s", sock_path);
    snprintf(env_store[e++], 300, "UROCKET_REPLY_URL=http://localhost/uri/%s", id);
    snprintf(env_store[e++], 300, "UROCKET_DEADLINE_MS=1700000000000");
    for (int i = 0; i < e; i++) envp[i] = env_store[i];
    envp[e] = NULL;

    int in[2], err[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die("pipe2");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    char *argv[] = {(char *)handler, NULL};
    double t0 = now_ms();
    pid_t pid;
    int rc = posix_spawn(&pid, handler, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(err[1]);
    if (rc != 0) {
      errno = rc;
      die("posix_spawn");
    }
    if (write(in[1], payload, sizeof payload) < 0 && errno != EPIPE) die("write stdin");
    close(in[1]);
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) die("accept");
    answer(conn);
    close(conn);
    double t1 = now_ms();
    char sink[4096];
    while (read(err[0], sink, sizeof sink) > 0) {
    }
    close(err[0]);
    int status;
    waitpid(pid, &status, 0);
    if (count == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
    lat[count++] = t1 - t0;
  }
  double elapsed = (now_ms() - start) / 1e3;
  unlink(sock_path);
  /* Worker → parent: elapsed, count, then the latencies. */
  if (write(out, &elapsed, sizeof elapsed) < 0 || write(out, &count, sizeof count) < 0) die("out");
  for (size_t i = 0; i < count; i += 1024) {
    size_t n = count - i < 1024 ? count - i : 1024;
    if (write(out, lat + i, n * sizeof *lat) < 0) die("out");
  }
  exit(0);
}

static void read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n <= 0) die("read worker");
    p += n;
    len -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc != 5 && !(argc == 6 && strcmp(argv[5], "argv") == 0)) {
    fprintf(stderr, "usage: floor HANDLER WORKERS SECONDS DIR [argv]\n");
    return 2;
  }
  int workers = atoi(argv[2]);
  double seconds = atof(argv[3]);
  int pipes[16][2];
  for (int w = 0; w < workers; w++) {
    if (pipe(pipes[w]) < 0) die("pipe");
    if (fork() == 0) {
      close(pipes[w][0]);
      worker(argv[1], seconds, argv[4], w, pipes[w][1], argc == 6);
    }
    close(pipes[w][1]);
  }
  size_t total = 0, cap = 1 << 20;
  double *all = malloc(cap * sizeof *all), longest = 0;
  for (int w = 0; w < workers; w++) {
    double elapsed;
    size_t count;
    read_all(pipes[w][0], &elapsed, sizeof elapsed);
    read_all(pipes[w][0], &count, sizeof count);
    while (total + count > cap) all = realloc(all, (cap *= 2) * sizeof *all);
    read_all(pipes[w][0], all + total, count * sizeof *all);
    total += count;
    if (elapsed > longest) longest = elapsed;
  }
  while (wait(NULL) > 0) {
  }
  qsort(all, total, sizeof *all, cmp);
  printf("{\"workers\":%d,\"count\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
         "\"p99_ms\":%.3f}\n",
         workers, total, longest, total / longest, total ? all[total / 2] : 0,
         total ? all[(size_t)(total * 0.99)] : 0);
  return 0;
}
