/* sandbox.c: dropping every privilege before attacker bytes are parsed.
 *
 * One sequence, shared by the core_pattern helper's capture stage and the
 * analysis `lifeline cores` runs for root: PR_SET_DUMPABLE 0 first (from
 * then on only root can ptrace the child or open its /proc/PID/fd, environ,
 * mem), RLIMIT_CORE 0 (a crash of the parser leaves no core of its memory),
 * the environment emptied, setgroups(0) + setresgid + setresuid to the
 * dedicated user (all three ids, so the kernel clears every capability),
 * PR_SET_NO_NEW_PRIVS, optionally PR_SET_PDEATHSIG (set after the uid change,
 * which clears it) and a seccomp allow-list: plain classic BPF through
 * prctl(PR_SET_SECCOMP), no library. The list is what a parser and a zstd
 * stream need (read/write/pread on descriptors it was given, memory,
 * signals to itself for deadlines, exit); open, exec, socket, kill, ptrace,
 * prctl, ioctl and the rest fail with EPERM. Modelled on systemd's
 * drop_privileges() and its seccomp filters; the dedicated user (rather than
 * the crash's uid) means the user whose process crashed can neither signal
 * nor inspect the process that reads its (possibly set-uid) core. */
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"

extern char **environ;

#define NOBODY_ID 65534

void ll_sandbox_identity(const char *name, struct ll_sandbox_id *id)
{
	struct passwd *pw;
	bool is_root;

	memset(id, 0, sizeof(*id));
	if (!name)
		name = secure_getenv("LIFELINE_SANDBOX_USER");
	if (!name || !*name)
		name = LL_SANDBOX_USER;
	pw = getpwnam(name);
	if (pw && pw->pw_uid != 0 && pw->pw_gid != 0) {
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid;
		snprintf(id->user, sizeof(id->user), "%s", name);
		return;
	}
	is_root = pw != NULL;
	id->uid = NOBODY_ID;
	id->gid = NOBODY_ID;
	pw = getpwnam("nobody");
	if (pw && pw->pw_uid != 0) {
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid != 0 ? pw->pw_gid : NOBODY_ID;
	}
	snprintf(id->user, sizeof(id->user), "nobody");
	snprintf(id->note, sizeof(id->note), "the user %.40s %s: ran as nobody (uid %u); run "
		 "'lifeline coredump --install' to create it", name,
		 is_root ? "has uid or gid 0" : "does not exist", (unsigned)id->uid);
}

#if defined(__x86_64__)
#define LL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef LL_AUDIT_ARCH
#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int ll_sandbox_seccomp(void)
{
	static const struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LL_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
		/* x32 system call numbers: never */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
		ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_readv), ALLOW(__NR_writev),
		ALLOW(__NR_pread64), ALLOW(__NR_pwrite64), ALLOW(__NR_lseek), ALLOW(__NR_close),
		ALLOW(__NR_fstat), ALLOW(__NR_newfstatat), ALLOW(__NR_fstatfs), ALLOW(__NR_ftruncate),
		ALLOW(__NR_fcntl), ALLOW(__NR_ppoll),
#ifdef __NR_poll
		ALLOW(__NR_poll),
#endif
		ALLOW(__NR_mmap), ALLOW(__NR_munmap), ALLOW(__NR_mremap), ALLOW(__NR_mprotect),
		ALLOW(__NR_brk), ALLOW(__NR_madvise), ALLOW(__NR_rt_sigreturn),
		ALLOW(__NR_rt_sigprocmask), ALLOW(__NR_rt_sigaction), ALLOW(__NR_sigaltstack),
		ALLOW(__NR_setitimer), ALLOW(__NR_getitimer),
#ifdef __NR_alarm
		ALLOW(__NR_alarm),
#endif
		ALLOW(__NR_clock_gettime), ALLOW(__NR_clock_getres), ALLOW(__NR_gettimeofday),
		ALLOW(__NR_nanosleep), ALLOW(__NR_clock_nanosleep), ALLOW(__NR_restart_syscall),
		ALLOW(__NR_getpid), ALLOW(__NR_gettid), ALLOW(__NR_getuid), ALLOW(__NR_geteuid),
		ALLOW(__NR_getgid), ALLOW(__NR_getegid), ALLOW(__NR_futex), ALLOW(__NR_sched_yield),
		ALLOW(__NR_getrandom), ALLOW(__NR_exit), ALLOW(__NR_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	const struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = (struct sock_filter *)filter,
	};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}
#else
int ll_sandbox_seccomp(void)
{
	return -EOPNOTSUPP;
}
#endif

int ll_sandbox_enter(uid_t uid, gid_t gid, unsigned flags)
{
	const struct rlimit zero = { 0, 0 };

	if (uid == 0 || gid == 0)
		return -EINVAL;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (setrlimit(RLIMIT_CORE, &zero) < 0)
		return -errno;
	environ = NULL;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	/* Check the drop held: no way back to root. */
	if (setresuid(0, 0, 0) == 0 || geteuid() != uid || getegid() != gid)
		return -EPERM;
	/* The uid change made the kernel reset it to suid_dumpable: again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if ((flags & LL_SANDBOX_PDEATHSIG) && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int ll_sandbox_user_create(const char *name, bool *created)
{
	static const char *const tools[] = { "/usr/sbin/useradd", "/sbin/useradd" };
	char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	const char *tool = NULL;
	pid_t pid;
	int status, r;

	*created = false;
	if (getpwnam(name))
		return 0;
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (access(tools[i], X_OK) == 0)
			tool = tools[i];
	if (!tool)
		return -ENOENT;
	{
		char *const argv[] = { (char *)tool, "--system", "--no-create-home", "--home-dir",
				       "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group",
				       "--comment", "lifeline core capture (no login)", (char *)name, NULL };

		r = posix_spawn(&pid, tool, NULL, NULL, argv, env);
	}
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return getpwnam(name) ? 0 : -EIO;
	*created = true;
	return 0;
}
