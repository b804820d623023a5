/* util.c: what the demo parts share: the example programs are found
 * relative to this program (never through a path baked in at build time),
 * the lifeline CLI is run as a separate program, and children's output is
 * followed line by line with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/output.h"
#include "demo.h"

extern char **environ;

const char *demo_cli;

int demo_asset(const char *rel, char *buf, size_t size)
{
	static const char *const ups[] = { "", "/.." }; /* installed, build tree */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0 || !buf || size == 0)
		return -ENOENT;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
		int w = snprintf(buf, size, "%s%s/%s", self, ups[i], rel);

		if (w > 0 && (size_t)w < size && access(buf, F_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

long demo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int demo_run(char *const argv[], int in_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	fflush(NULL);
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0) {
		lseek(in_fd, 0, SEEK_SET);
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	} else {
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	}
	r = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r < 0)
		return r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return st;
}

int demo_child_start(struct demo_child *c, char *const argv[], bool want_stdin, bool quiet)
{
	posix_spawn_file_actions_t fa;
	int o[2] = { -1, -1 }, i[2] = { -1, -1 }, r;

	c->pid = -1;
	c->out = c->in = -1;
	c->used = 0;
	if (pipe2(o, O_CLOEXEC) < 0)
		return -errno;
	if (want_stdin && pipe2(i, O_CLOEXEC) < 0) {
		r = -errno;
		close(o[0]);
		close(o[1]);
		return r;
	}
	fflush(NULL);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	if (want_stdin)
		posix_spawn_file_actions_adddup2(&fa, i[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = -posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	if (want_stdin)
		close(i[0]);
	if (r < 0) {
		c->pid = -1;
		close(o[0]);
		if (want_stdin)
			close(i[1]);
		return r;
	}
	c->out = o[0];
	c->in = want_stdin ? i[1] : -1;
	return 0;
}

/* The one reader behind follow and expect: echo each line when echo is
 * set; copy the line holding needle into line. */
static int child_read(struct demo_child *c, const char *needle, long timeout_ms, bool echo, char *line,
		      size_t size)
{
	long deadline = demo_now_ms() + timeout_ms;

	while (c->out >= 0) {
		struct pollfd pf = { .fd = c->out, .events = POLLIN };
		char *nl;
		long left;
		ssize_t n;

		while ((nl = memchr(c->buf, '\n', c->used))) {
			bool hit;

			*nl = '\0';
			if (echo)
				printf("    %s%s%s\n", OUT_DIM, c->buf, OUT_RESET);
			hit = needle && strstr(c->buf, needle);
			if (hit && line && size)
				snprintf(line, size, "%s", c->buf);
			c->used -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->used);
			if (hit) {
				fflush(stdout);
				return 1;
			}
		}
		left = deadline - demo_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		if (c->used == sizeof(c->buf))
			c->used = 0; /* a runaway line: drop it */
		n = read(c->out, c->buf + c->used, sizeof(c->buf) - c->used);
		if (n <= 0) {
			close(c->out);
			c->out = -1;
			return 0;
		}
		c->used += (size_t)n;
	}
	return 0;
}

int demo_child_follow(struct demo_child *c, const char *needle, long timeout_ms)
{
	return child_read(c, needle, timeout_ms, true, NULL, 0);
}

int demo_child_expect(struct demo_child *c, const char *needle, long timeout_ms, char *line, size_t size)
{
	return child_read(c, needle, timeout_ms, false, line, size);
}

void demo_child_stop(struct demo_child *c)
{
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	c->in = c->out = -1;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
	}
}
