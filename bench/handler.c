/*
 * The benchmark's handler: as cheap as a real reply client can be. Reads its
 * payload from stdin, optionally prints BENCH_LINES lines to stdout and waits
 * BENCH_DELAY_MS, then POSTs {"id":"$REQUEST_ID"} to $UROCKET_REPLY_URL over
 * the unix socket $UROCKET_SOCKET and exits 0 when the answer is 200.
 * Built by bench/run.ts (static when the system allows).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(void) {
  char buf[65536];
  while (read(0, buf, sizeof buf) > 0) {
  }
  const char *lines = getenv("BENCH_LINES");
  if (lines) {
    int count = atoi(lines);
    for (int i = 0; i < count; i++) {
      int len = snprintf(buf, sizeof buf, "line %d of the benchmark handler's output\n", i);
      if (write_all(1, buf, (size_t)len) < 0) return 3;
    }
  }
  const char *delay = getenv("BENCH_DELAY_MS");
  if (delay) {
    long ms = atol(delay);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  const char *socket_path = getenv("UROCKET_SOCKET");
  const char *url = getenv("UROCKET_REPLY_URL");
  const char *id = getenv("REQUEST_ID");
  if (!socket_path || !url || !id) return 2;
  const char *path = strstr(url, "://");
  path = path ? strchr(path + 3, '/') : url;
  if (!path) return 2;
  char body[128];
  int body_len = snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
  int len = snprintf(buf, sizeof buf,
                     "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     path, body_len, body);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, socket_path, sizeof addr.sun_path - 1);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return 4;
  if (write_all(fd, buf, (size_t)len) < 0) return 5;
  ssize_t got = 0;
  while (got < 12) {
    ssize_t n = read(fd, buf + got, sizeof buf - 1 - (size_t)got);
    if (n <= 0) break;
    got += n;
  }
  buf[got] = '\0';
  return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}
