/* system.c: ll_system(), system(3) on top of ll_spawn().
 *
 * POSIX semantics: while the caller waits, SIGINT and SIGQUIT are ignored and
 * SIGCHLD is blocked; the child gets the caller's original signal mask and
 * dispositions (signals the caller ignores stay ignored, SIGINT and SIGQUIT
 * go back to SIG_DFL unless the caller ignored them). As in glibc, concurrent
 * calls from several threads share one "ignore" period: a counter under a
 * mutex sets SIG_IGN on the first call in and restores on the last call out.
 * The difference from system(): the child holds only descriptors 0, 1, 2.
 *
 * Cancellation: the wait is a cancellation point, as in system(). A thread
 * cancelled there kills its child (SIGKILL), reaps it, and leaves the
 * ignore period and its signal mask as if the call had returned (a cleanup
 * handler), so SIGINT is not left ignored for the rest of the process.
 * fork(): a child forked by another thread while this one held the counter's
 * mutex would inherit it locked; a pthread_atfork child handler makes a fresh
 * mutex and, since the threads that were inside ll_system() do not exist in
 * the fork child, ends their ignore period there. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned sig_users;
static struct sigaction saved_int, saved_quit;

static void ignore_int_quit(struct sigaction *orig_int, struct sigaction *orig_quit)
{
	struct sigaction ign;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	pthread_mutex_lock(&sig_lock);
	if (sig_users++ == 0) {
		sigaction(SIGINT, &ign, &saved_int);
		sigaction(SIGQUIT, &ign, &saved_quit);
	}
	*orig_int = saved_int;
	*orig_quit = saved_quit;
	pthread_mutex_unlock(&sig_lock);
}

static void restore_int_quit(void)
{
	pthread_mutex_lock(&sig_lock);
	if (--sig_users == 0) {
		sigaction(SIGINT, &saved_int, NULL);
		sigaction(SIGQUIT, &saved_quit, NULL);
	}
	pthread_mutex_unlock(&sig_lock);
}

static void fork_child(void)
{
	pthread_mutex_init(&sig_lock, NULL);
	if (sig_users) {
		sig_users = 0;
		sigaction(SIGINT, &saved_int, NULL);
		sigaction(SIGQUIT, &saved_quit, NULL);
	}
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

struct waiting {
	pid_t pid;
	const sigset_t *mask;
};

/* The thread was cancelled while waiting for its child. */
static void cancelled(void *arg)
{
	const struct waiting *w = arg;

	kill(w->pid, SIGKILL);
	while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
		;
	restore_int_quit();
	pthread_sigmask(SIG_SETMASK, w->mask, NULL);
}

/* ll_spawn_wait() with the cleanup handler armed (a function of its own:
 * the cleanup macros use setjmp, which must not see ll_system's locals). */
static int wait_cancellable(pid_t pid, const sigset_t *mask, int *status)
{
	struct waiting w = { pid, mask };
	int r;

	pthread_cleanup_push(cancelled, &w);
	r = ll_spawn_wait(pid, -1, -1, status);
	pthread_cleanup_pop(0);
	return r;
}

int ll_system(const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	struct ll_spawn_opts o;
	struct sigaction orig_int, orig_quit;
	sigset_t chld, sigdef;
	int status = -1, r, saved_errno = 0;
	pid_t pid;

	if (!cmd)
		return access("/bin/sh", X_OK) == 0;
	pthread_once(&atfork_once, register_atfork);
	ignore_int_quit(&orig_int, &orig_quit);
	memset(&o, 0, sizeof(o));
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &o.sigmask);
	sigemptyset(&sigdef);
	if (orig_int.sa_handler != SIG_IGN)
		sigaddset(&sigdef, SIGINT);
	if (orig_quit.sa_handler != SIG_IGN)
		sigaddset(&sigdef, SIGQUIT);
	o.flags = LL_SPAWN_KEEP_IGNORED | LL_SPAWN_SETSIGMASK;
	o.path = "/bin/sh";
	o.sigdefault = &sigdef;

	r = ll_spawn(argv, &o, &pid, NULL);
	if (r == -EAGAIN || r == -ENOMEM || r == -EINVAL) {
		saved_errno = -r;
	} else if (r < 0) {
		/* The shell could not be executed: what system() reports. */
		status = W_EXITCODE(127, 0);
	} else {
		r = wait_cancellable(pid, &o.sigmask, &status);
		if (r < 0) {
			status = -1;
			saved_errno = -r;
		}
	}
	restore_int_quit();
	pthread_sigmask(SIG_SETMASK, &o.sigmask, NULL);
	if (saved_errno)
		errno = saved_errno;
	return status;
}
