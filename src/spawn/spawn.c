/* spawn.c: ll_spawn(), a posix_spawn that never leaks descriptors.
 *
 * How it works. The parent prepares everything that needs memory (the
 * resolved program path, the sorted list of child descriptors to keep, a
 * scratch array for the dup2 map, a child stack), blocks every signal in the
 * calling thread, and starts the child with clone(CLONE_VM | CLONE_VFORK |
 * CLONE_PIDFD): the child shares the parent's memory (no page tables are
 * copied, so the cost does not depend on the parent's size) and the parent
 * thread sleeps until the child has called execve or exited.
 *
 * In the child (child_main) only async-signal-safe code runs: no malloc, no
 * stdio, no locks, and no call into any other library at all. Every system
 * call is made by child_sys(), an inline `syscall` (x86_64) / `svc 0`
 * (aarch64) instruction that returns -errno: the child never goes through
 * the PLT (a first call would run the lazy binder, _dl_fixup, in the child,
 * which writes the parent's GOT and TCB and may take the loader's lock that
 * another thread of the parent holds: the parent would then wait forever),
 * never writes errno (the parent thread's TLS, shared under CLONE_VM) and
 * never runs sanitizer or libc wrapper code. The child's functions are also
 * exempt from ASan/UBSan instrumentation and use little stack (one 4 KiB
 * buffer at most, on a 64 KiB stack). On other architectures child_sys()
 * falls back to syscall(3), which ll_spawn() calls once beforehand so that
 * its PLT slot is bound before any child runs. Order:
 * reset signal dispositions (while all signals are still blocked, so no
 * parent handler can run in the child), setsid/setpgid, chdir, the
 * descriptor map (sources that are also targets first moved above every fd
 * of the map, then all placed: overlaps and swaps are safe), close every other descriptor
 * (close_range over the gaps; else getdents64 over /proc/self/fd with a
 * stack buffer; else a bounded loop), rlimits, set the signal mask, the
 * child's own pid into opts->pid_slot (LISTEN_PID), execve. A failing
 * step stores its errno in the shared context and exits 127; the parent
 * reaps the child and returns -errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ll_config.h"
#include "lifeline/spawn.h"
#include "spawn/spawn_internal.h"

extern char **environ;

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Sanitizer-instrumented frames are much larger. */
#define CHILD_STACK_SIZE (LL_SANITIZED ? (1u << 20) : (64u << 10))
/* Upper bound of the last-resort close loop. */
#define CLOSE_LOOP_MAX (1 << 20)

struct child_ctx {
	const char *path;
	char *const *argv;
	char *const *envp;
	const struct ll_spawn_opts *o;
	const int *keep;     /* sorted, unique descriptors the child keeps */
	size_t nkeep;
	int *tmp;            /* per map entry: the source moved above tmpbase */
	int tmpbase;
	int loop_max;        /* for LL_SPAWN_CLOSE_LOOP */
	volatile int err;    /* errno of the failing step, set by the child */
};

/* Code that runs in the child: no instrumentation. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))
#endif
#endif
#ifndef CHILD_CODE
#define CHILD_CODE
#endif

/* A raw system call: the result, or -errno. No PLT, no errno, no wrapper. */
CHILD_CODE static inline long child_sys(long n, long a, long b, long c, long d, long e)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	return x0;
#else
	long r = syscall(n, a, b, c, d, e);

	return r < 0 ? -errno : r;
#endif
}

#define CSYS0(n) child_sys((n), 0, 0, 0, 0, 0)
#define CSYS1(n, a) child_sys((n), (long)(a), 0, 0, 0, 0)
#define CSYS2(n, a, b) child_sys((n), (long)(a), (long)(b), 0, 0, 0)
#define CSYS3(n, a, b, c) child_sys((n), (long)(a), (long)(b), (long)(c), 0, 0)
#define CSYS4(n, a, b, c, d) child_sys((n), (long)(a), (long)(b), (long)(c), (long)(d), 0)

