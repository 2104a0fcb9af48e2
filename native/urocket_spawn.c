/*
 * urocket-spawn: the spawn server urocket starts once and asks to start
 * every handler.
 *
 * Why: Deno can put a child in a session of its own only with
 * `detached: true`, which forks the whole Deno process per request; and even
 * its fast posix_spawn path blocks urocket's one JavaScript thread until the
 * child has exec'ed (vfork semantics: 0.2–0.8 ms per request on a busy
 * 2-core VM). This small C process does the forking instead, so urocket's
 * event loop never waits for the kernel to schedule a child. It is also the
 * only part of urocket that touches cgroupfs: Deno refuses every read and
 * write under /sys and /proc unless it runs with a bare --allow-all.
 *
 * Each handler: the server prepares its stdio (and cgroup), then clones the
 * child sharing its memory (CLONE_VM, as vfork does, so no page tables are
 * copied) without waiting for its exec, so that a slow exec on a busy
 * machine holds neither the relaying of output nor the other starts; a
 * close-on-exec pipe tells the server it exec'ed (its end: S) or why it
 * could not (an errno: F). Where the kernel schedules each session as a
 * group of its own, or on machines other than x86-64 and arm64, it vforks
 * and waits instead (see async_launch). The child, with raw system calls
 * only (it must not touch the server's errno), unblocks signals, puts its
 * stdio on fds 0/1/2, joins the request's cgroup (when asked), switches user
 * (when asked), chdirs, setsid()s — so it leads its own session and process
 * group (pid = pgid = sid) and urocket can signal the whole tree — then
 * execve()s. Its
 * stdin is a pipe the server filled with the payload, a unix stream socket
 * connected to urocket (a payload too large for a pipe buffer), or
 * /dev/null. Its stderr, and its stdout when urocket asks for it (else
 * /dev/null), are pipes the server reads and relays to urocket on its
 * control connection: no connection, stream or wake-up of urocket per
 * handler beyond the server's lines. The server reaps every child with
 * wait4() and reports its status and usage.
 *
 * Protocol 5 (the other side: lib/process/spawn_server.ts):
 *
 *   urocket-spawn --version        prints "urocket-spawn 5\n"
 *   urocket-spawn --serve SOCKET   reads a control TOKEN (16 hex digits) and a
 *                                  newline on stdin, connects to SOCKET and
 *                                  writes TOKEN plus "C": the control
 *                                  connection; serves until it ends
 *   urocket-spawn --cgroup-setup NEEDED [DIR]
 *                                  prepares DIR (default: the cgroup this
 *                                  process is in) for one cgroup per handler,
 *                                  prints one line and exits (see setup())
 *   urocket-spawn --nofile PID     raises the soft RLIMIT_NOFILE of PID to its
 *                                  hard limit, prints one line and exits (see
 *                                  nofile())
 *
 * Requests on the control connection, one frame each: a 4-byte
 * little-endian length, then that many bytes of NUL-terminated fields:
 *   TOKEN (16 hex digits), FLAGS, CWD, CGROUP, MEMORY_MAX, CPU_MAX, PIDS_MAX,
 *   UID, GID, GROUPS, ARGC, ARGV…, ENVC, ENV…, PAYLOAD_LEN,
 * then PAYLOAD_LEN raw bytes. FLAGS:
 *    1 stdin from a socket connected to urocket (urocket streams it);
 *    4 stdin from a pipe the server fills with the PAYLOAD and closes before
 *      the handler starts (a payload that fits a pipe buffer: no write, no
 *      shutdown, no wake-up on urocket's side); neither: /dev/null;
 *    2 stdout relayed like stderr, else /dev/null;
 *    8 a cgroup: create CGROUP/req-TOKEN (CGROUP is a directory prepared by
 *      --cgroup-setup), write MEMORY_MAX, CPU_MAX, PIDS_MAX into memory.max,
 *      cpu.max, pids.max (an empty field is left alone), and join it in the
 *      child before anything of the handler runs;
 *   16 a user: setgroups(GROUPS, a comma list), setgid(GID), setuid(UID) in
 *      the child before exec (urocket runs as root);
 *   32 release: only TOKEN, FLAGS, CWD (empty) and CGROUP count: read the
 *      usage of CGROUP/req-TOKEN, kill what is left in it, remove it;
 *   64 drop: only TOKEN and FLAGS count: stop relaying TOKEN's output and
 *      close its pipes (urocket stopped reading: say, a process that escaped
 *      its group still holds them). No answer.
 *  128 stats: only TOKEN, FLAGS and PIDS (a comma list) count: the live usage
 *      of each listed pid that is a child of this server not reaped yet (any
 *      other pid is left out: urocket's console reads no other process), from
 *      /proc/PID/stat and /proc/PID/status. One U line.
 * ARGV[0] is the program's absolute path (no PATH search).
 *
 * With flag 1 the server connects to SOCKET and writes TOKEN plus "I"
 * before the handler starts. Replies on the control connection, one line
 * each unless said:
 *   S TOKEN PID                     started
 *   D TOKEN FD LEN                  output: FD 2 (stderr) or 1 (stdout), then
 *                                   LEN raw bytes right after the newline
 *   C TOKEN FD                      that output ended (every process holding it
 *                                   closed it), or was dropped
 *   F TOKEN ERRNO                   not started (memory, connect, cgroup, chdir, setsid, user or
 *                                   execve failed)
 *   X TOKEN PID STATUS UTIME_US STIME_US MAXRSS_KB GROUP OOM_KILLS
 *                                   exited; STATUS is the raw wait status; the usage
 *                                   is wait4()'s: the child plus the descendants it
 *                                   waited for; GROUP is 0 when kill(-PID, 0) found
 *                                   the process group empty at that moment, else 1;
 *                                   OOM_KILLS is memory.events' oom_kill of its
 *                                   cgroup, -1 without one
 *   R TOKEN USER_US SYS_US PEAK_BYTES OOM_KILLS REMOVED
 *                                   released: cpu.stat's user_usec and system_usec,
 *                                   memory.peak, oom_kill (-1: could not be read);
 *                                   REMOVED 1 when the directory is gone, 0 when
 *                                   processes were left (killed with cgroup.kill;
 *                                   removal is retried for 5 s)
 *   U TOKEN [PID CPU_US RSS_KB]…    stats: for each pid answered, utime + stime +
 *                                   cutime + cstime (the child and the descendants
 *                                   it waited for) and VmRSS; a pid that is gone or
 *                                   exiting (no VmRSS) is left out
 *
 * A frame over 8 MiB, or one the server has no memory to hold, ends the
 * server (exit 2; urocket starts another for the next request).
 *
 * A server that does not know a FLAGS bit answers F with EINVAL, and
 * `--version` names the protocol, so urocket never uses a server older than
 * itself.
 *
 * The server blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT (a terminal's ^C
 * reaches its process group; urocket decides when it ends: at the end of
 * the control connection) and each child unblocks them before exec. At
 * that end it kills what is left in the cgroups of its running children and
 * removes them.
 *
 * Build: `deno task build-helper` (cc -O2 -static). Never committed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

#define PROTOCOL "5"
#define TOKEN_LEN 16
enum {
  STDIN_SOCKET = 1,
  STDOUT_RELAY = 2,
  STDIN_PIPE = 4,
  CGROUP = 8,
  USER = 16,
  RELEASE = 32,
  DROP = 64,
  STATS = 128,
  KNOWN_FLAGS = 255,
};
/* Most bytes of one output relayed per read: a chatty handler cannot starve the others. */
#define RELAY_CHUNK 16384
/* Largest payload that comes in its request frame and goes to the handler in a pipe (fed as the
 * handler reads, see struct feed); a larger one comes on a socket of its own. */
