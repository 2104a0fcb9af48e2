/*
 * The handler webhook runs in the benchmark: what adnanh/webhook's own test
 * handler does, as cheap as it can be. Writes its arguments (webhook passes
 * the request's JSON payload as the one argument) to stdout, which webhook
 * returns as the response body, and exits 0. Built by bench/run.ts like
 * bench/handler.c (static when the system allows).
 */
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    size_t len = strlen(argv[i]);
    const char *data = argv[i];
    while (len > 0) {
      ssize_t n = write(1, data, len);
      if (n <= 0) return 1;
      data += n;
      len -= (size_t)n;
    }
  }
  return 0;
}
