/* server.c: see server.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "testutil.h"
#include "server.h"

/* Every server pid seen, killed at exit: a failed assertion must not leave
 * a server holding meson's output pipe (the test would never end). */
static pid_t seen[512];
static int nseen;

static void kill_seen(void)
{
	for (int i = 0; i < nseen; i++)
		if (seen[i] > 0 && waitpid(seen[i], NULL, WNOHANG) == 0)
			kill(seen[i], SIGKILL);
}

static void remember(pid_t pid)
{
	if (nseen == 0)
		atexit(kill_seen);
	if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
		seen[nseen++] = pid;
	else
		seen[nseen - 1] = pid;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *srv_example(const char *name)
{
	static char buf[4][4096];
	static int slot;
	char rel[256];

	slot = (slot + 1) % 4;
	snprintf(rel, sizeof(rel), "examples/upgrade/%s", name);
	snprintf(buf[slot], sizeof(buf[slot]), "%s", tu_build_path(rel));
	return buf[slot];
}

/* One line from fd, at most timeout_ms; 0, -ETIMEDOUT or -EPIPE. */
static int read_line(int fd, char *line, size_t size, int timeout_ms)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = ms_now();
		char c;

		if (now >= end || poll(&p, 1, (int)(end - now)) != 1)
			return -ETIMEDOUT;
		if (read(fd, &c, 1) != 1)
			return -EPIPE;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

int srv_next_serving(struct srv *s, int timeout_ms, pid_t *pid, char *version)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;
	char line[256];

	while (ms_now() < end) {
		int p = 0, port = 0, r = read_line(s->out, line, sizeof(line), (int)(end - ms_now()) + 1);
		char v[16] = "";

		if (r < 0)
			return r;
		if (sscanf(line, "serving pid=%d port=%d version=%15s", &p, &port, v) == 3) {
			remember(p);
			if (pid)
				*pid = p;
			if (version)
				memcpy(version, v, sizeof(v));
			s->port = (uint16_t)port;
			return 0;
		}
	}
	return -ETIMEDOUT;
}

int srv_start(struct srv *s, const char *name, const char *const *extra)
{
	const char *path = srv_example(name);
	char *argv[16];
	int p[2], n = 0, r;
	struct ll_spawn_fd map[1];
	struct ll_spawn_opts o = { .fds = map, .nfds = 1 };

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	argv[n++] = (char *)path;
	argv[n++] = "--port";
	argv[n++] = "0";
	for (; extra && *extra && n < 14; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	map[0] = (struct ll_spawn_fd){ p[1], 1 };
	r = ll_spawn(argv, &o, &s->pid, NULL);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return r;
	}
	s->out = p[0];
	return srv_next_serving(s, 10000, NULL, NULL);
}

int srv_wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;

	do {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
	} while (ms_now() < end);
	return -ETIMEDOUT;
}

void srv_reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

void srv_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	if (srv_wait_exit(pid, 5000) < 0) {
		kill(pid, SIGKILL);
		srv_wait_exit(pid, 5000);
	}
}

unsigned long srv_socket_inode(pid_t pid, int fd)
{
	char path[64], target[128];
	unsigned long ino = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	return sscanf(target, "socket:[%lu]", &ino) == 1 ? ino : 0;
}