#define MAX_PIPED_PAYLOAD 65536
#define MAX_FRAME (8u << 20)
#define MAX_GROUPS 64

static struct sockaddr_un address = {.sun_family = AF_UNIX};
static int dev_null_in = -1, dev_null_out = -1;

/* Live children: pid → token (and cgroup). A grown array is enough. */
struct child {
  pid_t pid;
  char token[TOKEN_LEN + 1];
  char *group; /* the child's cgroup directory, or NULL */
};
static struct child *children;
static size_t child_count, child_cap;

/* What a watched descriptor is: the first member of each struct that epoll data points to. */
enum { WATCH_OUTPUT = 1, WATCH_FEED, WATCH_LAUNCH };

/* An output pipe being relayed; its address is its epoll data. */
struct output {
  int kind; /* WATCH_OUTPUT */
  int fd;
  int stream;   /* 1 stdout, 2 stderr */
  int watched;  /* relayed: its handler has been launched (see watch_output()) */
  size_t index; /* in outputs[] */
  char token[TOKEN_LEN + 1];
};
static struct output **outputs;
static size_t output_count, output_cap;
static int epoll_fd = -1;
/* The events epoll_wait() returned, while the loop goes through them. */
static struct epoll_event *batch;
static int batch_size;

/* What is closed while the loop goes through a batch is not looked at again in it. */
static void forget_events(const void *tag) {
  for (int i = 0; i < batch_size; i++) {
    if (batch[i].data.ptr == tag) batch[i].data.ptr = NULL;
  }
}

/* The rest of a piped payload that did not fit in its pipe at once, written as the handler reads.
 * A pipe may hold less than 64 KiB (pipe(7): a user over fs/pipe-user-pages-soft gets 8 KiB), and
 * the server must never wait for a handler. Its address is its epoll data. */
struct feed {
  int kind; /* WATCH_FEED */
  int fd;
  char *data;
  size_t len, done;
};

/* The control connection: requests in, replies out; gone once a write to it fails. */
static int control = -1;
static int control_gone;

static char out[1 << 16];
static size_t out_len;

static void flush_out(void) {
  size_t done = 0;
  while (!control_gone && done < out_len) {
    ssize_t n = write(control, out + done, out_len - done);
    if (n < 0 && errno == EINTR) continue;
    /* urocket is gone: nothing more to tell it, but the cgroups must still go (clean_up()). */
    if (n <= 0) control_gone = 1;
    else done += (size_t)n;
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

/* Relays what one output pipe holds (up to RELAY_CHUNK bytes): a D line, then the bytes. Returns
 * 1 when it relayed some, -1 when the pipe is empty for now, 0 at the pipe's end. */
static int relay(struct output *o) {
  static char chunk[RELAY_CHUNK];
  ssize_t n = read(o->fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return -1;
  if (n <= 0) return 0;
  say("D %s %d %d\n", o->token, o->stream, (int)n);
  if (out_len + (size_t)n > sizeof out) flush_out();
  memcpy(out + out_len, chunk, (size_t)n);
  out_len += (size_t)n;
  return 1;
}

/* Stops relaying an output (at its end, or dropped: C line; a spawn that failed: none). */
static void close_output(struct output *o, int announce) {
  if (announce) say("C %s %d\n", o->token, o->stream);
  forget_events(o);
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, o->fd, NULL);
  close(o->fd);
  outputs[o->index] = outputs[--output_count];
  outputs[o->index]->index = o->index;
  free(o);
}

/* Watches the read end of a pipe, relayed once watch_output() says its handler runs; returns it,
 * or NULL with errno set. */
static struct output *add_output(int fd, int stream, const char *token) {
  /* Room first: once the pipe is watched, a failure would have to be undone. */
  if (output_count == output_cap) {
    size_t cap = output_cap ? output_cap * 2 : 256;
    struct output **grown = realloc(outputs, cap * sizeof *outputs);
    if (!grown) {
      errno = ENOMEM;
      return NULL;
    }
    outputs = grown;
    output_cap = cap;
  }
  struct output *o = malloc(sizeof *o);
  if (!o) {
    errno = ENOMEM;
    return NULL;
  }
  o->kind = WATCH_OUTPUT;
  o->fd = fd;
  o->stream = stream;
  o->watched = 0;
  memcpy(o->token, token, TOKEN_LEN + 1);
  /* Nothing arrives before the handler has exec'ed, which the server learns first (see serve()). */
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = o};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
    int error = errno;
    free(o);
    errno = error;
    return NULL;
  }
  o->index = output_count;
  outputs[output_count++] = o;
  return o;
}

