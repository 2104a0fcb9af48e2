/*
 * urocket-spawn: the spawn server urocket starts once and asks to start
 * every handler.
 *
 * Why: Deno can put a child in a session of its own only with
 * `detached: true`, which forks the whole Deno process per request; and even
 * its fast posix_spawn path blocks urocket's one JavaScript thread until the
 * child has exec'ed (vfork semantics: 0.2–0.8 ms per request on a busy
 * 2-core VM). This small C process does the forking instead, so urocket's
 * event loop never waits for the kernel to schedule a child.
 *
 * Each handler: vfork(); in the child, reset signals, put the stdio sockets
 * on fds 0/1/2, chdir, setsid() — so it leads its own session and process
 * group (pid = pgid = sid) and urocket can signal the whole tree — then
 * execve(). Its stdin and stderr are one unix stream socket connected to
 * urocket (stdin gets the payload, then EOF; stderr is read back); its
 * stdout is a second socket when urocket asks for it, else /dev/null. The
 * server reaps every child with wait4() and reports its status and usage.
 *
 * Protocol 1 (the other side: lib/process/spawn_server.ts):
 *
 *   urocket-spawn --version        prints "urocket-spawn 1\n"
 *   urocket-spawn --serve SOCKET   serves until its stdin ends
 *
 * Requests on stdin, one frame each: a 4-byte little-endian length, then
 * that many bytes of NUL-terminated fields:
 *   TOKEN (16 hex digits), FLAGS, CWD, ARGC, ARGV…, ENVC, ENV…, PAYLOAD_LEN,
 * then PAYLOAD_LEN raw bytes. FLAGS: 1 stdin from the socket (urocket
 * streams it); 4 stdin from a pipe the server fills with the PAYLOAD and
 * closes before the handler starts (a payload that fits a pipe buffer: no
 * write, no shutdown, no wake-up on urocket's side); neither: /dev/null;
 * 2 stdout to a second socket, else /dev/null. ARGV[0] is the program's
 * absolute path (no PATH search).
 *
 * Per request the server connects to SOCKET and writes TOKEN plus "E" (the
 * stdin/stderr socket) and, with flag 2, TOKEN plus "O" (stdout). Replies on
 * stdout, one line each:
 *   S TOKEN PID                     started
 *   F TOKEN ERRNO                   not started (connect, chdir, setsid or execve failed)
 *   X TOKEN PID STATUS UTIME_US STIME_US MAXRSS_KB GROUP
 *                                   exited; STATUS is the raw wait status; GROUP
 *                                   is 0 when kill(-PID, 0) found the process
 *                                   group empty at that moment, else 1
 *
 * Room for the supervision issue (not used yet): X already carries the
 * child's exact wait4() usage; a cgroup join belongs in the child between
 * vfork and setsid (write "0" to cgroup.procs before the handler runs any
 * code), asked for by a new FLAGS bit with one more field. A server that
 * does not know a bit answers F with EINVAL, and `--version` names the
 * protocol, so urocket never uses a server older than itself.
 *
 * The server ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT (a terminal's ^C
 * reaches its process group; urocket decides when it ends: at stdin EOF)
 * and restores them in each child before exec.
 *
 * Build: `deno task build-helper` (cc -O2 -static). Never committed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROTOCOL "1"
#define TOKEN_LEN 16
#define KNOWN_FLAGS 7
/* A pipe buffer holds at least 64 KiB on Linux; the payload must never block the server. */
#define MAX_PIPED_PAYLOAD 65536
#define MAX_FRAME (8u << 20)

static struct sockaddr_un address = {.sun_family = AF_UNIX};
static int dev_null_in = -1, dev_null_out = -1;

/* Live children: pid → token. Open addressing is overkill; a grown array is enough. */
struct child {
  pid_t pid;
  char token[TOKEN_LEN + 1];
};
static struct child *children;
static size_t child_count, child_cap;

static char out[1 << 16];
static size_t out_len;

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(1, out + done, out_len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) exit(0); /* urocket is gone */
    done += (size_t)n;
  }
  out_len = 0;
}

