/* sandbox.h: the one way a privileged lifeline process (the core_pattern
 * helper, `lifeline cores` run by root) hands attacker bytes to a process
 * without privileges (sandbox.c). Not installed; nothing here is exported.
 *
 * Use: resolve the identity before fork() (ll_sandbox_identity() reads the
 * user database), then in the child call ll_sandbox_enter() first thing:
 * it only makes system calls, so it is safe after fork() in any process. */
#ifndef LL_COMMON_SANDBOX_H
#define LL_COMMON_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

/* The dedicated system user (no login, no home) that parses cores, created by
 * `lifeline coredump --install`. */
#define LL_SANDBOX_USER "lifeline-coredump"

/* The identity a sandboxed child runs as. */
struct ll_sandbox_id {
	uid_t uid;
	gid_t gid;
	char user[64];         /* the user name (or "nobody") */
	char note[192];        /* why a fallback was taken, or "" */
};

/* The dedicated user: name, or when NULL secure_getenv("LIFELINE_SANDBOX_USER")
 * (for tests and packagers; ignored in set-uid programs) or LL_SANDBOX_USER.
 * When it does not exist (or is root), the child runs as nobody/nogroup
 * (65534) and id->note says so. Never fails. Not async-signal-safe (NSS). */
void ll_sandbox_identity(const char *name, struct ll_sandbox_id *id);

/* Flags of ll_sandbox_enter(). */
enum {
	LL_SANDBOX_PDEATHSIG = 1 << 0, /* SIGKILL when the parent dies */
};

/* In a child: undumpable first (nobody can ptrace it or read its /proc files
 * from then on), RLIMIT_CORE 0, an empty environment, no supplementary
 * groups, every uid and gid set to uid/gid (so no capability is left),
 * PR_SET_NO_NEW_PRIVS, then the flags. Async-signal-safe. Returns 0 or
 * -errno; on failure the caller must _exit() without touching the data. */
int ll_sandbox_enter(uid_t uid, gid_t gid, unsigned flags);

/* After ll_sandbox_enter(), for a child that does not exec: the seccomp
 * allow-list (read/write/pread on descriptors it holds, memory, timers,
 * exit; open, exec, socket, kill, ptrace, prctl, ioctl fail with EPERM).
 * -EOPNOTSUPP on an architecture without a list. */
int ll_sandbox_seccomp(void);

/* Create the dedicated system user (useradd --system, no home, nologin
 * shell) unless it exists. Returns 0 (also when it existed; *created says
 * which) or -errno (-ENOENT: no useradd). */
int ll_sandbox_user_create(const char *name, bool *created);

#endif
