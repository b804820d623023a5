/* plugin.c: `lifeline demo plugin`.
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
#include "cli/output.h"
#include "demo.h"

int demo_plugin(void)
{
	static const char *const names[] = { "plugin-host", "naive-host", "greeter-v1.so", "greeter-v2.so",
					     "greeter-v3.so", "greeter-undef.so" };
	char assets[6][4096], dir[] = "/tmp/lifeline-demo-plugin.XXXXXX", dst[256];
	struct demo_child host = DEMO_CHILD_INIT, naive = DEMO_CHILD_INIT, naive2 = DEMO_CHILD_INIT;
	char hostpid[16], naivepid[16];
	struct ll_install_result res;
	bool naive_died = false, ok = false;
	long t0;
	int st = 0, r;

	for (size_t i = 0; i < 6; i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "examples/plugin/%s", names[i]);
		if (demo_asset(rel, assets[i], sizeof(assets[i])) < 0) {
			out_error("demo", "plugin: %s not found: build the tree first (ninja -C build)", rel);
			return 1;
		}
	}
	if (!mkdtemp(dir)) {
		out_error("demo", "plugin: cannot set up: %s", strerror(errno));
		return 1;
	}
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

		if (demo_child_start(&host, hargv, true, false) < 0 || demo_child_start(&naive, nargv, false, false) < 0) {
			out_error("demo", "plugin: cannot start the example hosts: %s", strerror(errno));
			goto out;
		}
	}
	if (demo_child_follow(&host, "answered by v1", 15000) != 1 || demo_child_follow(&naive, "serving", 15000) != 1) {
		out_error("demo", "plugin: the example hosts did not start");
		goto out;
	}

	printf("\n%s1. cp greeter-v2.so %s%s   (rewrites the loaded file in place)\n", OUT_BOLD, dst, OUT_RESET);
	{
		char *cargv[] = { "cp", assets[3], dst, NULL };

		r = demo_run(cargv, -1);
		if (r != 0) {
			out_error("demo", "plugin: cp failed (status %d)", r);
			goto out;
		}
	}
	t0 = demo_now_ms();
	while (demo_now_ms() - t0 < 2000 && !naive_died) {
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
	if (demo_child_follow(&host, "answered by v2", 15000) != 1) {
		out_error("demo", "plugin: the host did not switch to version 2");
		goto out;
	}

	printf("\n%s2. lifeline install greeter-v3.so %s%s   (temp file, fsync, rename)\n", OUT_BOLD, dst,
	       OUT_RESET);
	printf("  (a second naive host is started on version 2 first)\n");
	{
		char *nargv[] = { assets[1], dst, NULL };

		if (demo_child_start(&naive2, nargv, false, false) < 0 || demo_child_follow(&naive2, "serving", 15000) != 1) {
			out_error("demo", "plugin: cannot start the second naive host");
			goto out;
		}
	}
	{
		char *iargv[] = { (char *)demo_cli, "install", assets[4], dst, NULL };

		r = demo_run(iargv, -1);
		if (r != 0) {
			out_error("demo", "plugin: lifeline install failed (status %d)", r);
			goto out;
		}
	}
	if (demo_child_follow(&host, "answered by v3", 15000) != 1) {
		out_error("demo", "plugin: the host did not switch to version 3");
		goto out;
	}
	printf("  The listing names the naive host only: plugin-host maps private snapshots, never %s.\n", dst);
	printf("\n  lifeline stale %d %d   (naive host, plugin-host)\n", (int)naive2.pid, (int)host.pid);
	snprintf(naivepid, sizeof(naivepid), "%d", (int)naive2.pid);
	snprintf(hostpid, sizeof(hostpid), "%d", (int)host.pid);
	{
		char *sargv[] = { (char *)demo_cli, "stale", naivepid, hostpid, NULL };

		r = demo_run(sargv, -1);
		if (r != 0) {
			out_error("demo", "plugin: lifeline stale failed (status %d)", r);
			goto out;
		}
	}
	demo_child_stop(&naive2);

	printf("\n%s3. cp greeter-undef.so %s%s   (a broken build: undefined symbol)\n", OUT_BOLD, dst,
	       OUT_RESET);
	{
		char *cargv[] = { "cp", assets[5], dst, NULL };

		r = demo_run(cargv, -1);
		if (r != 0) {
			out_error("demo", "plugin: cp failed (status %d)", r);
			goto out;
		}
	}
	if (demo_child_follow(&host, "REJECTED", 15000) != 1) {
		out_error("demo", "plugin: the host did not report the broken version");
		goto out;
	}
	usleep(300000);

	printf("\n%sStopping the host:%s\n", OUT_BOLD, OUT_RESET);
	close(host.in);
	host.in = -1;
	demo_child_follow(&host, NULL, 15000);
	while (waitpid(host.pid, &st, 0) < 0 && errno == EINTR)
		;
	host.pid = -1;
	ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("plugin-host %s: survived cp, install and a broken build, every call answered by a whole "
	       "version%s\n", ok ? "exited 0" : "FAILED", ok ? "" : " (see above)");
out:
	demo_child_stop(&host);
	demo_child_stop(&naive);
	demo_child_stop(&naive2);
	unlink(dst);
	rmdir(dir);
	return ok ? 0 : 1;
}