CHILD_CODE static int kept(const struct child_ctx *c, int fd)
{
	size_t lo = 0, hi = c->nkeep;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->keep[mid] == fd)
			return 1;
		if (c->keep[mid] < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* close_range over every gap between kept descriptors. With
 * CLOSE_RANGE_CLOEXEC (Linux 5.11) the descriptors are only marked, and the
 * kernel closes them during execve, after the parent has been released:
 * the parent does not wait for thousands of closes. Either way none
 * survives the exec. */
CHILD_CODE static int close_gaps_range(const struct child_ctx *c, unsigned int flags)
{
	unsigned int next = 0;
	long r;

	for (size_t i = 0; i < c->nkeep; i++) {
		unsigned int k = (unsigned int)c->keep[i];

		if (k > next && (r = CSYS3(SYS_close_range, next, k - 1, flags)) < 0)
			return (int)r;
		next = k + 1;
	}
	r = CSYS3(SYS_close_range, next, ~0U, flags);
	return r < 0 ? (int)r : 0;
}

struct ll_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

CHILD_CODE static int close_gaps_procfs(const struct child_ctx *c)
{
	char buf[4096] __attribute__((aligned(8)));
	long dfd, n;

	dfd = CSYS4(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (dfd < 0)
		return (int)dfd;
	while ((n = CSYS3(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct ll_dirent64 *d = (struct ll_dirent64 *)(buf + off);
			const char *s = d->d_name;
			long fd = 0;

			off += d->d_reclen;
			if (*s < '0' || *s > '9')
				continue;
			for (; *s >= '0' && *s <= '9'; s++)
				fd = fd * 10 + (*s - '0');
			if (fd != dfd && fd <= INT_MAX && !kept(c, (int)fd))
				CSYS1(SYS_close, fd);
		}
	}
	CSYS1(SYS_close, dfd);
	return n < 0 ? (int)n : 0;
}

CHILD_CODE static void close_gaps_loop(const struct child_ctx *c)
{
	for (int fd = 0; fd < c->loop_max; fd++)
		if (!kept(c, fd))
			CSYS1(SYS_close, fd);
}

CHILD_CODE static int close_others(const struct child_ctx *c)
{
	switch (c->o->close_method) {
	case LL_SPAWN_CLOSE_AUTO:
		if (close_gaps_range(c, CLOSE_RANGE_CLOEXEC) == 0 || close_gaps_range(c, 0) == 0)
			return 0;
		/* fall through */
	case LL_SPAWN_CLOSE_PROCFS:
		if (close_gaps_procfs(c) == 0)
			return 0;
		/* fall through */
	case LL_SPAWN_CLOSE_LOOP:
	default:
		close_gaps_loop(c);
		return 0;
	}
}

/* The parent marked in tmp[i] (1) the entries whose source is another
 * entry's target: those are moved above every fd of the map first, so that
 * placing one entry cannot clobber another's source. The others are placed
 * directly. */
CHILD_CODE static int apply_fd_map(const struct child_ctx *c)
{
	const struct ll_spawn_opts *o = c->o;
	long r;

	for (size_t i = 0; i < o->nfds; i++) {
		if (!c->tmp[i]) {
			c->tmp[i] = -1;
			continue;
		}
		r = CSYS3(SYS_fcntl, o->fds[i].parent_fd, F_DUPFD_CLOEXEC, c->tmpbase);
		if (r < 0)
			return (int)r;
		c->tmp[i] = (int)r;
	}
	for (size_t i = 0; i < o->nfds; i++) {
		int src = c->tmp[i] >= 0 ? c->tmp[i] : o->fds[i].parent_fd;

		if (src == o->fds[i].child_fd)
			r = CSYS3(SYS_fcntl, src, F_SETFD, 0); /* keep it across exec */
		else
			r = CSYS3(SYS_dup3, src, o->fds[i].child_fd, 0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

/* The kernel's struct sigaction (x86_64 and aarch64 both have sa_restorer);
 * all zero is SIG_DFL with an empty mask. The kernel's sigset is one long:
 * the first word of glibc's sigset_t. */
struct k_sigaction {
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	unsigned long mask;
};
#define K_SIGSET_SIZE sizeof(unsigned long)

CHILD_CODE static int in_set(const sigset_t *set, int sig)
{
	const unsigned long *w = (const unsigned long *)(const void *)set;
	unsigned bits = 8 * sizeof(unsigned long);

	return (int)((w[(unsigned)(sig - 1) / bits] >> ((unsigned)(sig - 1) % bits)) & 1);
}

/* Every handler back to SIG_DFL (glibc's internal SIGCANCEL and SIGSETXID
 * included: no handler of the parent may run in the child), ignored
 * signals too unless LL_SPAWN_KEEP_IGNORED asks to keep them. */
CHILD_CODE static void reset_signals(const struct child_ctx *c)
{
	const struct ll_spawn_opts *o = c->o;

	for (int sig = 1; sig < NSIG; sig++) {
		struct k_sigaction old, dfl;
		int reset;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (CSYS4(SYS_rt_sigaction, sig, 0, &old, K_SIGSET_SIZE) < 0)
			continue;
		if (old.handler == (unsigned long)SIG_DFL)
			continue;
		reset = old.handler != (unsigned long)SIG_IGN || !(o->flags & LL_SPAWN_KEEP_IGNORED) ||
			(o->sigdefault && in_set(o->sigdefault, sig));
		if (!reset)
			continue;
		dfl.handler = dfl.flags = dfl.restorer = dfl.mask = 0;
		CSYS4(SYS_rt_sigaction, sig, &dfl, 0, K_SIGSET_SIZE);
	}
}

/* The child's pid, in decimal, into the caller's slot (size >= 12). */
CHILD_CODE static void write_pid_slot(const struct ll_spawn_opts *o)
{
	char digits[12];
	long pid = CSYS0(SYS_getpid);
	size_t n = 0, i = 0;

	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && n < sizeof(digits));
	while (n > 0)
		o->pid_slot[i++] = digits[--n];
	o->pid_slot[i] = '\0';
}

CHILD_CODE static int child_main(void *arg)
{
	struct child_ctx *c = arg;
	const struct ll_spawn_opts *o = c->o;
	unsigned long nomask = 0;
	long r = 0;

	reset_signals(c);
	if ((o->flags & LL_SPAWN_SETSID) && (r = CSYS0(SYS_setsid)) < 0)
		goto fail;
	if ((o->flags & LL_SPAWN_SETPGID) && (r = CSYS2(SYS_setpgid, 0, o->pgid)) < 0)
		goto fail;
	if (o->cwd && (r = CSYS1(SYS_chdir, o->cwd)) < 0)
		goto fail;
	r = apply_fd_map(c);
	if (r < 0)
		goto fail;
	r = close_others(c);
	if (r < 0)
		goto fail;
	/* After the map: a lower RLIMIT_NOFILE would make the moves fail. */
	for (size_t i = 0; i < o->nrlimits; i++) {
		struct rlimit rl;

		rl.rlim_cur = o->rlimits[i].soft;
		rl.rlim_max = o->rlimits[i].hard;
		r = CSYS4(SYS_prlimit64, 0, o->rlimits[i].resource, &rl, 0);
		if (r < 0)
			goto fail;
	}
	r = CSYS4(SYS_rt_sigprocmask, SIG_SETMASK,
		  (o->flags & LL_SPAWN_SETSIGMASK) ? (const void *)&o->sigmask : (const void *)&nomask, 0,
		  K_SIGSET_SIZE);
	if (r < 0)
		goto fail;
	if (o->pid_slot)
		write_pid_slot(o);
	r = CSYS3(SYS_execve, c->path, c->argv, c->envp);
fail:
	c->err = r < 0 ? (int)-r : EIO;
	CSYS1(SYS_exit_group, 127);
	return 127;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The sorted, unique list of descriptors the child keeps. */
static int build_keep(const struct ll_spawn_opts *o, int **out, size_t *n, int *maxfd)
{
	int *keep = malloc((o->nfds + 3) * sizeof(int));
	size_t k = 0;

	if (!keep)
		return -ENOMEM;
	*maxfd = 2;
	if (!(o->flags & LL_SPAWN_NO_STDIO))
		for (int fd = 0; fd < 3; fd++)
			keep[k++] = fd;
	for (size_t i = 0; i < o->nfds; i++) {
		if (o->fds[i].parent_fd < 0 || o->fds[i].child_fd < 0) {
			free(keep);
			return -EINVAL;
		}
		keep[k++] = o->fds[i].child_fd;
		if (o->fds[i].child_fd > *maxfd)
			*maxfd = o->fds[i].child_fd;
		if (o->fds[i].parent_fd > *maxfd)
			*maxfd = o->fds[i].parent_fd;
	}
	/* Two entries for one child descriptor is a caller error. */
	for (size_t i = 0; i < o->nfds; i++)
		for (size_t j = i + 1; j < o->nfds; j++)
			if (o->fds[i].child_fd == o->fds[j].child_fd) {
				free(keep);
				return -EINVAL;
			}
	qsort(keep, k, sizeof(int), cmp_int);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || keep[u - 1] != keep[i])
			keep[u++] = keep[i];
	*out = keep;
	*n = u;
	return 0;
}

int ll_spawn_resolve(const char *name, char *const *envp, char **out)
{
	const char *pathvar = NULL;
	size_t nlen = strlen(name);
	int err = -ENOENT;

	if (!*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		*out = strdup(name);
		return *out ? 0 : -ENOMEM;
	}
	for (char *const *e = envp; e && *e; e++)
		if (!strncmp(*e, "PATH=", 5)) {
			pathvar = *e + 5;
			break;
		}
	if (!pathvar)
		pathvar = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = pathvar;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char *cand = malloc(dlen + nlen + 3);
		struct stat st;

		if (!cand)
			return -ENOMEM;
		if (dlen == 0)
			snprintf(cand, dlen + nlen + 3, "./%s", name);
		else
			snprintf(cand, dlen + nlen + 3, "%.*s/%s", (int)dlen, p, name);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0) {
				*out = cand;
				return 0;
			}
			err = -EACCES;
		}
		free(cand);
		if (!*end)
			break;
		p = end;
	}
	return err;
}

static int close_loop_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > CLOSE_LOOP_MAX)
		return CLOSE_LOOP_MAX;
	return (int)rl.rlim_cur;
}

