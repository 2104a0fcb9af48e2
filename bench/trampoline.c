/*
 * A spawn candidate measured by bench/spawn_candidates.ts (not used by
 * urocket): a static, libc-free trampoline that calls setsid() and execs
 * its arguments in place — `trampoline -- /abs/program args…` — spawned by a
 * plain (non-detached) Deno.Command. Without libc its exec costs ~0.05 ms;
 * a static glibc build spends ~0.5 ms per exec in libc start-up on our VMs.
 * Built by bench/run.ts with -nostdlib on x86_64 and aarch64.
 */

#define PROTOCOL "1"

#if !defined(UROCKET_EXEC_LIBC) && !defined(__x86_64__) && !defined(__aarch64__)
#define UROCKET_EXEC_LIBC 1
#endif

#ifdef UROCKET_EXEC_LIBC
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

static long sys_write(int fd, const void *buf, unsigned long len) { return write(fd, buf, len); }
static long sys_setsid(void) { return setsid() < 0 ? -errno : 0; }
static long sys_execve(const char *path, char *const argv[], char *const envp[]) {
  execve(path, argv, envp);
  return -errno;
}
#else
#include <asm/unistd.h>

static long syscall3(long n, long a, long b, long c) {
  long ret;
#if defined(__x86_64__)
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
#else
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  ret = x0;
#endif
  return ret;
}

static long sys_write(int fd, const void *buf, unsigned long len) {
  return syscall3(__NR_write, fd, (long)buf, (long)len);
}
static long sys_setsid(void) { return syscall3(__NR_setsid, 0, 0, 0); }
static long sys_execve(const char *path, char *const argv[], char *const envp[]) {
  return syscall3(__NR_execve, (long)path, (long)argv, (long)envp);
}
__attribute__((noreturn)) static void sys_exit(int code) {
  for (;;) syscall3(__NR_exit_group, code, 0, 0);
}
#endif

static int equal(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* Writes the NUL-led report line "\0trampoline EVENT ERRNO\n". */
static void report(const char *event, long error) {
  char line[96];
  unsigned long n = 0;
  const char *prefix = "trampoline ";
  line[n++] = '\0';
  while (*prefix) line[n++] = *prefix++;
  while (*event && n < 64) line[n++] = *event++;
  line[n++] = ' ';
  char digits[24];
  int d = 0;
  unsigned long value = error < 0 ? (unsigned long)-error : (unsigned long)error;
  do digits[d++] = (char)('0' + value % 10); while ((value /= 10) > 0 && d < 20);
  while (d > 0) line[n++] = digits[--d];
  line[n++] = '\n';
  sys_write(2, line, n);
}

static int run(int argc, char **argv, char **envp) {
  if (argc == 2 && equal(argv[1], "--version")) {
    static const char text[] = "trampoline " PROTOCOL "\n";
    return sys_write(1, text, sizeof text - 1) == (long)(sizeof text - 1) ? 0 : 1;
  }
  if (argc < 3 || !equal(argv[1], "--") || argv[2][0] != '/') {
    report("usage", 22 /* EINVAL */);
    return 125;
  }
  long error = sys_setsid();
  if (error < 0) {
    report("setsid-failed", error);
    return 127;
  }
  error = sys_execve(argv[2], argv + 2, envp);
  report("exec-failed", error);
  return 127;
}

#ifdef UROCKET_EXEC_LIBC
int main(int argc, char **argv, char **envp) { return run(argc, argv, envp); }
#else
/* The kernel's initial stack: argc, argv[argc + 1], envp[…]. */
__attribute__((used, noreturn)) void urocket_exec_start(long *stack) {
  int argc = (int)stack[0];
  char **argv = (char **)(stack + 1);
  sys_exit(run(argc, argv, argv + argc + 1));
}

#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n"
        "  call urocket_exec_start\n  hlt\n");
#else
__asm__(".text\n.global _start\n_start:\n  mov x0, sp\n  and sp, x0, #-16\n"
        "  bl urocket_exec_start\n  brk #0\n");
#endif
#endif
