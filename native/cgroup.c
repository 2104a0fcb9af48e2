/*
 * The spawn server's cgroupfs code: one cgroup v2 group per handler (made
 * with its limits before the handler starts, read and removed when urocket
 * releases it, removal retried while processes are left), the
 * `--cgroup-setup` command that prepares urocket's cgroup for them, and
 * whether the kernel schedules each session as a group of its own. See
 * cgroup.h.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CGROUP2_SUPER_MAGIC 0x63677270
/* Removal of a released cgroup that still had processes: every 100 ms, 50 times. */
#define REMOVAL_TRIES 50

/* Cgroups that still had processes when they were released. */
struct removal {
  char *path;
  int tries;
};
static struct removal *removals;
static size_t removal_count, removal_cap;

/*
 * Writes `text` to dir/name; returns 0 or -errno. `extra` adds open flags:
 * O_CREAT lets the same code fill the test layout (a plain directory laid out
 * like cgroupfs), where the kernel's interface files do not appear by
 * themselves; on cgroupfs the file exists and O_CREAT changes nothing.
 */
int write_file(const char *dir, const char *name, const char *text, int extra) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return -ENAMETOOLONG;
  int fd = open(path, O_WRONLY | O_CLOEXEC | extra, 0644);
  if (fd < 0) return -errno;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int error = n < 0 ? errno : (size_t)n != len ? EIO : 0;
  close(fd);
  return -error;
}

/* Reads dir/name (at most 4 KiB) into buffer; returns its length or -1. */
ssize_t read_file(const char *dir, const char *name, char *buffer, size_t size) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buffer, size - 1);
  close(fd);
  if (n < 0) return -1;
  buffer[n] = 0;
  return n;
}

/*
 * The number after `key ` on a line of dir/name (cpu.stat, memory.events), or
 * the file's first number when `key` is NULL (memory.peak); -1 when there is
 * none.
 */
long long read_number(const char *dir, const char *name, const char *key) {
  char text[4096];
  if (read_file(dir, name, text, sizeof text) < 0) return -1;
  if (!key) return text[0] >= '0' && text[0] <= '9' ? strtoll(text, NULL, 10) : -1;
  size_t len = strlen(key);
  for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, len) == 0 && line[len] == ' ') return strtoll(line + len + 1, NULL, 10);
  }
  return -1;
}

/*
 * Removes a cgroup directory; returns 0 (also when it is already gone) or
 * -errno. cgroupfs answers EBUSY while processes are left in it; only a plain
 * directory answers ENOTEMPTY — the test layout, whose files are emptied first.
 */
int remove_group(const char *path) {
  if (rmdir(path) == 0 || errno == ENOENT) return 0;
  if (errno != ENOTEMPTY) return -errno;
  DIR *dir = opendir(path);
  if (!dir) return -errno;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
      unlinkat(dirfd(dir), entry->d_name, 0);
    }
  }
  closedir(dir);
  return rmdir(path) == 0 ? 0 : -errno;
}

/* Kills what is left in a cgroup (Linux 5.14+) and retries its removal later. */
void remove_later(const char *path) {
  write_file(path, "cgroup.kill", "1", 0);
  if (removal_count == removal_cap) {
    size_t cap = removal_cap ? removal_cap * 2 : 16;
    struct removal *grown = realloc(removals, cap * sizeof *removals);
    if (grown) {
      removals = grown;
      removal_cap = cap;
    }
  }
  char *copy = removal_count < removal_cap ? strdup(path) : NULL;
  if (!copy) {
    /* As when the retries run out: said, and left to whoever cleans the parent cgroup. */
    fprintf(stderr, "urocket-spawn: cannot remove cgroup %s: out of memory\n", path);
    return;
  }
  removals[removal_count].path = copy;
  removals[removal_count].tries = 0;
  removal_count++;
}

void retry_removals(void) {
  for (size_t i = 0; i < removal_count;) {
    int gone = remove_group(removals[i].path) == 0;
    if (!gone && ++removals[i].tries >= REMOVAL_TRIES) {
      fprintf(stderr, "urocket-spawn: cannot remove cgroup %s: %s\n", removals[i].path,
              strerror(errno));
      gone = 1;
    }
    if (gone) {
      free(removals[i].path);
      removals[i] = removals[--removal_count];
    } else {
      i++;
    }
  }
}

/*
 * Creates parent/req-TOKEN with its limits and opens its cgroup.procs for the
 * child to write itself into. Returns 0 or an errno; on error nothing is left.
 */
