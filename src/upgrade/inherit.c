/* inherit.c: the new process's half. ll_upgrade_inherited() reads the
 * socket-activation variables once (LISTEN_PID must be this process, as
 * sd_listen_fds(3) requires; LISTEN_FDS descriptors from 3; names from
 * LISTEN_FDNAMES, "unknown" without it), whether an old lifeline process
 * or systemd set them; then it takes them out of the environment and marks
 * the descriptors close-on-exec, so that nothing reaches a grandchild.
 * ll_upgrade_state() reads the sealed memfd, ll_upgrade_ready() writes the
 * readiness byte and closes the pipe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "upgrade/upgrade_internal.h"

#define SEALS_WANTED (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static struct {
	pthread_once_t once;
	struct up_entry fds[LL_UPGRADE_MAX_FDS];
	size_t n;
	int ready_fd;
	int state_fd;
} in = { .once = PTHREAD_ONCE_INIT, .ready_fd = -1, .state_fd = -1 };

/* A descriptor number from a variable; -1 when absent or bad. */
static int env_fd(const char *var)
{
	const char *v = getenv(var);
	uint64_t x;

	if (!v || ll_parse_u64(v, 0, &x) < 0 || x < 3 || x > INT_MAX || fcntl((int)x, F_GETFD) < 0)
		return -1;
	return (int)x;
}

static void read_env(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
	uint64_t p = 0, n = 0;

	in.ready_fd = env_fd(UP_ENV_READY);
	in.state_fd = env_fd(UP_ENV_STATE);
	if (pid && fds && ll_parse_u64(pid, 0, &p) == 0 && p == (uint64_t)getpid() &&
	    ll_parse_u64(fds, 0, &n) == 0 && n <= LL_UPGRADE_MAX_FDS) {
		const char *s = names;

		for (size_t i = 0; i < n; i++) {
			size_t len = s ? strcspn(s, ":") : 0;

			if (len == 0 || len > LL_UPGRADE_NAME_MAX)
				strcpy(in.fds[i].name, "unknown");
			else
				memcpy(in.fds[i].name, s, len), in.fds[i].name[len] = '\0';
			in.fds[i].fd = 3 + (int)i;
			fcntl(in.fds[i].fd, F_SETFD, FD_CLOEXEC);
			if (s)
				s = s[len] ? s + len + 1 : NULL;
		}
		in.n = n;
	}
	if (in.ready_fd >= 0)
		fcntl(in.ready_fd, F_SETFD, FD_CLOEXEC);
	if (in.state_fd >= 0)
		fcntl(in.state_fd, F_SETFD, FD_CLOEXEC);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PIDFDID");
	unsetenv(UP_ENV_READY);
	unsetenv(UP_ENV_STATE);
}

int ll_upgrade_inherited(const char *name)
{
	if (!up_name_valid(name))
		return -EINVAL;
	pthread_once(&in.once, read_env);
	for (size_t i = 0; i < in.n; i++)
		if (!strcmp(in.fds[i].name, name))
			return in.fds[i].fd;
	return -ENOENT;
}

int ll_upgrade_state(void **buf, size_t *len)
{
	struct stat st;
	void *b = NULL;
	int fd, seals, r = 0;

	if (!buf || !len)
		return -EINVAL;
	*buf = NULL;
	*len = 0;
	pthread_once(&in.once, read_env);
	pthread_mutex_lock(&up_g.lock);
	fd = in.state_fd;
	in.state_fd = -1;
	pthread_mutex_unlock(&up_g.lock);
	if (fd < 0)
		return 0;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS_WANTED) != SEALS_WANTED) {
		r = -EPERM;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > LL_UPGRADE_STATE_MAX) {
		r = -EFBIG;
		goto out;
	}
	b = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!b) {
		r = -ENOMEM;
		goto out;
	}
	if (st.st_size && pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
		r = -EIO;
		free(b);
		goto out;
	}
	*buf = b;
	*len = (size_t)st.st_size;
out:
	close(fd);
	return r;
}

int ll_upgrade_ready(void)
{
	char byte = UP_READY_BYTE;
	int fd, sfd, r = 0;

	pthread_once(&in.once, read_env);
	pthread_mutex_lock(&up_g.lock);
	fd = in.ready_fd;
	sfd = in.state_fd;
	in.ready_fd = in.state_fd = -1;
	pthread_mutex_unlock(&up_g.lock);
	if (sfd >= 0)
		close(sfd);
	up_notify("READY=1", NULL, 0);
	if (fd < 0)
		return 0;
	/* a socket: send() with MSG_NOSIGNAL, no SIGPIPE if the old one is gone */
	if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1)
		r = -EPIPE;
	close(fd);
	return r < 0 ? r : 1;
}
