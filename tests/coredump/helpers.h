/* helpers.h: shared by the coredump tests: run the helper with a file on
 * stdin, run `lifeline cores` and parse its JSON, make test inputs. */
#ifndef LL_TEST_COREDUMP_HELPERS_H
#define LL_TEST_COREDUMP_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

/* The test's temporary directory (the test fills it with tu_mkdtemp()). */
extern char th_root[256];

/* th_root/rel, in one of 8 rotating static buffers. */
const char *th_path(const char *rel);

/* Write text to path (the test fails if it cannot be created). */
void th_write_text(const char *path, const char *text);

/* Knobs for the next th_helper() calls: the %c argument (NULL: unlimited)
 * and a descriptor to hand the helper as fd 3 (-1: none), as %F would. */
extern const char *th_core_limit;
extern int th_fd3;

/* Run `lifeline coredump --store STORE [--config CONFIG] PID UID GID SIG TIME
 * LIMIT HOST COMM [PIDFD [MODE]]` with `input` on stdin (NULL: /dev/null).
 * pidfd_arg/mode_arg may be NULL. Returns the exit status (0..255) or -1. */
int th_helper(const char *store, const char *config, pid_t pid, uid_t uid, int64_t time,
	      const char *comm, const char *input, const char *pidfd_arg, const char *mode_arg);

/* Run `lifeline cores ARGS... --store STORE --json` and parse stdout.
 * Returns the JSON (caller puts) or NULL; *status receives the exit code. */
json_object *th_cores_json(const char *store, int *status, const char *sub, const char *id);

/* Every record of the store as `cores list --json` gives it (caller puts). */
json_object *th_list(const char *store);

/* Read a record file <store>/<id>.json directly, with the "maps" of its
 * side file <store>/<id>.maps put back in (NULL if that file is missing). */
json_object *th_record(const char *store, const char *id);

/* Write n bytes of "realistic" core-like data (text, pointers, random,
 * zero runs) or of pure random data into path. */
int th_make_input(const char *path, size_t n, bool random_only);

/* Compare file a with the first n bytes of file b (n == -1: whole b, same
 * size). Returns 0 when equal. */
int th_cmp_prefix(const char *a, const char *b, int64_t n);

/* The boot id without dashes (as the store names use it). */
void th_boot_tag(char *out, size_t size);

/* A child of the test that only waits (a live process whose pidfd stands
 * for %F), and its end (SIGKILL, reaped). */
pid_t th_sleeper(void);
void th_stop(pid_t pid);

/* json helpers */
int64_t th_int(json_object *o, const char *path);         /* "core.size" */
const char *th_str(json_object *o, const char *path);     /* NULL if null/missing */
bool th_bool(json_object *o, const char *path);

#endif
