/*
 * The spawn server's cgroupfs code (cgroup.c). urocket itself never touches
 * cgroupfs (Deno refuses every read and write under /sys and /proc unless it
 * runs with a bare --allow-all): the server makes each handler's group, and
 * reads and removes it when urocket releases it.
 */
#ifndef UROCKET_CGROUP_H
#define UROCKET_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

/* Writes `text` to dir/name (open flags plus `extra`); 0 or -errno. */
int write_file(const char *dir, const char *name, const char *text, int extra);
/* Reads dir/name (at most size - 1 bytes, NUL-terminated) into buffer; its length or -1. */
ssize_t read_file(const char *dir, const char *name, char *buffer, size_t size);
/* The number after `key ` on a line of dir/name, or its first number when `key` is NULL; -1. */
long long read_number(const char *dir, const char *name, const char *key);
/* Whether the first `len` bytes of `word` are one of the space- or comma-separated words of `list`. */
int has_word(const char *list, const char *word, size_t len);

/* Creates parent/req-TOKEN with its limits (empty: left alone), and opens its cgroup.procs into
 * *procs for the child; *group gets the directory (malloc'ed). 0 or an errno; on error nothing is
 * left. */
int make_group(const char *parent, const char *token, const char *memory_max, const char *cpu_max,
               const char *pids_max, char **group, int *procs);
/* Removes a cgroup directory: 0 (also when it is gone already) or -errno. */
int remove_group(const char *path);
/* Kills what is left in a cgroup and retries its removal later (see retry_removals()). */
void remove_later(const char *path);
/* Tries the removals left again; gives up on one after 5 s. */
void retry_removals(void);
/* How many removals are left to retry. */
size_t removals_pending(void);

/* What a released group used: -1 where it could not be read. */
struct group_usage {
  long long user_us, sys_us, peak_bytes, oom_kills;
  int removed; /* the directory is gone, else its processes are being killed */
};
/* Reads the usage of parent/req-TOKEN, then removes it (or kills what is left and retries). */
void release_group(const char *parent, const char *token, struct group_usage *usage);

/* Whether the kernel schedules every session of this process as a group of its own. */
int sessions_scheduled_apart(void);
/* `--cgroup-setup NEEDED [DIR]`: prepares DIR for one group per handler; prints one line. */
int cgroup_setup(const char *needed, const char *given);

#endif