/* Relays an output from now on: its handler runs (S is said). */
static void watch_output(struct output *o) {
  o->watched = 1;
}

/* Relays everything TOKEN's pipes hold now, and ends those at their end (C lines): what a handler
 * wrote before it exited reaches urocket before its X line. Downwards, as in drop(). */
static void relay_all(const char *token) {
  for (size_t i = output_count; i-- > 0;) {
    struct output *o = outputs[i];
    if (memcmp(o->token, token, TOKEN_LEN) != 0) continue;
    int more;
    while ((more = relay(o)) == 1) {
    }
    if (more == 0) close_output(o, 1);
  }
}

/* Watches `fd` to write `len` bytes of `data` (copied) as room comes; NULL with errno set. */
static struct feed *new_feed(int fd, const char *data, size_t len) {
  struct feed *f = malloc(sizeof *f);
  char *copy = malloc(len);
  if (!f || !copy) {
    free(f);
    free(copy);
    errno = ENOMEM;
    return NULL;
  }
  memcpy(copy, data, len);
  *f = (struct feed){.kind = WATCH_FEED, .fd = fd, .data = copy, .len = len, .done = 0};
  struct epoll_event event = {.events = EPOLLOUT, .data.ptr = f};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
    int error = errno;
    free(copy);
    free(f);
    errno = error;
    return NULL;
  }
  return f;
}

/* Stops feeding: the payload is written, the handler closed its stdin, or it never started. */
static void end_feed(struct feed *f) {
  forget_events(f);
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, f->fd, NULL);
  close(f->fd);
  free(f->data);
  free(f);
}

