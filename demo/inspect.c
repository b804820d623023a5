/* inspect.c: the inspect part of `lifeline demo`.
 *
 * Starts the bundled examples/inspect/demo-target (a heap, a second thread,
 * a library of its own loaded with dlopen, a file mapped then deleted),
 * waits for its "ready" line, shows `lifeline maps` on it, checks through
 * the library that each of those is classified right, resolves two of the
 * function addresses it printed to module + ELF address, and hands them to
 * `lifeline symbolize --pid`. Then it stops the program. Returns 0 when all
 * of it worked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/inspect/maps.h"
#include "cli/output.h"
#include "demo.h"

#define READY_TIMEOUT_MS 10000

struct target {
	pid_t pid;
	int in_fd;
	char out[8192];
};

static int start_target(const char *exe, struct target *t)
{
	int in[2], out[2];
	size_t len = 0;

	t->pid = -1;
	t->in_fd = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in_fd = in[1];
	t->out[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = out[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, READY_TIMEOUT_MS) <= 0)
			break;
		n = read(out[0], t->out + len, sizeof(t->out) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		t->out[len] = '\0';
		if (strstr(t->out, "\nready\n") || len == sizeof(t->out) - 1)
			break;
	}
	close(out[0]);
	return strstr(t->out, "\nready\n") ? 0 : -EPROTO;
}

static void stop_target(struct target *t)
{
	if (t->in_fd >= 0)
		close(t->in_fd);
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

static uint64_t value(const struct target *t, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = t->out; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, klen) && l[klen] == '=')
			return strtoull(l + klen + 1, NULL, 0);
	return 0;
}

/* The thread stacks are found from sleeping threads' stack pointers: give
 * the target's threads a moment to go to sleep after "ready" (at most 2 s). */
static bool any_running(pid_t pid)
{
	char path[300], line[512];
	struct dirent *de;
	bool running = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!running && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f)) {
			const char *paren = strrchr(line, ')');

			running = paren && paren[1] == ' ' && paren[2] == 'R';
		}
		fclose(f);
	}
	closedir(d);
	return running;
}

static void wait_asleep(pid_t pid)
{
	for (int i = 0; i < 200 && any_running(pid); i++)
		usleep(10 * 1000);
}

static bool check_kind(const struct ll_maps *maps, const char *what, uint64_t addr,
		       enum ll_map_kind want, bool deleted)
{
	const struct ll_map *m = ll_maps_find(maps, addr);
	bool ok = m && m->kind == want && m->deleted == deleted;

	printf("  %s%-4s%s %-28s at %#" PRIx64 ": %s%s\n", ok ? OUT_GREEN : OUT_RED,
	       ok ? "ok" : "BAD", OUT_RESET, what, addr, m ? ll_map_kind_name(m->kind) : "unmapped",
	       m && m->deleted ? " (deleted)" : "");
	return ok;
}

static bool show_resolve(const struct ll_maps *maps, const char *name, uint64_t addr)
{
	struct ll_addr_info ai;
	int r = ll_maps_resolve(maps, addr, &ai);

	if (r < 0) {
		printf("  %s%s at %#" PRIx64 ": cannot resolve: %s%s\n", OUT_RED, name, addr,
		       strerror(-r), OUT_RESET);
		return false;
	}
	printf("  %-20s %#" PRIx64 " = %s + file offset %#" PRIx64 ", ELF address %#" PRIx64
	       " (load bias %#" PRIx64 ")\n",
	       name, addr, ai.path, ai.file_offset, ai.elf_addr, ai.load_bias);
	return true;
}

int demo_inspect(void)
{
	char exe[4096], pidstr[16], a1[32], a2[32];
	struct target t = { .pid = -1, .in_fd = -1 };
	struct ll_maps *maps = NULL;
	uint64_t fmain, flib;
	bool ok = true;
	int r;

	if (demo_asset("examples/inspect/demo-target", exe, sizeof(exe)) < 0) {
		out_error("demo", "examples/inspect/demo-target not found in the build tree or "
				  "the install; build it with 'ninja -C BUILD'");
		return 1;
	}
	r = start_target(exe, &t);
	if (r < 0) {
		out_error("demo", "%s did not start (%s); it printed: %s", exe, strerror(-r), t.out);
		stop_target(&t);
		return 1;
	}
	wait_asleep(t.pid);
	fmain = value(&t, "func demo_target_work");
	flib = value(&t, "func demo_lib_checksum");
	snprintf(pidstr, sizeof(pidstr), "%d", (int)t.pid);
	printf("demo-target (pid %d) has a [heap], a second thread, its own library loaded\n"
	       "with dlopen at a random base, and a file it mapped, then deleted.\n\n"
	       "%s$ lifeline maps %d%s\n", (int)t.pid, OUT_BOLD, (int)t.pid, OUT_RESET);
	{
		char *argv[] = { (char *)demo_cli, "maps", pidstr, NULL };

		if (demo_run(argv, -1) != 0)
			ok = false;
	}

	printf("%sChecking the classification through the library (ll_maps_read):%s\n", OUT_BOLD,
	       OUT_RESET);
	r = ll_maps_read(t.pid, 0, &maps);
	if (r < 0) {
		out_error("demo", "pid %d: reading its maps failed: %s", (int)t.pid, strerror(-r));
		ok = false;
	} else {
		ok &= check_kind(maps, "the heap", value(&t, "heap"), LL_MAP_HEAP, false);
		ok &= check_kind(maps, "the second thread's stack", value(&t, "thread_stack"),
				 LL_MAP_STACK, false);
		ok &= check_kind(maps, "the library's code", flib, LL_MAP_TEXT, false);
		ok &= check_kind(maps, "the deleted file", value(&t, "deleted_file"), LL_MAP_FILE,
				 true);
		printf("\n%sTwo function addresses it printed, resolved to their modules "
		       "(ll_maps_resolve):%s\n", OUT_BOLD, OUT_RESET);
		ok &= show_resolve(maps, "demo_target_work", fmain);
		ok &= show_resolve(maps, "demo_lib_checksum", flib);
	}
	ll_maps_free(maps);

	snprintf(a1, sizeof(a1), "%#" PRIx64, fmain);
	snprintf(a2, sizeof(a2), "%#" PRIx64, flib);
	printf("\n%s$ lifeline symbolize --pid %d %s %s%s\n", OUT_BOLD, (int)t.pid, a1, a2,
	       OUT_RESET);
	fflush(stdout);
	{
		char *argv[] = { (char *)demo_cli, "symbolize", "--pid", pidstr, a1, a2, NULL };

		r = demo_run(argv, -1);
		if (r != 0) {
			printf("%s(lifeline symbolize answered with wait status %#x)%s\n", OUT_RED, (unsigned)r,
			       OUT_RESET);
			ok = false;
		}
	}
	stop_target(&t);
	printf("\nStopped demo-target (pid %d).\n", (int)t.pid);
	return ok ? 0 : 1;
}
