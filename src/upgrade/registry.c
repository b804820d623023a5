/* registry.c: what the old process hands over. Named descriptors (kept as
 * the caller's numbers, not duplicated, checked open at registration and
 * again at the start) and one state blob (copied), under the module's lock;
 * plus the small helpers every file of the module uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "upgrade/upgrade_internal.h"

struct up_global up_g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ep = -1,
	.ready_rd = -1,
	.pidfd = -1,
	.timer = -1,
	.spawn_done = -1,
	.ctl_listen = -1,
	.ctl_conn = -1,
};

uint64_t up_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool up_name_valid(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (; name[n]; n++)
		if (name[n] <= ' ' || name[n] > '~' || name[n] == ':')
			return false;
	return n > 0 && n <= LL_UPGRADE_NAME_MAX;
}

int ll_upgrade_register(const char *name, int fd)
{
	int r = 0;

	if (!up_name_valid(name) || fd < 0)
		return -EINVAL;
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	pthread_mutex_lock(&up_g.lock);
	for (size_t i = 0; i < up_g.nfds && r == 0; i++)
		if (!strcmp(up_g.fds[i].name, name) || up_g.fds[i].fd == fd)
			r = -EEXIST;
	if (r == 0 && up_g.nfds >= LL_UPGRADE_MAX_FDS)
		r = -E2BIG;
	if (r == 0) {
		snprintf(up_g.fds[up_g.nfds].name, sizeof(up_g.fds[0].name), "%s", name);
		up_g.fds[up_g.nfds++].fd = fd;
	}
	pthread_mutex_unlock(&up_g.lock);
	return r;
}

int ll_upgrade_unregister(const char *name)
{
	int r = -ENOENT;

	if (!name)
		return -EINVAL;
	pthread_mutex_lock(&up_g.lock);
	for (size_t i = 0; i < up_g.nfds; i++)
		if (!strcmp(up_g.fds[i].name, name)) {
			memmove(&up_g.fds[i], &up_g.fds[i + 1], (up_g.nfds - i - 1) * sizeof(up_g.fds[0]));
			up_g.nfds--;
			r = 0;
			break;
		}
	pthread_mutex_unlock(&up_g.lock);
	return r;
}

int ll_upgrade_set_state(const void *buf, size_t len)
{
	void *copy = NULL;

	if (len > LL_UPGRADE_STATE_MAX)
		return -EFBIG;
	if (len && !buf)
		return -EINVAL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, buf, len);
	}
	pthread_mutex_lock(&up_g.lock);
	free(up_g.state);
	up_g.state = copy;
	up_g.state_len = len;
	pthread_mutex_unlock(&up_g.lock);
	return 0;
}

int ll_upgrade_release_all(void)
{
	int n;

	pthread_mutex_lock(&up_g.lock);
	for (size_t i = 0; i < up_g.nfds; i++)
		close(up_g.fds[i].fd);
	n = (int)up_g.nfds;
	up_g.nfds = 0;
	pthread_mutex_unlock(&up_g.lock);
	return n;
}

const char *ll_upgrade_phase_name(enum ll_upgrade_phase phase)
{
	static const char *const names[] = { "idle", "running", "ready", "rolled-back" };

	return (unsigned)phase < sizeof(names) / sizeof(names[0]) ? names[phase] : "unknown";
}

const char *ll_upgrade_reason_name(enum ll_upgrade_reason reason)
{
	static const char *const names[] = { "none", "refused", "spawn", "exited",
					     "signaled", "timeout", "protocol", "error" };

	return (unsigned)reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "unknown";
}