/* Writes what fits of the rest of a payload; ends the feed when it is all written or refused. */
static void feed(struct feed *f) {
  while (f->done < f->len) {
    ssize_t n = write(f->fd, f->data + f->done, f->len - f->done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return; /* more once the handler has read */
    if (n <= 0) break;                    /* EPIPE: it will not read the rest */
    f->done += (size_t)n;
  }
  end_feed(f);
}

/* Drop frame: stops relaying TOKEN's outputs. Downwards: a closed one's slot takes the last.
 * Outputs of a launch under way are its own until it is finished (urocket drops only what it was
 * handed, after S). */
static void drop(const char *token) {
  for (size_t i = output_count; i-- > 0;) {
    if (outputs[i]->watched && memcmp(outputs[i]->token, token, TOKEN_LEN) == 0) {
      close_output(outputs[i], 1);
    }
  }
}

/* Release frame: the usage of parent/req-TOKEN, then it is removed (killing what is left): R. */
static void release(const char *token, const char *parent) {
  struct group_usage usage;
  release_group(parent, token, &usage);
  say("R %s %lld %lld %lld %lld %d\n", token, usage.user_us, usage.sys_us, usage.peak_bytes,
      usage.oom_kills, usage.removed);
}

/* Whether `pid` is a child this server started and has not reaped: its pid cannot be reused. */
static int is_child(long pid) {
  for (size_t i = 0; i < child_count; i++) {
    if (children[i].pid == pid) return 1;
  }
  return 0;
}

/* The CPU time of /proc/PID/stat (utime + stime + cutime + cstime, fields 14–17) in µs; -1. */
static long long stat_cpu_us(const char *dir) {
  char text[1024];
  if (read_file(dir, "stat", text, sizeof text) < 0) return -1;
  /* The command (field 2) may hold spaces and parentheses: the fields after it follow its last
   * ")", each after a space; utime, the 14th, after the 12th. */
  char *p = strrchr(text, ')');
  for (int spaces = 0; p && spaces < 12; spaces++) p = strchr(p + 1, ' ');
  if (!p) return -1;
  long long ticks = 0;
  for (int field = 14; field <= 17; field++) {
    char *end;
    long long value = strtoll(p, &end, 10);
    if (end == p || value < 0) return -1;
    ticks += value;
    p = end;
  }
  long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? ticks * 1000000 / hz : -1;
}

/* VmRSS of /proc/PID/status in kB; -1 (a process exiting has none). */
static long long status_rss_kb(const char *dir) {
  char text[8192];
  if (read_file(dir, "status", text, sizeof text) < 0) return -1;
  char *line = strstr(text, "\nVmRSS:");
  if (!line) return -1;
  char *end;
  long long kb = strtoll(line + 7, &end, 10);
  return end == line + 7 ? -1 : kb;
}

/* Stats frame: the live usage of the listed pids that are this server's children: U. */
static void stats(const char *token, const char *pids) {
  say("U %s", token);
  for (const char *p = pids; *p;) {
    char *end;
    long pid = strtol(p, &end, 10);
    if (end == p || (*end && *end != ',')) break;
    p = *end ? end + 1 : end;
    if (pid <= 0 || pid > INT_MAX || !is_child(pid)) continue;
    char dir[32];
    snprintf(dir, sizeof dir, "/proc/%ld", pid);
    long long cpu_us = stat_cpu_us(dir), rss_kb = status_rss_kb(dir);
    if (cpu_us >= 0 && rss_kb >= 0) say(" %ld %lld %lld", pid, cpu_us, rss_kb);
  }
  say("\n");
}

/* A start that failed: its outputs closed, never watched, without C lines. */
static void discard_outputs(struct output *err_out, struct output *out_out) {
  if (err_out) close_output(err_out, 0);
  if (out_out) close_output(out_out, 0);
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


/* ---- starting a handler ---------------------------------------------------------------------- */

/* The next NUL-terminated field of a frame, or NULL when the frame ends first. */
static char *next_field(char **cursor, char *end) {
  char *field = *cursor;
  if (field >= end) return NULL;
  size_t len = strnlen(field, (size_t)(end - field));
  if (field + len == end) return NULL;
  *cursor = field + len + 1;
  return field;
}

/* Parses "1,2,3" into groups; returns the count or -1. */
static int parse_groups(const char *text, gid_t *groups) {
  int count = 0;
  for (const char *p = text; *p;) {
    char *end;
    unsigned long gid = strtoul(p, &end, 10);
    if (end == p || count == MAX_GROUPS || gid > UINT32_MAX - 1) return -1;
    groups[count++] = (gid_t)gid;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return count;
}

/* Formats a pid in the vfork child, where printf-family functions are best avoided. */
static size_t format_pid(char *digits, pid_t pid) {
  char reversed[16];
  size_t n = 0;
  unsigned long value = (unsigned long)pid;
  do {
    reversed[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value && n < sizeof reversed);
  for (size_t i = 0; i < n; i++) digits[i] = reversed[n - 1 - i];
  digits[n] = '\n';
  return n + 1;
}

/*
 * One start, from its frame to its S or F line. The server prepares it (pipes, payload, cgroup,
 * outputs) and clones the child; the child reports on a close-on-exec pipe (nothing: exec'ed; an
 * errno: it could not), and the server then settles the start: S, or F with everything undone.
 */
struct launch {
  int kind; /* WATCH_LAUNCH: the report pipe's epoll data */
  /* Read by the child until it has exec'ed, meanwhile in the same memory: never written once it
   * is cloned, and all of it lives until the start is settled. */
  char *frame; /* a copy of the request frame: argv, envp and cwd point into it */
  char **argv, **envp;
  const char *cwd;
  int stdin_fd, stdout_fd, stderr_fd, procs, report_fd;
  /* Written by a vforked child that could not exec (the server waits meanwhile). */
  volatile int child_error;
  int user;
  uid_t uid;
  gid_t gid;
  int group_count;
  gid_t groups[MAX_GROUPS];
  char *stack; /* the child's, until it has exec'ed */
  /* The server's. */
  pid_t pid;
  int report; /* the read end of the report pipe, watched */
  char token[TOKEN_LEN + 1];
  /* Its copies of the child's descriptors, closed once the child has its own. */
  int socket_fd, piped_read, group_procs, err_write, out_write;
  struct output *err_out, *out_out;
  struct feed *rest;
  char *group;
  struct launch *prev, *next; /* cloned starts not settled yet */
};

/*
 * Whether children are cloned without the server waiting for their exec (else vforked, one at a
 * time). Not where the kernel schedules each session as a group of its own (see
 * sessions_scheduled_apart()): measured on a busy 2-core VM with session autogroups, several
 * children making their sessions (setsid()) at once stalled some of them for 100–300 ms before
 * exec (p99 at c=8: 110–390 ms, against 21–80 ms one at a time and 15–70 ms with no session
 * made), and one at a time the clone's report costs the server ~50 µs more per start than
 * vfork; see BENCHMARKS.md.
 */
static int async_launch;
static struct launch *unsettled;
static size_t unsettled_count;

/* System calls for the child, which shares the server's memory until it execs: none may touch
 * errno or anything else of the server's. They return -errno on failure. */
#if defined(__x86_64__)
#define ASYNC_LAUNCH 1
static long child_call(long number, long a, long b, long c, long d) {
  long result;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return result;
}
#elif defined(__aarch64__)
#define ASYNC_LAUNCH 1
static long child_call(long number, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = number;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
  return x0;
}
#else
/* Elsewhere the child is vforked: the server waits, so glibc's errno is the child's to use. */
#define ASYNC_LAUNCH 0
static long child_call(long number, long a, long b, long c, long d) {
  long result = syscall(number, a, b, c, d);
  return result < 0 ? -errno : result;
}
#endif

/* The child's stack while it shares the server's memory: its few frames, then the kernel's. */
#define CHILD_STACK (64 * 1024)

/*
 * The child, until exec: signals unblocked (the server blocks those it must not die of, and
 * SIGCHLD; their dispositions stay the default), stdio on fds 0/1/2, into the cgroup, the user,
 * cwd, a session of its own, exec. On failure it reports its errno and exits 127.
 */
static int child_main(void *arg) {
  struct launch *l = arg;
  unsigned long none = 0; /* the kernel's signal set: 64 bits */
  long error = child_call(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, sizeof none);
  /* dup3 clears FD_CLOEXEC on the new descriptors; everything else of ours is CLOEXEC. */
  int from[3] = {l->stdin_fd, l->stdout_fd, l->stderr_fd};
  for (int fd = 0; error >= 0 && fd < 3; fd++) {
    if (from[fd] != fd) error = child_call(SYS_dup3, from[fd], fd, 0, 0);
  }
  if (error >= 0 && l->procs >= 0) {
    /* Into the cgroup before the handler runs a single instruction of its own (and before
     * setuid: the handler's user may not write cgroup.procs). Its own pid is the same as "0" to
     * the kernel, and tells the test layout which process wrote it. */
    char digits[24];
    size_t n = format_pid(digits, (pid_t)child_call(SYS_getpid, 0, 0, 0, 0));
    error = child_call(SYS_write, l->procs, (long)digits, (long)n, 0);
    if (error >= 0 && error != (long)n) error = -EIO;
  }
  if (error >= 0 && l->user) {
    error = child_call(SYS_setgroups, l->group_count, (long)l->groups, 0, 0);
    if (error >= 0) error = child_call(SYS_setgid, l->gid, 0, 0, 0);
    if (error >= 0) error = child_call(SYS_setuid, l->uid, 0, 0, 0);
  }
  if (error >= 0) error = child_call(SYS_chdir, (long)l->cwd, 0, 0, 0);
  if (error >= 0) error = child_call(SYS_setsid, 0, 0, 0, 0);
  if (error >= 0) error = child_call(SYS_execve, (long)l->argv[0], (long)l->argv, (long)l->envp, 0);
  int code = error < 0 ? (int)-error : EIO;
  if (l->report_fd >= 0) child_call(SYS_write, l->report_fd, (long)&code, sizeof code, 0);
  else l->child_error = code;
  child_call(SYS_exit, 127, 0, 0, 0);
  return 127;
}

/* Closes the server's copies of the child's ends of its stdio (the child has its own). */
static void close_child_ends(struct launch *l) {
  int *ends[] = {&l->socket_fd, &l->piped_read, &l->group_procs, &l->err_write, &l->out_write};
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
    if (*ends[i] >= 0) close(*ends[i]);
    *ends[i] = -1;
  }
}

/* Frees what a start holds once its child has exec'ed or is gone (or was never made). */
static void free_launch(struct launch *l) {
  close_child_ends(l);
  free(l->argv);
  free(l->envp);
  free(l->frame);
  free(l->stack);
  free(l);
}

/* Undoes a start that will not run (no child, or one that could not exec), and says F. */
static void refuse(struct launch *l, int error) {
  say("F %s %d\n", l->token, error);
  discard_outputs(l->err_out, l->out_out);
  if (l->rest) end_feed(l->rest);
  close_child_ends(l);
  if (l->group) remove_group(l->group);
  free(l->group);
  free_launch(l);
}

/* A start whose child has exec'ed: its outputs relayed from now on (no D line precedes S), the
 * child tracked (its slot was made before the start), S. */
static void started(struct launch *l) {
  if (l->err_out) watch_output(l->err_out);
  if (l->out_out) watch_output(l->out_out);
  children[child_count].pid = l->pid;
  memcpy(children[child_count].token, l->token, TOKEN_LEN + 1);
  children[child_count].group = l->group;
  child_count++;
  say("S %s %d\n", l->token, (int)l->pid);
  free_launch(l);
}

/*
 * Settles a cloned start once its child has exec'ed or failed to (its report pipe is readable,
 * or the child was reaped: `reaped`): S, or F. Returns 1 when it started.
 */
static int settle(struct launch *l, int reaped) {
  int code = 0;
  ssize_t n;
  while ((n = read(l->report, &code, sizeof code)) < 0 && errno == EINTR) {
  }
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, l->report, NULL);
  close(l->report);
  if (l->prev) l->prev->next = l->next;
  else unsettled = l->next;
  if (l->next) l->next->prev = l->prev;
  unsettled_count--;
  if (n != 0) {
    /* It exits 127 right after its report: reaped first, so that its cgroup can go. */
    if (!reaped) {
      while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR) {
      }
    }
    refuse(l, n == (ssize_t)sizeof code ? code : EIO);
    return 0;
  }
  started(l);
  return 1;
}

/* Makes the child and waits for its exec: vfork holds the server until then. */
static void launch_and_wait(struct launch *l) {
  l->child_error = 0;
  pid_t pid = vfork();
  if (pid == 0) _exit(child_main(l));
  int error = pid < 0 ? errno : l->child_error;
  close_child_ends(l);
  if (pid > 0 && error) {
    /* The child exited without exec'ing: reap it here, it was never announced. */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  if (error) {
    refuse(l, error);
    return;
  }
  l->pid = pid;
  started(l);
}

/*
 * Makes the child. With async_launch it shares the server's memory (no copy of the page tables,
 * as with vfork) but the server does not wait for its exec: it goes on relaying and starting
 * others, and settles this start when the report comes.
 */
static void launch(struct launch *l) {
#if ASYNC_LAUNCH
  if (!async_launch) {
    launch_and_wait(l);
    return;
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    refuse(l, errno);
    return;
  }
  if (!(l->stack = malloc(CHILD_STACK))) {
    close(report[0]);
    close(report[1]);
    refuse(l, ENOMEM);
    return;
  }
  l->report_fd = report[1];
  /* The stack grows down from its end, which malloc aligned. */
  pid_t pid = clone(child_main, l->stack + CHILD_STACK, CLONE_VM | SIGCHLD, l);
  int error = pid < 0 ? errno : 0;
  close(report[1]);
  close_child_ends(l);
  if (pid < 0) {
    close(report[0]);
    refuse(l, error);
    return;
  }
  l->kind = WATCH_LAUNCH;
  l->pid = pid;
  l->report = report[0];
  unsettled_count++;
  l->prev = NULL;
  l->next = unsettled;
  if (unsettled) unsettled->prev = l;
  unsettled = l;
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = l};
  /* Not watched (no memory for it): settled now, waiting for the child's exec as vfork would. */
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, l->report, &event) < 0) settle(l, 0);
#else
  launch_and_wait(l);
