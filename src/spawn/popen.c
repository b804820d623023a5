/* popen.c: ll_popen()/ll_pclose(), popen(3) on top of ll_spawn().
 *
 * A pipe is made close-on-exec in the caller; the child gets its end as
 * stdin ("w") or stdout ("r") through the descriptor map, and ll_spawn()
 * closes everything else in it, so no other popen stream, socket or file
 * reaches the child. The caller's end is close-on-exec only with the "e"
 * flag, as glibc does. Every open stream is recorded with its child's pid
 * in a list under a mutex, so ll_pclose() waits for the right child. A
 * pthread_atfork child handler gives a fork child (made by another thread
 * while this list was locked) a fresh mutex, so that ll_popen() in that
 * child cannot deadlock. The list itself is kept: its streams are the
 * child's copies too, and ll_pclose() of one there fails with ECHILD. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"

struct popen_child {
	FILE *stream;
	pid_t pid;
	struct popen_child *next;
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct popen_child *children;

static void fork_child(void)
{
	pthread_mutex_init(&list_lock, NULL);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

static int parse_mode(const char *mode, int *reading, int *cloexec)
{
	if (!mode || (mode[0] != 'r' && mode[0] != 'w'))
		return -EINVAL;
	*reading = mode[0] == 'r';
	*cloexec = 0;
	for (const char *m = mode + 1; *m; m++) {
		if (*m != 'e')
			return -EINVAL;
		*cloexec = 1;
	}
	return 0;
}

FILE *ll_popen(const char *cmd, const char *mode)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	struct ll_spawn_opts o;
	struct ll_spawn_fd map;
	struct popen_child *ent = NULL;
	FILE *f = NULL;
	int p[2] = { -1, -1 }, reading, cloexec, mine, theirs, r;
	pid_t pid = -1;

	pthread_once(&atfork_once, register_atfork);
	r = parse_mode(mode, &reading, &cloexec);
	if (r == 0 && !cmd)
		r = -EINVAL;
	if (r < 0)
		goto fail;
	ent = malloc(sizeof(*ent));
	if (!ent) {
		r = -ENOMEM;
		goto fail;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	mine = reading ? p[0] : p[1];
	theirs = reading ? p[1] : p[0];
	map.parent_fd = theirs;
	map.child_fd = reading ? STDOUT_FILENO : STDIN_FILENO;
	memset(&o, 0, sizeof(o));
	o.flags = LL_SPAWN_KEEP_IGNORED | LL_SPAWN_SETSIGMASK;
	o.path = "/bin/sh";
	o.fds = &map;
	o.nfds = 1;
	pthread_sigmask(SIG_SETMASK, NULL, &o.sigmask);
	r = ll_spawn(argv, &o, &pid, NULL);
	if (r < 0)
		goto fail;
	close(theirs);
	p[reading ? 1 : 0] = -1;
	if (!cloexec)
		fcntl(mine, F_SETFD, 0);
	f = fdopen(mine, reading ? "r" : "w");
	if (!f) {
		r = -errno;
		goto fail;
	}
	ent->stream = f;
	ent->pid = pid;
	pthread_mutex_lock(&list_lock);
	ent->next = children;
	children = ent;
	pthread_mutex_unlock(&list_lock);
	return f;
fail:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(ent);
	errno = -r;
	return NULL;
}

static struct popen_child *take(FILE *stream, int remove)
{
	struct popen_child **pp, *found = NULL;

	pthread_mutex_lock(&list_lock);
	for (pp = &children; *pp; pp = &(*pp)->next)
		if ((*pp)->stream == stream) {
			found = *pp;
			if (remove)
				*pp = found->next;
			break;
		}
	pthread_mutex_unlock(&list_lock);
	return found;
}

bool ll_popen_owns(FILE *stream)
{
	return stream && take(stream, 0) != NULL;
}

int ll_pclose(FILE *stream)
{
	struct popen_child *ent = stream ? take(stream, 1) : NULL;
	int status = -1;
	pid_t pid, w;

	if (!ent) {
		errno = ECHILD;
		return -1;
	}
	pid = ent->pid;
	free(ent);
	fclose(stream);
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return w < 0 ? -1 : status;
}
