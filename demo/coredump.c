/* coredump.c: `lifeline demo coredump`: the core_pattern helper on a
 * real crash.
 *
 * Points core_pattern at the lifeline program (demo_cli) with a temporary store (the
 * previous core_pattern and core_pipe_limit are saved by the install and put
 * back afterwards, on every path; SIGINT/SIGTERM/SIGHUP are held meanwhile so
 * an interrupt cannot leave the machine pointing at a deleted store),
 * crashes examples/coredump/crasher, then shows `lifeline cores list` and
 * `lifeline cores info` for it. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/output.h"
#include "demo.h"
#include "lifeline/store.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Run the crasher with core dumps enabled; returns its wait status. */
static int crash(const char *crasher)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setrlimit(RLIMIT_CORE, &rl);
		setenv("ASAN_OPTIONS", "disable_coredump=0:handle_segv=0:detect_leaks=0", 1);
		execl(crasher, crasher, "segv", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

int demo_coredump(void)
{
	char crasher[PATH_MAX], self[PATH_MAX], dir[] = "/tmp/lifeline-demo-coredump-XXXXXX";
	char store[sizeof(dir) + 8];
	struct ll_coredump_install_opts io = { 0 };
	sigset_t hold, old;
	int r, status, rc = 1;

	if (geteuid() != 0) {
		printf("The coredump demo sets kernel.core_pattern: run it as root.\n");
		return 1;
	}
	if (demo_asset("examples/coredump/crasher", crasher, sizeof(crasher)) < 0) {
		out_error("demo", "examples/coredump/crasher not found: build it (ninja) or install lifeline");
		return 1;
	}
	if (!realpath(demo_cli, self) || !mkdtemp(dir)) {
		out_error("demo", "cannot set up a temporary store: %s", strerror(errno));
		return 1;
	}
	chmod(dir, 0755);
	snprintf(store, sizeof(store), "%s/store", dir);
	io.helper = self;
	io.store = store;
	io.sysctl_d = "";

	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigprocmask(SIG_BLOCK, &hold, &old);
	r = ll_coredump_install(&io);
	if (r < 0) {
		out_error("demo", "setting core_pattern: %s", strerror(-r));
		goto out;
	}
	printf("core_pattern now points at %s with the store %s\n", self, store);
	printf("$ %s segv     # dereferences NULL in parse_record()\n", crasher);
	status = crash(crasher);
	r = ll_coredump_uninstall(&io);
	if (r < 0)
		out_error("demo", "restoring core_pattern: %s (check /proc/sys/kernel/core_pattern)",
			  strerror(-r));
	else
		printf("core_pattern restored\n");
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (status < 0 || !WIFSIGNALED(status)) {
		out_error("demo", "the crasher did not crash (status %d)", status);
		goto out;
	}
	printf("crasher: killed by signal %d%s\n\n", WTERMSIG(status),
	       WCOREDUMP(status) ? " (core dumped)" : "");
	{
		struct ll_store_list l = { 0 };
		int storefd = -1;

		if (ll_store_open(store, false, &storefd) == 0) {
			ll_store_list(storefd, &l);
			close(storefd);
		}
		if (l.n == 0) {
			out_error("demo", "no record arrived in %s: was core_pattern changed by another "
				  "program during the demo? Run it again", store);
			ll_store_list_free(&l);
			goto out;
		}
		ll_store_list_free(&l);
	}
	{
		char *list[] = { self, "cores", "list", "--store", store, NULL };
		char *info[] = { self, "cores", "info", "--store", store, NULL };

		printf("$ lifeline cores list --store %s\n", store);
		if (demo_run(list, -1) != 0)
			goto out;
		printf("\n$ lifeline cores info --store %s\n", store);
		if (demo_run(info, -1) != 0)
			goto out;
	}
	rc = 0;
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