int ll_spawn(char *const argv[], const struct ll_spawn_opts *opts, pid_t *pid, int *pidfd)
{
	static const struct ll_spawn_opts defaults;
	const struct ll_spawn_opts *o = opts ? opts : &defaults;
	struct child_ctx c;
	char *path = NULL;
	int *keep = NULL, *tmp = NULL;
	void *stack = MAP_FAILED;
	sigset_t all, old;
	int saved_errno = errno, cancel_state, maxfd, r, child_pidfd = -1;
	size_t nkeep = 0;
	pid_t child;

	if (!argv || !argv[0] || !pid || (o->pid_slot && o->pid_slot_size < 12))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.envp = o->envp ? o->envp : environ;
	if (o->path && (o->flags & LL_SPAWN_SEARCH_PATH))
		r = ll_spawn_resolve(o->path, environ, &path);
	else if (o->flags & LL_SPAWN_SEARCH_PATH)
		r = ll_spawn_resolve(argv[0], environ, &path);
	else
		r = (path = strdup(o->path ? o->path : argv[0])) ? 0 : -ENOMEM;
	if (r < 0)
		goto out;
	r = build_keep(o, &keep, &nkeep, &maxfd);
	if (r < 0)
		goto out;
	tmp = calloc(o->nfds ? o->nfds : 1, sizeof(int));
	if (!tmp) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < o->nfds; i++)
		for (size_t j = 0; j < o->nfds; j++)
			if (j != i && o->fds[j].child_fd == o->fds[i].parent_fd)
				tmp[i] = 1; /* its source is clobbered by entry j */
	stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	c.path = path;
	c.argv = argv;
	c.o = o;
	c.keep = keep;
	c.nkeep = nkeep;
	c.tmp = tmp;
	c.tmpbase = maxfd + 1;
	c.loop_max = close_loop_max();
	c.err = 0;