#endif
}

/* Reaps every child that has exited and says X for each (after S: a start not settled yet is
 * settled first). */
static void reap(void) {
  int status;
  struct rusage usage;
  pid_t pid;
  while ((pid = wait4(-1, &status, WNOHANG, &usage)) > 0) {
    struct launch *l = unsettled;
    while (l && l->pid != pid) l = l->next;
    if (l && !settle(l, 1)) continue;
    for (size_t i = 0; i < child_count; i++) {
      if (children[i].pid != pid) continue;
      /* Saves urocket a kill(-pgid, 0) per request when, as usual, nothing outlived the handler. */
      int group = kill(-pid, 0) == 0 || errno != ESRCH;
      /* Read now: the exchange answers the client when the handler exits. */
      long long oom = children[i].group ? read_number(children[i].group, "memory.events", "oom_kill")
                                        : -1;
      if (children[i].group && oom < 0) oom = 0;
      relay_all(children[i].token);
      say("X %s %d %d %lld %lld %ld %d %lld\n", children[i].token, (int)pid, status,
          (long long)usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec,
          (long long)usage.ru_stime.tv_sec * 1000000 + usage.ru_stime.tv_usec, usage.ru_maxrss,
          group, oom);
      /* The cgroup stays until urocket releases it: descendants may still run in it. */
      free(children[i].group);
      children[i] = children[--child_count];
      break;
    }
  }
}

