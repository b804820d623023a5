/* probe.c: test-load a snapshot in a short-lived child process first.
 *
 * ld.so trusts a shared object's tables: a corrupt file, or a mix of two
 * versions left by an in-place write, can crash the loader itself
 * (_dl_relocate_object), which no check inside the host can survive. So
 * before a snapshot is dlopen'ed in the host it is loaded by the system's
 * dynamic loader in a child: `ld.so /proc/self/fd/3` in trace mode with
 * LD_BIND_NOW and LD_WARN (what `ldd -r` runs) maps the object and its
 * dependencies, checks their versions and performs the relocations, as
 * dlopen would, but runs no constructor, no IFUNC resolver and no plugin
 * code (no side effects). The child is a vfork child that only resets the
 * signal dispositions, sets RLIMIT_CORE to 0 (its crash is a verdict, not a
 * core worth keeping) and redirects its standard descriptors to /dev/null
 * before exec, with a fixed environment, the snapshot as fd 3, and a
 * deadline; the parent waits on a pidfd (one descriptor while it waits;
 * a short sleep loop where pidfd_open is missing or out of descriptors). A child killed by a signal becomes a rejection naming the
 * signal; a normal exit (even with an error: an undefined symbol, a missing
 * dependency) leaves the verdict to the real dlopen. The loader is the host's
 * own program interpreter (PT_INTERP of the main program): a static host has
 * none and skips the probe. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin/plugin_private.h"

static char interp[256];
static pthread_once_t interp_once = PTHREAD_ONCE_INIT;

/* The first object dl_iterate_phdr reports is the main program. */
static int find_interp(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (unsigned i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_INTERP) {
			const char *s = (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);

			if (strlen(s) < sizeof(interp))
				strcpy(interp, s);
		}
	return 1;
}

static void load_interp(void)
{
	dl_iterate_phdr(find_interp, NULL);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* In the vfork child: async-signal-safe calls only, then exec. Signal
 * dispositions are the child's own copy: reset them so that no handler of
 * the host runs here; no core dump of a crash (the verdict is the signal). */
static void child(int snap_fd, int target, char *const argv[], char *const envp[], const sigset_t *mask)
{
	static const struct rlimit no_core = { 0, 0 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int null;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	setrlimit(RLIMIT_CORE, &no_core);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(127);
	if (snap_fd == target ? fcntl(target, F_SETFD, 0) < 0 : dup2(snap_fd, target) < 0)
		_exit(127);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(argv[0], argv, envp);
	_exit(127);
}

int ll_probe_load(const struct ll_snapshot *s, unsigned timeout_ms, char *why, size_t why_size)
{
	/* What `ldd -r` sets: trace mode, every relocation done now. */
	static char *const envp[] = { "LD_TRACE_LOADED_OBJECTS=1", "LD_WARN=yes", "LD_BIND_NOW=yes",
				      "LD_LIBRARY_VERSION=", NULL };
	int target = 3, status = 0, err;
	char fdpath[32];
	char *argv[] = { interp, fdpath, NULL };
	struct timespec t0, nap = { 0, 200000 };
	sigset_t all, old;
	pid_t pid, w;
	int pidfd;

	pthread_once(&interp_once, load_interp);
	if (!interp[0])
		return 0; /* a static host: no loader to ask */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", target);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		child(s->fd, target, argv, envp, &old);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		snprintf(why, why_size, "cannot start the test load (%s): %s", interp, strerror(err));
		return -err;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* Linux 5.3: woken at the child's exit */
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			status = 0; /* reaped by someone else (a SIGCHLD handler): no verdict */
			break;
		}
		if (ms_since(&t0) > (long)timeout_ms) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			if (pidfd >= 0)
				close(pidfd);
			snprintf(why, why_size, "the test load in a child process (%s) did not finish "
				 "within %u ms: the file is corrupt or a mix of two versions", interp, timeout_ms);
			return -ETIMEDOUT;
		}
		if (pidfd >= 0) {
			struct pollfd pf = { .fd = pidfd, .events = POLLIN };

			poll(&pf, 1, 100);
		} else {
			nanosleep(&nap, NULL);
			if (nap.tv_nsec < 8000000)
				nap.tv_nsec *= 2;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		snprintf(why, why_size, "the test load in a child process (%s) died of SIG%s (%s): the file "
			 "is corrupt or a mix of two versions (written in place while being loaded?); it is "
			 "retried when the file changes", interp, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			 strsignal(sig));
		return -ELIBBAD;
	}
	return 0;
}