int make_group(const char *parent, const char *token, const char *memory_max,
                      const char *cpu_max, const char *pids_max, char **group, int *procs) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/req-%s", parent, token) >= (int)sizeof path) {
    return ENAMETOOLONG;
  }
  if (mkdir(path, 0755) < 0) return errno;
  int error = 0;
  if (memory_max[0]) {
    error = write_file(path, "memory.max", memory_max, O_CREAT | O_TRUNC);
    /* The whole tree goes when the limit is hit, not just the process the kernel picks. */
    if (!error) error = write_file(path, "memory.oom.group", "1", O_CREAT | O_TRUNC);
    /* A limit that can be swapped around is hardly one. Absent without swap accounting: then
     * there is nothing to close, so this write may fail. */
    if (!error) write_file(path, "memory.swap.max", "0", O_TRUNC);
  }
  if (!error && cpu_max[0]) error = write_file(path, "cpu.max", cpu_max, O_CREAT | O_TRUNC);
  if (!error && pids_max[0]) error = write_file(path, "pids.max", pids_max, O_CREAT | O_TRUNC);
  if (!error) {
    char procs_path[PATH_MAX + 16];
    snprintf(procs_path, sizeof procs_path, "%s/cgroup.procs", path);
    /* O_APPEND: the test layout keeps every pid written; the kernel ignores it. */
    *procs = open(procs_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (*procs < 0) error = -errno;
  }
  if (!error && !(*group = strdup(path))) {
    close(*procs);
    *procs = -1;
    error = -ENOMEM;
  }
  if (error) {
    remove_group(path);
    return -error;
  }
  return 0;
}

size_t removals_pending(void) {
  return removal_count;
}

void release_group(const char *parent, const char *token, struct group_usage *usage) {
  char path[PATH_MAX];
  *usage = (struct group_usage){-1, -1, -1, -1, 0};
  if (snprintf(path, sizeof path, "%s/req-%s", parent, token) >= (int)sizeof path) return;
  usage->user_us = read_number(path, "cpu.stat", "user_usec");
  usage->sys_us = read_number(path, "cpu.stat", "system_usec");
  usage->peak_bytes = read_number(path, "memory.peak", NULL);
  usage->oom_kills = read_number(path, "memory.events", "oom_kill");
  usage->removed = remove_group(path) == 0;
  if (!usage->removed) remove_later(path);
}

/*
 * Whether the kernel schedules every session as a group of its own (autogroups): when they are
 * enabled and this process is in the root task group, which is when no cpu cgroup applies to it
 * — the root of cgroup v1's cpu hierarchy, or of cgroup v2, or a cgroup v2 without the cpu
 * controller (a shell on a host or a VM). Not in a container's or a systemd unit's cpu cgroup.
 */
int sessions_scheduled_apart(void) {
  char text[4096], dir[PATH_MAX];
  if (read_file("/proc/sys/kernel", "sched_autogroup_enabled", text, sizeof text) < 0 ||
      text[0] != '1' || read_file("/proc/self", "cgroup", text, sizeof text) < 0) {
    return 0;
  }
  const char *unified = NULL;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *controllers = strchr(line, ':');
    char *path = controllers ? strchr(controllers + 1, ':') : NULL;
    if (!path) continue;
    *path++ = 0;
    controllers++;
    if (has_word(controllers, "cpu", 3)) return strcmp(path, "/") == 0;
    if (strcmp(line, "0") == 0 && !controllers[0]) unified = path;
  }
  if (!unified) return 0;
  snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", strcmp(unified, "/") == 0 ? "" : unified);
  char probe[PATH_MAX + 16];
  snprintf(probe, sizeof probe, "%s/cgroup.type", dir);
  /* Only the root has no cgroup.type; elsewhere the cpu controller applies when it is enabled. */
  if (access(probe, F_OK) < 0) return 1;
  if (read_file(dir, "cgroup.controllers", text, sizeof text) < 0) return 0;
  return !has_word(text, "cpu", 3);
}

/* ---- --cgroup-setup ------------------------------------------------------------------------ */

/* Whether the first `len` bytes of `word` are one of the space- or comma-separated words of `list`. */
int has_word(const char *list, const char *word, size_t len) {
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, " ,\n");
    if (n == len && strncmp(p, word, len) == 0) return 1;
    p += n + (p[n] != 0);
  }
  return 0;
}

/* Moves `pid` into leaf/cgroup.procs; a process that has exited meanwhile is fine. */
static int move_pid(const char *leaf, long pid) {
  char text[24];
  snprintf(text, sizeof text, "%ld\n", pid);
  int error = write_file(leaf, "cgroup.procs", text, O_CREAT | O_APPEND);
  return error == -ESRCH ? 0 : error;
}