static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *format, ...) {
  char line[256];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  if (out_len + (size_t)n > sizeof out) flush_out();
  memcpy(out + out_len, line, (size_t)n);
  out_len += (size_t)n;
}

static int connect_stream(const char *token, char kind) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  char header[TOKEN_LEN + 1];
  memcpy(header, token, TOKEN_LEN);
  header[TOKEN_LEN] = kind;
  if (write(fd, header, sizeof header) != (ssize_t)sizeof header) {
    int error = errno ? errno : EIO;
    close(fd);
    return -error;
  }
  return fd;
}

static const int RESTORED_SIGNALS[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};

/* One request frame: start the handler, answer S or F. */
static void start(char *frame, size_t len) {
  char *fields[8];
  size_t count = 0;
  char *end = frame + len;
  /* The first five fixed fields: token, flags, cwd, argc; argv and env follow. */
  char *p = frame;
  while (count < 4 && p < end) {
    fields[count++] = p;
    p += strnlen(p, (size_t)(end - p)) + 1;
  }
  if (count < 4 || strlen(fields[0]) != TOKEN_LEN) {
    say("F %s %d\n", count > 0 && strlen(fields[0]) == TOKEN_LEN ? fields[0] : "0000000000000000",
        EINVAL);
    return;
  }
  const char *token = fields[0];
  long flags = strtol(fields[1], NULL, 10);
  const char *cwd = fields[2];
  long argc = strtol(fields[3], NULL, 10);
  if (flags & ~KNOWN_FLAGS || argc < 1 || argc > (long)(len / 2)) {
    say("F %s %d\n", token, EINVAL);
    return;
  }
  char **argv = malloc(sizeof(char *) * (size_t)(argc + 1));
  for (long i = 0; i < argc && p < end; i++) {
    argv[i] = p;
    p += strnlen(p, (size_t)(end - p)) + 1;
  }
  argv[argc] = NULL;
  long envc = p < end ? strtol(p, NULL, 10) : -1;
  if (p < end) p += strnlen(p, (size_t)(end - p)) + 1;
  if (envc < 0 || envc > (long)(len / 2)) {
    free(argv);
    say("F %s %d\n", token, EINVAL);
    return;
  }
  char **envp = malloc(sizeof(char *) * (size_t)(envc + 1));
  for (long i = 0; i < envc && p < end; i++) {
    envp[i] = p;
    p += strnlen(p, (size_t)(end - p)) + 1;
  }
  envp[envc] = NULL;
  long payload_len = p < end ? strtol(p, NULL, 10) : -1;
  if (p < end) p += strnlen(p, (size_t)(end - p)) + 1;
  if (payload_len < 0 || payload_len != end - p || ((flags & 4) && payload_len > MAX_PIPED_PAYLOAD) ||
      ((flags & 4) && (flags & 1))) {
    free(argv);
    free(envp);
    say("F %s %d\n", token, EINVAL);
    return;
  }
  int piped[2] = {-1, -1};
  if (flags & 4) {
    if (pipe2(piped, O_CLOEXEC) < 0) {
      free(argv);
      free(envp);
      say("F %s %d\n", token, errno);
      return;
    }
    if (payload_len > 0 && write(piped[1], p, (size_t)payload_len) != payload_len) {
      int error = errno ? errno : EIO;
      close(piped[0]);
      close(piped[1]);
      free(argv);
      free(envp);
      say("F %s %d\n", token, error);
      return;
    }
    close(piped[1]);
  }

  int in_err = connect_stream(token, 'E');
  int stdout_fd = in_err >= 0 && (flags & 2) ? connect_stream(token, 'O') : dev_null_out;
  if (in_err < 0 || stdout_fd < 0) {
    say("F %s %d\n", token, in_err < 0 ? -in_err : -stdout_fd);
    if (in_err >= 0) close(in_err);
    if (piped[0] >= 0) close(piped[0]);
    free(argv);
    free(envp);
    return;
  }
  int stdin_fd = (flags & 1) ? in_err : (flags & 4) ? piped[0] : dev_null_in;

  /* Written by the vfork child (shared memory) when it cannot exec. */
  volatile int child_error = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    for (size_t i = 0; i < sizeof RESTORED_SIGNALS / sizeof RESTORED_SIGNALS[0]; i++) {
      signal(RESTORED_SIGNALS[i], SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* dup2 clears FD_CLOEXEC on the new descriptors; everything else of ours is CLOEXEC. */
    if (dup2(stdin_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(in_err, 2) < 0 ||
        chdir(cwd) < 0 || setsid() < 0) {
      child_error = errno;
      _exit(127);
    }
    execve(argv[0], argv, envp);
    child_error = errno;
    _exit(127);
  }
  int fork_error = pid < 0 ? errno : 0;
  close(in_err);
  if (piped[0] >= 0) close(piped[0]);
  if (stdout_fd != dev_null_out) close(stdout_fd);
  free(argv);
  free(envp);
  if (pid < 0) {
    say("F %s %d\n", token, fork_error);
    return;
  }
  if (child_error) {
    /* The child exited without exec'ing: reap it here, it was never announced. */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    say("F %s %d\n", token, child_error);
    return;
  }
  if (child_count == child_cap) {
    child_cap = child_cap ? child_cap * 2 : 256;
    children = realloc(children, child_cap * sizeof *children);
  }
  children[child_count].pid = pid;
  memcpy(children[child_count].token, token, TOKEN_LEN + 1);
  child_count++;
  say("S %s %d\n", token, (int)pid);
}

static void reap(void) {
  int status;
  struct rusage usage;
  pid_t pid;
  while ((pid = wait4(-1, &status, WNOHANG, &usage)) > 0) {
    for (size_t i = 0; i < child_count; i++) {
      if (children[i].pid != pid) continue;
      /* Saves urocket a kill(-pgid, 0) per request when, as usual, nothing outlived the handler. */
      int group = kill(-pid, 0) == 0 || errno != ESRCH;
      say("X %s %d %d %lld %lld %ld %d\n", children[i].token, (int)pid, status,
          (long long)usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec,
          (long long)usage.ru_stime.tv_sec * 1000000 + usage.ru_stime.tv_usec, usage.ru_maxrss,
          group);
      children[i] = children[--child_count];
      break;
    }
  }
}

static int serve(const char *socket_path) {
  if (strlen(socket_path) >= sizeof address.sun_path) {
    fprintf(stderr, "urocket-spawn: socket path too long\n");
    return 2;
  }
  strcpy(address.sun_path, socket_path);
  dev_null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  dev_null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0 || dev_null_in < 0 || dev_null_out < 0) {
    perror("urocket-spawn");
    return 2;
  }
  size_t cap = 1 << 16, have = 0;
  char *buffer = malloc(cap);
  int input_open = 1;
  while (input_open) {
    struct pollfd fds[2] = {{sigfd, POLLIN, 0}, {input_open ? 0 : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {
      }
    }
    reap();
    if (input_open && fds[1].revents) {
      if (have == cap) buffer = realloc(buffer, cap *= 2);
      ssize_t n = read(0, buffer + have, cap - have);
      if (n > 0) {
        have += (size_t)n;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        /* urocket closed us (shutdown, or it died): children are left to its group kill. */
        input_open = 0;
      }
      size_t offset = 0;
      while (have - offset >= 4) {
        uint32_t len;
        memcpy(&len, buffer + offset, 4);
        if (len > MAX_FRAME) {
          fprintf(stderr, "urocket-spawn: frame of %u bytes refused\n", len);
          return 2;
        }
        if (have - offset - 4 < len) {
          while (cap < len + 4) buffer = realloc(buffer, cap *= 2);
          break;
        }
        start(buffer + offset + 4, len);
        offset += 4 + len;
        reap();
      }
      memmove(buffer, buffer + offset, have - offset);
      have -= offset;
    }
    flush_out();
  }
  flush_out();
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts("urocket-spawn " PROTOCOL);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
  fprintf(stderr, "usage: urocket-spawn --version | --serve SOCKET\n");
  return 2;
}
