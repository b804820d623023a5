/* testutil.h: helpers shared by the test programs.
 *
 * Global state: tests that change core_pattern, core_pipe_limit,
 * suid_dumpable or RLIMIT_CORE call tu_save_global_state() first; the saved
 * values are put back at exit, on SIGTERM/SIGINT/SIGHUP (meson's timeout) and
 * by scripts/run-tests.sh after the whole run. Such tests must be declared
 * with is_parallel: false. */
#ifndef LL_TESTUTIL_H
#define LL_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

/* Save core_pattern, core_pipe_limit, suid_dumpable and RLIMIT_CORE, and
 * arrange for them to be restored at exit or on a terminating signal. */
void tu_save_global_state(void);

/* Write a /proc/sys value (e.g. "kernel/core_pattern"). Returns 0 or -errno. */
int tu_sysctl_write(const char *name, const char *value);

/* Read a /proc/sys value into buf, without the trailing newline. */
int tu_sysctl_read(const char *name, char *buf, size_t size);

/* Create a fresh directory under $TMPDIR (or /tmp); buf receives its path.
 * It is removed at exit unless LL_TEST_KEEP is set. */
int tu_mkdtemp(char *buf, size_t size);

/* Remove a tree (like rm -rf, without following symlinks). */
int tu_rm_rf(const char *path);

/* Run argv (argv[0] searched in PATH), feeding `in` (may be NULL) on stdin,
 * capturing stdout and stderr into malloc'ed strings (either pointer may be
 * NULL). Returns the wait status or -errno. */
int tu_run(char *const argv[], const char *in, char **out, char **err);

/* Path of the built lifeline CLI ($LIFELINE, set by meson). */
const char *tu_lifeline(void);

/* Path under the build tree ($LL_BUILD_ROOT/rel), in a static buffer. */
const char *tu_build_path(const char *rel);

/* Path under the source tree ($LL_SOURCE_ROOT/rel), in a static buffer. */
const char *tu_source_path(const char *rel);

/* Non-zero when built with ASan/UBSan. */
int tu_sanitized(void);

/* Create a real unprivileged user for an attack test: a fresh name
 * "llt-<tag>-<pid>" (tag at most 12 characters), no login shell, no home
 * directory, a fresh uid/gid. The user is deleted at exit and on SIGTERM,
 * SIGINT or SIGHUP, even when the test fails. Returns 0 and fills uid/gid
 * (and name, when name_size > 0), or -errno (-EPERM when not root). */
int tu_user_create(const char *tag, uid_t *uid, gid_t *gid, char *name, size_t name_size);

/* Delete a user made by tu_user_create now (also kills its processes). */
void tu_user_delete(const char *name);

/* Exit code meson counts as a skipped test. */
#define TU_SKIP 77

#endif
