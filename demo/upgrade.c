/* upgrade.c: `lifeline demo upgrade`, a whole binary replaced under
 * load without one failed connection.
 *
 * The example HTTP/1.1 keep-alive server (examples/upgrade/upgrade-server,
 * v1) serves on a loopback port while the load client (upgrade-load) keeps
 * 8 connections busy and opens new ones. The server is asked, as `lifeline
 * upgrade PID --exe FILE` does, to upgrade to v2 (ready: v1 drains and
 * exits), then to a broken v3 that exits at start (rolled back), then to a
 * v4 that crashes before it is ready (rolled back). The load client then
 * reports its failed connections and which versions answered. The part
 * passes when the three outcomes are as described and nothing failed. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "lifeline/upgrade.h"
#include "cli/output.h"
#include "demo.h"

struct step {
	const char *asset;
	const char *what;
	enum ll_upgrade_phase expect;
};

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int run_steps(pid_t *server, const struct step *steps, size_t n)
{
	int good = 0;

	for (size_t i = 0; i < n; i++) {
		struct ll_upgrade_status st;
		char exe[4096], why[512];
		int r;

		if (demo_asset(steps[i].asset, exe, sizeof(exe)) < 0) {
			printf("  %s is not built\n", steps[i].asset);
			continue;
		}
		printf("%slifeline upgrade %d --exe .../%s%s  (%s)\n", OUT_BOLD, (int)*server,
		       strrchr(steps[i].asset, '/') + 1, OUT_RESET, steps[i].what);
		fflush(stdout);
		r = ll_upgrade_request(*server, exe, 15000, &st, why, sizeof(why));
		if (r == LL_UPGRADE_READY) {
			printf("  %sready%s: new pid %d after %.1f ms, descriptors handed over: %s\n", OUT_GREEN,
			       OUT_RESET, (int)st.new_pid, (double)st.ready_us / 1000.0, st.fdnames);
			for (int t = 0; t < 1000 && kill(*server, 0) == 0; t++) {
				reap_all();
				usleep(10000);
			}
			printf("  old pid %d drained its connections and %s\n", (int)*server,
			       kill(*server, 0) == 0 ? "is still running" : "exited");
			*server = st.new_pid;
		} else if (r == LL_UPGRADE_ROLLED_BACK) {
			printf("  %srolled back%s (%s): %s\n", OUT_YELLOW, OUT_RESET, ll_upgrade_reason_name(st.reason),
			       st.why);
		} else {
			printf("  %sfailed%s: %s\n", OUT_RED, OUT_RESET, why);
		}
		good += r == (int)steps[i].expect;
	}
	return good;
}

int demo_upgrade(void)
{
	static const struct step steps[] = {
		{ "examples/upgrade/upgrade-server-v2", "a good v2", LL_UPGRADE_READY },
		{ "examples/upgrade/upgrade-server-v3-exit", "a broken v3: exits 1 at start", LL_UPGRADE_ROLLED_BACK },
		{ "examples/upgrade/upgrade-server-v4-crash", "a broken v4: crashes before it is ready",
		  LL_UPGRADE_ROLLED_BACK },
	};
	char server_exe[4096], load_exe[4096], line[256], port[16], result[4096] = "";
	char *sargv[] = { server_exe, "--port", "0", NULL };
	char *largv[] = { load_exe, "--port", port, "--conns", "8", "--duration-ms", "60000", NULL };
	struct demo_child srv = DEMO_CHILD_INIT, ld = DEMO_CHILD_INIT;
	pid_t server = 0;
	int p = 0, good, ok = 0;
	json_object *res = NULL, *v;
	long failed = -1, refused = -1;

	if (demo_asset("examples/upgrade/upgrade-server", server_exe, sizeof(server_exe)) < 0 ||
	    demo_asset("examples/upgrade/upgrade-load", load_exe, sizeof(load_exe)) < 0) {
		out_error("demo", "upgrade: examples/upgrade is not built");
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* the versions that outlive their parent come back to us */
	if (demo_child_start(&srv, sargv, false, true) < 0 ||
	    demo_child_expect(&srv, "serving pid=", 5000, line, sizeof(line)) != 1 ||
	    sscanf(line, "serving pid=%*d port=%d", &p) != 1) {
		out_error("demo", "upgrade: the example server did not start");
		goto out;
	}
	server = srv.pid;
	snprintf(port, sizeof(port), "%d", p);
	printf("upgrade-server v1 (pid %d) serves HTTP/1.1 on 127.0.0.1:%d; a load client keeps 8\n"
	       "keep-alive connections busy and opens new ones all the time.\n\n", (int)server, p);
	if (demo_child_start(&ld, largv, false, false) < 0) {
		out_error("demo", "upgrade: the load client did not start");
		goto out;
	}
	usleep(300 * 1000);
	good = run_steps(&server, steps, sizeof(steps) / sizeof(steps[0]));
	usleep(300 * 1000);
	kill(ld.pid, SIGTERM);
	demo_child_expect(&ld, "{", 10000, result, sizeof(result));
	res = json_tokener_parse(result);
	if (res && json_object_object_get_ex(res, "failed", &v))
		failed = json_object_get_int64(v);
	if (res && json_object_object_get_ex(res, "refused", &v))
		refused = json_object_get_int64(v);
	printf("\nload client: %s requests answered, %ld failed, %ld connects refused; answered by",
	       res && json_object_object_get_ex(res, "ok", &v) ? json_object_get_string(v) : "?", failed, refused);
	if (res && json_object_object_get_ex(res, "versions", &v)) {
		json_object_object_foreach(v, ver, count)
			printf(" %s: %s", ver, json_object_get_string(count));
	}
	printf("\n");
	ok = good == (int)(sizeof(steps) / sizeof(steps[0])) && failed == 0 && refused == 0;
	printf("%s\n", ok ? "v1 replaced by v2 under load, two broken versions rolled back: not one request lost."
			  : "Something did not go as described above.");
out:
	json_object_put(res);
	demo_child_stop(&ld);
	if (server > 0)
		kill(server, SIGTERM);
	srv.pid = -1; /* the first version is gone, or reaped below */
	demo_child_stop(&srv);
	for (int t = 0; t < 500 && waitpid(-1, NULL, WNOHANG) >= 0; t++)
		usleep(10000);
	return ok ? 0 : 1;
}
