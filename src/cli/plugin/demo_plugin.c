/* demo_plugin.c: `lifeline demo plugin`.
 *
 * Two services run side by side on the same file DIR/greeter.so, each
 * calling it from 2 threads without pause: examples/plugin/plugin-host
 * (lifeline's plugin host: private snapshots, RCU swap, inotify reload) and
 * examples/plugin/naive-host (plain dlopen of the path). The file is then
 * replaced three ways: `cp` of version 2 over it (the naive host dies: its
 * mapped pages were rewritten), `lifeline install` of version 3 (a second
 * naive host started on version 2 survives it but keeps running the old,
 * deleted code, which `lifeline stale` shows), and a `cp` of a broken build
 * (undefined symbol: rejected, version 3 keeps serving).
 * The host's own lines show which version answered; its final line counts
 * the calls and the failed ones (must be 0). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/plugin.h"
#include "cli/commands.h"
#include "cli/output.h"

extern char **environ;

struct child {
	pid_t pid;
	int out;          /* its stdout, or -1 */
	int in;           /* its stdin (write end), or -1 */
	char buf[8192];
	size_t used;
	const char *tag;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Start argv with stdout (and optionally stdin) on pipes. */
static int start(struct child *c, char *const argv[], bool want_stdin)
{
	posix_spawn_file_actions_t fa;
	int o[2] = { -1, -1 }, i[2] = { -1, -1 }, r;

	c->pid = -1;
	c->out = c->in = -1;
	c->used = 0;
	if (pipe2(o, O_CLOEXEC) < 0 || (want_stdin && pipe2(i, O_CLOEXEC) < 0))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	if (want_stdin)
		posix_spawn_file_actions_adddup2(&fa, i[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	r = -posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	if (want_stdin)
		close(i[0]);
	c->out = o[0];
	c->in = want_stdin ? i[1] : -1;
	if (r < 0) {
		close(o[0]);
		if (want_stdin)
			close(i[1]);
		c->out = c->in = -1;
	}
	return r;
}

/* Print c's lines as they come until one contains needle (1), EOF (0) or
 * the timeout (-ETIMEDOUT). needle NULL: until EOF. */
static int follow(struct child *c, const char *needle, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	while (c->out >= 0) {
		char *nl;

		while ((nl = memchr(c->buf, '\n', c->used))) {
			bool hit;

			*nl = '\0';
			printf("    %s%s%s\n", OUT_DIM, c->buf, OUT_RESET);
			hit = needle && strstr(c->buf, needle);
			c->used -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->used);
			if (hit) {
				fflush(stdout);
				return 1;
			}
		}
		long left = deadline - now_ms();
		struct pollfd pf = { .fd = c->out, .events = POLLIN };
		ssize_t n;

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

/* Run argv to completion, output inherited; its wait status or -errno. */
static int run(char *const argv[])
{
	pid_t pid;
	int st, r;

	fflush(stdout);
	r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r)
		return -r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return st;
}

static void stop(struct child *c)
{
	int st;

	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	c->in = c->out = -1;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
		c->pid = -1;
	}
}

int demo_plugin(void)
{
	static const char *const names[] = { "plugin-host", "naive-host", "greeter-v1.so", "greeter-v2.so",
					     "greeter-v3.so", "greeter-undef.so" };
	char assets[6][4096], dir[] = "/tmp/lifeline-demo-plugin.XXXXXX", dst[256], self[4096];
	struct child host = { .pid = -1, .out = -1, .in = -1 }, naive = { .pid = -1, .out = -1, .in = -1 };
	struct child naive2 = { .pid = -1, .out = -1, .in = -1 };
	char hostpid[16], naivepid[16];
	struct ll_install_result res;
	bool naive_died = false, ok = false;
	long t0;
	int st = 0, r;

	for (size_t i = 0; i < 6; i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "examples/plugin/%s", names[i]);
		if (out_find_asset(rel, assets[i], sizeof(assets[i])) < 0) {
			out_error("demo", "plugin: %s not found: build the tree first (ninja -C build)", rel);
			return 1;
		}
	}
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0 || !mkdtemp(dir)) {
		out_error("demo", "plugin: cannot set up: %s", strerror(errno));
		return 1;
	}
	self[sl] = '\0';
	snprintf(dst, sizeof(dst), "%s/greeter.so", dir);
	if (ll_install(assets[2], dst, NULL, &res) < 0) {
		out_error("demo", "plugin: cannot copy %s to %s: %s", assets[2], dst, strerror(errno));
		goto out;
	}
	printf("Two services call %s from 2 threads each, without pause:\n"
	       "  plugin-host: lifeline's plugin host (private snapshot, RCU swap, inotify reload)\n"
	       "  naive-host:  dlopen(\"%s\") like most services\n", dst, dst);
	{
		char *hargv[] = { assets[0], dst, NULL }, *nargv[] = { assets[1], dst, NULL };

		if (start(&host, hargv, true) < 0 || start(&naive, nargv, false) < 0) {
			out_error("demo", "plugin: cannot start the example hosts: %s", strerror(errno));
			goto out;
		}
	}
	if (follow(&host, "answered by v1", 15000) != 1 || follow(&naive, "serving", 15000) != 1) {
		out_error("demo", "plugin: the example hosts did not start");
		goto out;
	}

	printf("\n%s1. cp greeter-v2.so %s%s   (rewrites the loaded file in place)\n", OUT_BOLD, dst, OUT_RESET);
	{
		char *cargv[] = { "cp", assets[3], dst, NULL };

		r = run(cargv);
		if (r != 0) {
			out_error("demo", "plugin: cp failed (status %d)", r);
			goto out;
		}
	}
	t0 = now_ms();
	while (now_ms() - t0 < 2000 && !naive_died) {
		if (waitpid(naive.pid, &st, WNOHANG) == naive.pid) {
			naive_died = true;
			naive.pid = -1;
		} else {
			usleep(10000);
		}
	}
	if (naive_died && WIFSIGNALED(st))
		printf("  naive-host: %skilled by signal %d (%s)%s: cp rewrote the pages it was executing\n", OUT_RED,
		       WTERMSIG(st), strsignal(WTERMSIG(st)), OUT_RESET);
	else if (naive_died)
		printf("  naive-host: exited with status %d\n", WEXITSTATUS(st));
	else
		printf("  naive-host: survived this time (the new bytes happened to line up; the next cp may not be "
		       "so kind)\n");
	if (follow(&host, "answered by v2", 15000) != 1) {
		out_error("demo", "plugin: the host did not switch to version 2");
		goto out;
	}

	printf("\n%s2. lifeline install greeter-v3.so %s%s   (temp file, fsync, rename)\n", OUT_BOLD, dst,
	       OUT_RESET);
	printf("  (a second naive host is started on version 2 first)\n");
	{
		char *nargv[] = { assets[1], dst, NULL };

		if (start(&naive2, nargv, false) < 0 || follow(&naive2, "serving", 15000) != 1) {
			out_error("demo", "plugin: cannot start the second naive host");
			goto out;
		}
	}
	{
		char *iargv[] = { self, "install", assets[4], dst, NULL };

		r = run(iargv);
		if (r != 0) {
			out_error("demo", "plugin: lifeline install failed (status %d)", r);
			goto out;
		}
	}
	if (follow(&host, "answered by v3", 15000) != 1) {
		out_error("demo", "plugin: the host did not switch to version 3");
		goto out;
	}
	printf("  The listing names the naive host only: plugin-host maps private snapshots, never %s.\n", dst);
	printf("\n  lifeline stale %d %d   (naive host, plugin-host)\n", (int)naive2.pid, (int)host.pid);
	snprintf(naivepid, sizeof(naivepid), "%d", (int)naive2.pid);
	snprintf(hostpid, sizeof(hostpid), "%d", (int)host.pid);
	{
		char *sargv[] = { self, "stale", naivepid, hostpid, NULL };

		r = run(sargv);
		if (r != 0) {
			out_error("demo", "plugin: lifeline stale failed (status %d)", r);
			goto out;
		}
	}
	stop(&naive2);

	printf("\n%s3. cp greeter-undef.so %s%s   (a broken build: undefined symbol)\n", OUT_BOLD, dst,
	       OUT_RESET);
	{
		char *cargv[] = { "cp", assets[5], dst, NULL };

		r = run(cargv);
		if (r != 0) {
			out_error("demo", "plugin: cp failed (status %d)", r);
			goto out;
		}
	}
	if (follow(&host, "REJECTED", 15000) != 1) {
		out_error("demo", "plugin: the host did not report the broken version");
		goto out;
	}
	usleep(300000);

	printf("\n%sStopping the host:%s\n", OUT_BOLD, OUT_RESET);
	close(host.in);
	host.in = -1;
	follow(&host, NULL, 15000);
	while (waitpid(host.pid, &st, 0) < 0 && errno == EINTR)
		;
	host.pid = -1;
	ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("plugin-host %s: survived cp, install and a broken build, every call answered by a whole "
	       "version%s\n", ok ? "exited 0" : "FAILED", ok ? "" : " (see above)");
out:
	stop(&host);
	stop(&naive);
	stop(&naive2);
	unlink(dst);
	rmdir(dir);
	return ok ? 0 : 1;
}