/*
 * Prepares a cgroup v2 directory for one group per handler, and prints one
 * line: "ok CONTROLLERS DIR" (the controllers now enabled for DIR's children,
 * comma-separated, or "-"), else "no STAGE MESSAGE" — STAGE is mount, self,
 * root, controllers, delegation, move or enable. Nothing is changed before
 * every check that can be made without writing has passed.
 *
 * cgroup v2 lets a cgroup hand controllers to its children only while it
 * holds no process itself, so every process of DIR (urocket — this
 * program's parent —, the spawn server, an init such as tini) moves into the
 * leaf DIR/urocket first; each handler's group is then a sibling of it.
 */
int cgroup_setup(const char *needed, const char *given) {
  char dir[PATH_MAX], text[4096];
  if (given) {
    if (snprintf(dir, sizeof dir, "%s", given) >= (int)sizeof dir) {
      printf("no self the cgroup path is too long\n");
      return 1;
    }
  } else {
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
      printf("no mount /sys/fs/cgroup is not a cgroup v2 mount (cgroup v1, or the hybrid layout)\n");
      return 1;
    }
    char *path = NULL;
    if (read_file("/proc/self", "cgroup", text, sizeof text) >= 0) {
      for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "0::/", 4) == 0) path = line + 3;
      }
    }
    if (!path) {
      printf("no self /proc/self/cgroup names no cgroup v2 group\n");
      return 1;
    }
    snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", strcmp(path, "/") == 0 ? "" : path);
  }
  char probe[PATH_MAX + 16];
  snprintf(probe, sizeof probe, "%s/cgroup.type", dir);
  if (access(probe, F_OK) < 0) {
    printf("no root %s is the root of the cgroup hierarchy (or not a cgroup at all)\n", dir);
    return 1;
  }
  if (read_file(dir, "cgroup.controllers", text, sizeof text) < 0) {
    printf("no controllers cannot read %s/cgroup.controllers: %s\n", dir, strerror(errno));
    return 1;
  }
  char *newline = strchr(text, '\n');
  if (newline) *newline = 0;
  char missing[256] = "";
  for (const char *p = needed; *p;) {
    size_t len = strcspn(p, ",");
    if (len > 0 && len < 32 && !has_word(text, p, len)) {
      snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%.*s",
               missing[0] ? "," : "", (int)len, p);
    }
    p += len + (p[len] == ',');
  }
  if (missing[0]) {
    printf("no controllers %s lacks %s (its cgroup.controllers lists: %s)\n", dir, missing,
           text[0] ? text : "none");
    return 1;
  }
  char leaf[PATH_MAX + 16];
  snprintf(leaf, sizeof leaf, "%s/urocket", dir);
  if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
    printf("no delegation cannot create %s: %s\n", leaf, strerror(errno));
    return 1;
  }
  char enable[64] = "", enabled[64] = "";
  static const char *const OURS[] = {"cpu", "memory", "pids"};
  for (size_t i = 0; i < 3; i++) {
    if (!has_word(text, OURS[i], strlen(OURS[i]))) continue;
    snprintf(enable + strlen(enable), sizeof enable - strlen(enable), "%s+%s",
             enable[0] ? " " : "", OURS[i]);
    snprintf(enabled + strlen(enabled), sizeof enabled - strlen(enabled), "%s%s",
             enabled[0] ? "," : "", OURS[i]);
  }
  /* A process may start in DIR while we move the others (enable then says EBUSY): go again. */
  for (int attempt = 0;; attempt++) {
    int error = move_pid(leaf, (long)getppid());
    char procs[1 << 16];
    ssize_t n = error ? -1 : read_file(dir, "cgroup.procs", procs, sizeof procs);
    for (char *line = n > 0 ? strtok(procs, "\n") : NULL; !error && line; line = strtok(NULL, "\n")) {
      error = move_pid(leaf, strtol(line, NULL, 10));
    }
    if (error) {
      printf("no move cannot move the processes of %s into %s: %s\n", dir, leaf, strerror(-error));
      return 1;
    }
    if (!enable[0]) break;
    error = write_file(dir, "cgroup.subtree_control", enable, O_CREAT | O_TRUNC);
    if (!error) break;
    if (error != -EBUSY || attempt == 9) {
      printf("no enable cannot write \"%s\" to %s/cgroup.subtree_control: %s\n", enable, dir,
             strerror(-error));
      return 1;
    }
  }
  printf("ok %s %s\n", enabled[0] ? enabled : "-", dir);
  return 0;
}
