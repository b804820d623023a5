/* system.c: ll_system(), system(3) on top of ll_spawn().
 *
 * POSIX semantics: while the caller waits, SIGINT and SIGQUIT are ignored and
 * SIGCHLD is blocked; the child gets the caller's original signal mask and
 * dispositions (signals the caller ignores stay ignored, SIGINT and SIGQUIT
 * go back to SIG_DFL unless the caller ignored them). As in glibc, concurrent
 * calls from several threads share one "ignore" period: a counter under a
 * mutex sets SIG_IGN on the first call in and restores on the last call out.
 * The difference from system(): the child holds only descriptors 0, 1, 2. */
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
		r = ll_spawn_wait(pid, -1, -1, &status);
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