/* Grows children[] so that every start not settled yet, and one more, has a place in it; 0, or
 * -1 when memory is short. */
static int reserve_slot(void) {
  if (child_count + unsettled_count < child_cap) return 0;
  size_t cap = child_cap ? child_cap * 2 : 256;
  struct child *grown = realloc(children, cap * sizeof *children);
  if (!grown) return -1;
  children = grown;
  child_cap = cap;
  return 0;
}

/* Reads the launch's fields from its frame copy: cwd, user, argv, envp; *payload and *payload_len
 * are what follows. Returns 0 or an errno. */
static int parse_launch(struct launch *l, char **fields, long flags, char *p, char *end,
                        char **payload, long *payload_len) {
  size_t len = (size_t)(end - l->frame);
  l->cwd = fields[2];
  char *argc_field = next_field(&p, end);
  long argc = argc_field ? strtol(argc_field, NULL, 10) : -1;
  l->user = (flags & USER) != 0;
  l->group_count = l->user ? parse_groups(fields[9], l->groups) : 0;
  /* An id over 32 bits would wrap around (4294967296 to root): refused, as urocket does. */
  unsigned long long uid_value = strtoull(fields[7], NULL, 10);
  unsigned long long gid_value = strtoull(fields[8], NULL, 10);
  l->uid = (uid_t)uid_value;
  l->gid = (gid_t)gid_value;
  if (argc < 1 || argc > (long)(len / 2) || l->group_count < 0 ||
      ((flags & CGROUP) && !fields[3][0]) ||
      (l->user && (uid_value > 4294967294ULL || gid_value > 4294967294ULL))) {
    return EINVAL;
  }
  if (!(l->argv = malloc(sizeof(char *) * (size_t)(argc + 1)))) return ENOMEM;
  for (long i = 0; i < argc; i++) l->argv[i] = next_field(&p, end);
  l->argv[argc] = NULL;
  char *envc_field = next_field(&p, end);
  long envc = envc_field ? strtol(envc_field, NULL, 10) : -1;
  int bad = l->argv[argc - 1] == NULL || envc < 0 || envc > (long)(len / 2);
  if (!(l->envp = malloc(sizeof(char *) * (size_t)((bad ? 0 : envc) + 1)))) return ENOMEM;
  for (long i = 0; !bad && i < envc; i++) bad = (l->envp[i] = next_field(&p, end)) == NULL;
  l->envp[bad ? 0 : envc] = NULL;
  char *payload_field = bad ? NULL : next_field(&p, end);
  *payload_len = payload_field ? strtol(payload_field, NULL, 10) : -1;
  *payload = p;
  if (bad || *payload_len < 0 || *payload_len != end - p ||
      ((flags & STDIN_PIPE) && *payload_len > MAX_PIPED_PAYLOAD) ||
      ((flags & STDIN_PIPE) && (flags & STDIN_SOCKET))) {
    return EINVAL;
  }
  return 0;
}

/* Makes the launch's stdin when it is a pipe holding the payload (fed as the handler reads what
 * does not fit at once), else /dev/null for now (see connect_stdin()). Returns 0 or an errno. */
static int make_stdin(struct launch *l, long flags, const char *payload, long payload_len) {
  l->stdin_fd = dev_null_in;
  if (!(flags & STDIN_PIPE)) return 0;
  int piped[2];
  if (pipe2(piped, O_CLOEXEC) < 0) return errno;
  l->piped_read = l->stdin_fd = piped[0];
  ssize_t n = 0;
  int error = 0;
  /* Our end never blocks (see struct feed); the handler's end does, as a program expects. */
  if (fcntl(piped[1], F_SETFL, O_NONBLOCK) < 0) error = errno;
  else if (payload_len > 0 && (n = write(piped[1], payload, (size_t)payload_len)) < 0) {
    if (errno == EAGAIN) n = 0;
    else error = errno;
  }
  if (!error && n < payload_len &&
      !(l->rest = new_feed(piped[1], payload + n, (size_t)(payload_len - n)))) {
    error = errno;
  }
  if (!l->rest) close(piped[1]); /* else the feed's now */
  return error;
}

/* Makes the launch's stdin a socket connected to urocket, last: once it is, urocket waits for
 * this start's S or F. Returns 0 or an errno. */
static int connect_stdin(struct launch *l) {
  int fd = connect_stream(l->token, 'I');
  if (fd < 0) return -fd;
  l->socket_fd = l->stdin_fd = fd;
  return 0;
}

/* Makes the pipes of stderr (and of stdout when it is relayed) and registers their read ends,
 * not yet watched. Returns 0 or an errno. */