#if !defined(__x86_64__) && !defined(__aarch64__)
	/* child_sys() goes through syscall(3) here: bind its PLT slot now. */
	(void)syscall(SYS_getpid);
#endif
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	/* Block everything, glibc's internal signals included (which
	 * pthread_sigmask would leave out): no handler may run in the child. */
	memset(&all, 0xff, sizeof(all));
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, (long)(NSIG / 8));
	/* A pidfd only for a caller that wants one (ll_system, ll_popen do
	 * not): nothing to close afterwards. */
	child = clone(child_main, (char *)stack + CHILD_STACK_SIZE,
		      CLONE_VM | CLONE_VFORK | (pidfd ? CLONE_PIDFD : 0) | SIGCHLD, &c, &child_pidfd);
	if (child < 0 && errno == EINVAL && pidfd) {
		/* A kernel without CLONE_PIDFD (before 5.2). */
		child_pidfd = -1;
		child = clone(child_main, (char *)stack + CHILD_STACK_SIZE,
			      CLONE_VM | CLONE_VFORK | SIGCHLD, &c, NULL);
		if (child > 0)
			child_pidfd = (int)syscall(SYS_pidfd_open, child, 0);
		if (child_pidfd >= 0)
			fcntl(child_pidfd, F_SETFD, FD_CLOEXEC);
		else
			child_pidfd = -1;
	}
	r = child < 0 ? -errno : 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, (long)(NSIG / 8));
	pthread_setcancelstate(cancel_state, NULL);
	if (r < 0)
		goto out;
	if (c.err) {
		/* The child failed before or at execve and exited 127. */
		r = -c.err;
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		if (child_pidfd >= 0)
			close(child_pidfd);
		goto out;
	}
	*pid = child;
	if (pidfd)
		*pidfd = child_pidfd;
	else if (child_pidfd >= 0)
		close(child_pidfd);
out:
	if (stack != MAP_FAILED)
		munmap(stack, CHILD_STACK_SIZE);
	free(tmp);
	free(keep);
	free(path);
	errno = saved_errno;
	return r;
}
