/* cmd_upgrade.c: `lifeline upgrade PID`, ask a running lifeline service to
 * upgrade its binary, and say what happened. The asking and the waiting are
 * the library's (ll_upgrade_request() over the service's control socket);
 * this file parses options, waits for the old process to drain and exit
 * (its pidfd, bounded by --timeout), and formats (text, or JSON with
 * json-c). Exit 1 when the upgrade was rolled back or could not be asked. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/common.h"
#include "lifeline/upgrade.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/escape.h"
#include "cli/text.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define DEFAULT_TIMEOUT_S 30

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline upgrade [--json] [--exe FILE] [--timeout SEC] PID\n\n"
		"Asks the lifeline service PID (one that called ll_upgrade_control_open()) to\n"
		"start its new binary with its listening sockets, waits until the new process\n"
		"is ready and the old one has drained and exited, and prints what happened: the\n"
		"new PID, the descriptors handed over, the time to ready; or the rollback\n"
		"reason (the old process then serves on unchanged).\n\n"
		"  --exe FILE     the binary to start (default: the one /proc/PID/exe names on disk)\n"
		"  --timeout SEC  wait at most SEC seconds in all (default 30)\n"
		"  --json         JSON output\n"
		"  -h, --help     this help\n\n"
		"Exit status: 0 upgraded, 1 rolled back or refused (or PID is no lifeline\n"
		"service), 2 usage error.\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait at most timeout_ms for pid to end: 1 ended (and *ms how long it
 * took), 0 still running, -errno. */
static int wait_gone(int pidfd, int timeout_ms, uint64_t *ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	uint64_t t0 = now_ms();
	int r;

	if (pidfd < 0)
		return -ESRCH;
	r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
	*ms = now_ms() - t0;
	return r < 0 ? -errno : r;
}

static void print_text(pid_t pid, const struct ll_upgrade_status *st, int gone, uint64_t drain_ms)
{
	char e[4096];

	if (st->phase != LL_UPGRADE_READY) {
		printf("upgrade of %d: %srolled back%s (%s): %s\n", (int)pid, OUT_RED, OUT_RESET,
		       ll_upgrade_reason_name(st->reason), ll_esc(st->why, e, sizeof(e)));
		if (st->crash_report[0])
			printf("  crash report %s\n", ll_esc(st->crash_report, e, sizeof(e)));
		return;
	}
	printf("upgrade of %d: %sready%s\n", (int)pid, OUT_GREEN, OUT_RESET);
	printf("  new pid      %d (%s)\n", (int)st->new_pid, ll_esc(st->exe, e, sizeof(e)));
	printf("  descriptors  %u handed over%s%s\n", st->nfds, st->nfds ? ": " : "",
	       ll_esc(st->fdnames, e, sizeof(e)));
	printf("  state        %llu bytes\n", (unsigned long long)st->state_size);
	printf("  ready after  %.1f ms\n", (double)st->ready_us / 1000.0);
	if (gone == 1)
		printf("  old pid      %d drained and exited %llu ms after the new one was ready\n", (int)pid,
		       (unsigned long long)drain_ms);
	else
		printf("  old pid      %d %sstill draining%s when the wait ended\n", (int)pid, OUT_YELLOW,
		       OUT_RESET);
}

static int print_json(pid_t pid, const struct ll_upgrade_status *st, int gone, uint64_t drain_ms)
{
	json_object *o = json_object_new_object(), *fds = json_object_new_array();
	char names[sizeof(st->fdnames)], *save = NULL;

	snprintf(names, sizeof(names), "%s", st->fdnames);
	for (char *n = strtok_r(names, ":", &save); n; n = strtok_r(NULL, ":", &save))
		json_object_array_add(fds, json_object_new_string(n));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "phase", json_object_new_string(ll_upgrade_phase_name(st->phase)));
	json_object_object_add(o, "reason", json_object_new_string(ll_upgrade_reason_name(st->reason)));
	json_object_object_add(o, "error", json_object_new_int(st->error));
	json_object_object_add(o, "new_pid", json_object_new_int(st->new_pid));
	json_object_object_add(o, "exe", json_object_new_string(st->exe));
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "state_size", json_object_new_int64((int64_t)st->state_size));
	json_object_object_add(o, "ready_us", json_object_new_int64((int64_t)st->ready_us));
	if (st->reason == LL_UPGRADE_REASON_EXITED && WIFEXITED(st->wait_status))
		json_object_object_add(o, "exit_status", json_object_new_int(WEXITSTATUS(st->wait_status)));
	if (WIFSIGNALED(st->wait_status) && st->reason != LL_UPGRADE_REASON_NONE)
		json_object_object_add(o, "signal", json_object_new_int(WTERMSIG(st->wait_status)));
	json_object_object_add(o, "crash_report", json_object_new_string(st->crash_report));
	json_object_object_add(o, "old_exited", json_object_new_boolean(gone == 1));
	json_object_object_add(o, "drain_ms", json_object_new_int64(gone == 1 ? (int64_t)drain_ms : -1));
	json_object_object_add(o, "why", json_object_new_string(st->why));
	return out_json(o);
}

int cmd_upgrade(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "exe", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ll_upgrade_status st;
	const char *exe = NULL;
	uint64_t timeout_s = DEFAULT_TIMEOUT_S, drain_ms = 0, t0;
	bool json = false;
	char why[512], e[600];
	int c, r, pidfd, gone = 0, left;
	pid_t pid;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'e': exe = optarg; break;
		case 't':
			if (ll_parse_u64(optarg, 0, &timeout_s) < 0 || timeout_s == 0 || timeout_s > 3600) {
				out_error("upgrade", "invalid --timeout '%s': give seconds from 1 to 3600",
					  ll_esc(optarg, e, sizeof(e)));
				return LL_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return LL_EXIT_OK;
		default:
			return cli_opt_error("upgrade", c, argv, opts);
		}
	}
	if (optind + 1 != argc) {
		out_error("upgrade", "give exactly one PID; usage: lifeline upgrade [--json] [--exe FILE] "
				     "[--timeout SEC] PID");
		return LL_EXIT_USAGE;
	}
	if (ll_parse_pid(argv[optind], &pid) < 0) {
		out_error("upgrade", "invalid PID '%s': give a process id (a number > 0)",
			  ll_esc(argv[optind], e, sizeof(e)));
		return LL_EXIT_USAGE;
	}
	if (exe && exe[0] != '/') {
		out_error("upgrade", "--exe '%s' is not an absolute path: the service resolves it in its own "
				     "working directory; give the full path", ll_esc(exe, e, sizeof(e)));
		return LL_EXIT_USAGE;
	}
	/* the old process's pidfd before asking: its exit cannot be missed */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	t0 = now_ms();
	r = ll_upgrade_request(pid, exe, (int)(timeout_s * 1000), &st, why, sizeof(why));
	if (r < 0) {
		out_error("upgrade", "%s", ll_esc(why, e, sizeof(e)));
		if (pidfd >= 0)
			close(pidfd);
		return LL_EXIT_FAIL;
	}
	if (r == LL_UPGRADE_READY) {
		left = (int)(timeout_s * 1000 - (now_ms() - t0));
		gone = wait_gone(pidfd, left, &drain_ms);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (json)
		print_json(pid, &st, gone, drain_ms);
	else
		print_text(pid, &st, gone, drain_ms);
	return r == LL_UPGRADE_READY ? LL_EXIT_OK : LL_EXIT_FAIL;
}