static int make_outputs(struct launch *l, long flags) {
  l->stdout_fd = dev_null_out;
  /* The read ends stay with the server (CLOEXEC); the child gets the write ends as fds 1 and 2. */
  int err_pipe[2], out_pipe[2] = {-1, -1};
  if (pipe2(err_pipe, O_CLOEXEC) < 0) return errno;
  l->err_write = l->stderr_fd = err_pipe[1];
  /* Our read ends never block (relay_all() reads until a pipe is empty); the handler's write ends
   * stay blocking, as a program expects of its stdout and stderr. */
  if (fcntl(err_pipe[0], F_SETFL, O_NONBLOCK) < 0 ||
      !(l->err_out = add_output(err_pipe[0], 2, l->token))) {
    int error = errno;
    close(err_pipe[0]);
    return error;
  }
  if (!(flags & STDOUT_RELAY)) return 0;
  if (pipe2(out_pipe, O_CLOEXEC) < 0) return errno;
  l->out_write = l->stdout_fd = out_pipe[1];
  if (fcntl(out_pipe[0], F_SETFL, O_NONBLOCK) < 0 ||
      !(l->out_out = add_output(out_pipe[0], 1, l->token))) {
    int error = errno;
    close(out_pipe[0]);
    return error;
  }
  return 0;
}

/*
 * Start frame: prepares the handler's stdio (and cgroup) from its frame and launches it; S or F
 * follows (now, or once its child has exec'ed). `fields` are the frame's first ten fields, `p`
 * where the rest begins.
 */
static void start_handler(char *frame, size_t len, char **fields, long flags, char *p) {
  const char *token = fields[0];
  /* A slot for the child before anything is made: once it runs, it must be tracked. */
  if (reserve_slot() < 0) {
    say("F %s %d\n", token, ENOMEM);
    return;
  }
  /* The launch outlives this frame (the buffer takes the next ones): it works on a copy. */
  struct launch *l = malloc(sizeof *l);
  char *copy = l ? malloc(len) : NULL;
  if (!copy) {
    free(l);
    say("F %s %d\n", token, ENOMEM);
    return;
  }
  memcpy(copy, frame, len);
  *l = (struct launch){.frame = copy, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
                       .procs = -1, .report_fd = -1, .report = -1, .socket_fd = -1,
                       .piped_read = -1, .group_procs = -1, .err_write = -1,
                       .out_write = -1};
  memcpy(l->token, token, TOKEN_LEN + 1);
  for (size_t i = 0; i < 10; i++) fields[i] = copy + (fields[i] - frame);
  char *payload;
  long payload_len;
  int error = parse_launch(l, fields, flags, copy + (p - frame), copy + len, &payload,
                           &payload_len);
  if (!error) error = make_stdin(l, flags, payload, payload_len);
  if (!error && (flags & CGROUP)) {
    error = make_group(fields[3], l->token, fields[4], fields[5], fields[6], &l->group,
                       &l->group_procs);
    l->procs = l->group_procs;
  }
  if (!error) error = make_outputs(l, flags);
  if (!error && (flags & STDIN_SOCKET)) error = connect_stdin(l);
  if (error) refuse(l, error);
  else launch(l);
}

/* One request frame, by its FLAGS: start a handler (S or F), release a cgroup (R), drop an
 * output (no answer), or read live usage (U). */
static void handle_request(char *frame, size_t len) {
  char *end = frame + len;
  char *p = frame;
  char *fields[10];
  size_t count = 0;
  while (count < 10 && (fields[count] = next_field(&p, end)) != NULL) count++;
  const char *token = count > 0 && strlen(fields[0]) == TOKEN_LEN ? fields[0] : NULL;
  long flags = count > 1 ? strtol(fields[1], NULL, 10) : -1;
  if (!token || flags < 0 || (flags & ~KNOWN_FLAGS)) {
    say("F %s %d\n", token ? token : "0000000000000000", EINVAL);
  } else if (flags & RELEASE) {
    if (count < 4) say("R %s -1 -1 -1 -1 0\n", token);
    else release(token, fields[3]);
  } else if (flags & DROP) {
    drop(token);
  } else if (flags & STATS) {
    stats(token, count > 2 ? fields[2] : "");
  } else if (count < 10) {
    say("F %s %d\n", token, EINVAL);
  } else {
    start_handler(frame, len, fields, flags, p);
  }
}

/* At the control connection's end: the cgroups of children still running are killed and removed
 * (for 2 s at most). */
static void clean_up(void) {
  for (size_t i = 0; i < child_count; i++) {
    if (children[i].group) remove_later(children[i].group);
  }
  for (int i = 0; i < 40 && removals_pending() > 0; i++) {
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    reap();
    retry_removals();
  }
}

/* Doubles *cap until it holds `need` bytes and reallocates *buffer to it; 0, or -1 (both kept as
 * they were) when memory is short. */
static int grow(char **buffer, size_t *cap, size_t need) {
  size_t size = *cap;
  while (size < need) size *= 2;
  if (size == *cap) return 0;
  char *grown = realloc(*buffer, size);
  if (!grown) return -1;
  *buffer = grown;
  *cap = size;
  return 0;
}

static int serve(const char *socket_path) {
  if (strlen(socket_path) >= sizeof address.sun_path) {
    fprintf(stderr, "urocket-spawn: socket path too long\n");
    return 2;
  }
  strcpy(address.sun_path, socket_path);
  dev_null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  dev_null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  async_launch = ASYNC_LAUNCH && !sessions_scheduled_apart();
  /* Blocked, not ignored: their dispositions stay the default, which every child keeps once it
   * unblocks them (see child_main()). A write to a closed pipe fails with EPIPE. */
  sigset_t blocked, chld;
  sigemptyset(&blocked);
  int kept_off[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD};
  for (size_t i = 0; i < sizeof kept_off / sizeof kept_off[0]; i++) sigaddset(&blocked, kept_off[i]);
  sigprocmask(SIG_BLOCK, &blocked, NULL);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  static char signal_tag, input_tag;
  struct epoll_event watch_signal = {.events = EPOLLIN, .data.ptr = &signal_tag};
  struct epoll_event watch_input = {.events = EPOLLIN, .data.ptr = &input_tag};
  /* The control token on stdin, a private pipe: only this server can open the control connection. */
  char token[TOKEN_LEN + 2] = "";
  size_t got = 0;
  while (got < sizeof token - 1) {
    ssize_t n = read(0, token + got, sizeof token - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got != TOKEN_LEN + 1 || token[TOKEN_LEN] != '\n' ||
      strspn(token, "0123456789abcdef") != TOKEN_LEN) {
    fprintf(stderr, "urocket-spawn: expected a control token and a newline on stdin\n");
    return 2;
  }
  token[TOKEN_LEN] = 0;
  control = connect_stream(token, 'C');
  if (control < 0) {
    fprintf(stderr, "urocket-spawn: cannot connect to %s: %s\n", socket_path, strerror(-control));
    return 2;
  }
  if (sigfd < 0 || dev_null_in < 0 || dev_null_out < 0 || epoll_fd < 0 ||
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, sigfd, &watch_signal) < 0 ||
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, control, &watch_input) < 0) {
    perror("urocket-spawn");
    return 2;
  }
  size_t cap = 1 << 16, have = 0;
  char *buffer = malloc(cap);
  if (!buffer) {
    fprintf(stderr, "urocket-spawn: out of memory\n");
    return 2;
  }
  int input_open = 1;
  while (input_open && !control_gone) {
    struct epoll_event events[64];
    int ready = epoll_wait(epoll_fd, events, 64, removals_pending() ? 100 : -1);
    if (ready < 0 && errno != EINTR) break;
    batch = events;
    batch_size = ready > 0 ? ready : 0;
    int signalled = 0, input_ready = 0;
    /* Starts first (S before anything of theirs: a handler writes only once it has exec'ed, and
     * its report pipe ended then), then output; reap() then relays whatever an exited handler
     * left in its pipes before its X. */
    for (int i = 0; i < ready; i++) {
      void *tag = events[i].data.ptr;
      if (tag && tag != &signal_tag && tag != &input_tag && *(const int *)tag == WATCH_LAUNCH) {
        events[i].data.ptr = NULL;
        settle(tag, 0);
      }
    }
    for (int i = 0; i < ready; i++) {
      void *tag = events[i].data.ptr;
      if (!tag) continue;
      if (tag == &signal_tag) signalled = 1;
      else if (tag == &input_tag) input_ready = 1;
      else if (*(const int *)tag == WATCH_FEED) feed(tag);
      /* An output whose start is not settled (its report comes in a later batch) waits for it. */
      else if (((struct output *)tag)->watched && relay(tag) == 0) close_output(tag, 1);
    }
    batch_size = 0;
    if (signalled) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {
      }
    }
    reap();
    if (removals_pending()) retry_removals();
    if (input_ready) {
      /* Out of memory for requests: fatal, as a frame too large is (urocket starts a new server);
       * what was said so far still reaches urocket. */
      if (have == cap && grow(&buffer, &cap, cap * 2) < 0) {
        fprintf(stderr, "urocket-spawn: out of memory for requests\n");
        flush_out();
        return 2;
      }
      ssize_t n = read(control, buffer + have, cap - have);
      if (n > 0) {
        have += (size_t)n;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        /* urocket closed us (shutdown, or it died): children are left to its group kill. */
        input_open = 0;
      }
      size_t offset = 0;
      /* Nothing more is started once urocket is gone: no one would supervise it. */
      while (!control_gone && have - offset >= 4) {
        uint32_t len;
        memcpy(&len, buffer + offset, 4);
        if (len > MAX_FRAME) {
          fprintf(stderr, "urocket-spawn: frame of %u bytes refused\n", len);
          return 2;
        }
        if (have - offset - 4 < len) {
          if (grow(&buffer, &cap, len + 4) < 0) {
            fprintf(stderr, "urocket-spawn: out of memory for a frame of %u bytes\n", len);
            flush_out();
            return 2;
          }
          break;
        }
        handle_request(buffer + offset + 4, len);
        offset += 4 + len;
        reap();
      }
      memmove(buffer, buffer + offset, have - offset);
      have -= offset;
    }
    flush_out();
  }
  /* Starts not settled yet are settled (their children exec or fail at once), so that their
   * children are tracked (and their cgroups cleaned up) like the others. */
  while (unsettled) settle(unsettled, 0);
  flush_out();
  clean_up();
  return 0;
}

/* ---- --nofile ------------------------------------------------------------------------------- */

/*
 * Raises the soft limit on open descriptors of process `arg` (urocket: Deno
 * has no setrlimit, and a process may change another's limits with
 * prlimit(2) when both are the same user's) to its hard limit, and prints
 * "nofile SOFT HARD" as they are afterwards — unchanged when the raise is not
 * allowed —, else "no MESSAGE" when they cannot be read.
 */
static int nofile(const char *arg) {
  char *end;
  long pid = strtol(arg, &end, 10);
  if (*arg == 0 || *end != 0 || pid <= 0) {
    printf("no the pid \"%s\" is not a positive number\n", arg);
    return 1;
  }
  struct rlimit limit;
  if (prlimit((pid_t)pid, RLIMIT_NOFILE, NULL, &limit) < 0) {
    printf("no cannot read the descriptor limit of process %ld: %s\n", pid, strerror(errno));
    return 1;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    struct rlimit raised = {limit.rlim_max, limit.rlim_max};
    if (prlimit((pid_t)pid, RLIMIT_NOFILE, &raised, NULL) == 0) limit = raised;
  }
  printf("nofile %llu %llu\n", (unsigned long long)limit.rlim_cur,
         (unsigned long long)limit.rlim_max);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts("urocket-spawn " PROTOCOL);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "--cgroup-setup") == 0) {
    return cgroup_setup(argv[2], argc == 4 ? argv[3] : NULL);
  }
  if (argc == 3 && strcmp(argv[1], "--nofile") == 0) return nofile(argv[2]);
  fprintf(stderr, "usage: urocket-spawn --version | --serve SOCKET | --cgroup-setup NEEDED [DIR]"
                  " | --nofile PID\n");
  return 2;
}
