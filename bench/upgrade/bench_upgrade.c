/* bench_upgrade.c: the example server upgraded N times under steady load,
 * against the peer, a plain stop-then-start restart, in the same run.
 *
 * Load: loadgen (8 keep-alive connections as fast as they go, plus one
 * thread opening a new connection per request). Latencies are counted as
 * "during" from the moment an upgrade (or restart) is asked for until the
 * old process has exited (or the new one serves, for the restart), and as
 * "outside" in the pauses between them.
 *
 *  lifeline: ll_upgrade_request() (what `lifeline upgrade` does) to the
 *            other binary (v1 <-> v2); time to ready (the library's own
 *            measure, from ll_upgrade_start) and from the start to the old
 *            process's exit (drain included).
 *  peer:     SIGTERM the server, wait for it, start the next one on the same
 *            port, wait until it serves: the outage window.
 * Prints requests/s during vs outside, p99 and max latency, failed
 * requests and refused connects of each, and the ratios.
 * Usage: bench_upgrade EXAMPLES_DIR [ROUNDS] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "lifeline/upgrade.h"
#include "loadgen.h"

#define PAUSE_MS 150

static struct lg g;
static char dir[2048];

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

/* Start DIR/name --port port with stdout into *out; wait for its
 * "serving" line (10 s). Returns its pid or -1; *served_us the time. */
static pid_t start_server(const char *name, int port, int *out, uint16_t *bound, uint64_t *served_us)
{
	char path[4096], portarg[16], line[256];
	char *argv[] = { path, "--port", portarg, NULL };
	struct ll_spawn_fd map[1];
	struct ll_spawn_opts o = { .fds = map, .nfds = 1 };
	uint64_t t0 = now_us();
	size_t n = 0;
	int p[2], got = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(portarg, sizeof(portarg), "%d", port);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	map[0] = (struct ll_spawn_fd){ p[1], 1 };
	if (ll_spawn(argv, &o, &pid, NULL) < 0)
		return -1;
	close(p[1]);
	while (n + 1 < sizeof(line)) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		if (poll(&pf, 1, 10000) != 1 || read(p[0], line + n, 1) != 1)
			break;
		if (line[n] == '\n') {
			line[n] = '\0';
			got = sscanf(line, "serving pid=%*d port=%d", &port) == 1;
			break;
		}
		n++;
	}
	*served_us = now_us() - t0;
	*out = p[0];
	*bound = (uint16_t)port;
	return got ? pid : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct run {
	uint64_t during_us, outside_us;
	struct lg_stats st;
	uint64_t *a, *b; /* per round: time to ready (lifeline) / outage; start to old exit */
	int rounds;
};

static void mark(int during, uint64_t *since, struct run *r)
{
	uint64_t t = now_us();

	if (during)
		r->outside_us += t - *since;
	else
		r->during_us += t - *since;
	*since = t;
	lg_mark(&g, during);
}

static int run_lifeline(int rounds, struct run *r, uint64_t *cold_start_us)
{
	uint64_t since;
	uint16_t port;
	int out;
	pid_t cur = start_server("upgrade-server", 0, &out, &port, cold_start_us);

	if (cur < 0 || lg_start(&g, port, 8) < 0)
		return -1;
	sleep_ms(500);
	since = now_us();
	lg_mark(&g, 0);
	for (int i = 0; i < rounds; i++) {
		struct ll_upgrade_status us;
		char exe[4096], why[512];
		int pidfd = (int)syscall(SYS_pidfd_open, cur, 0);
		uint64_t t0;
		struct pollfd pf = { .fd = pidfd, .events = POLLIN };

		sleep_ms(PAUSE_MS);
		mark(1, &since, r);
		t0 = now_us();
		snprintf(exe, sizeof(exe), "%s/%s", dir, i % 2 ? "upgrade-server" : "upgrade-server-v2");
		if (ll_upgrade_request(cur, exe, 15000, &us, why, sizeof(why)) != LL_UPGRADE_READY) {
			fprintf(stderr, "bench_upgrade: round %d: %s\n", i, why);
			return -1;
		}
		poll(&pf, 1, 10000);
		r->a[i] = us.ready_us;
		r->b[i] = now_us() - t0;
		close(pidfd);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		mark(0, &since, r);
		cur = us.new_pid;
	}
	sleep_ms(PAUSE_MS);
	mark(1, &since, r);
	lg_stop(&g);
	lg_snapshot(&g, &r->st);
	kill(cur, SIGTERM);
	while (waitpid(-1, NULL, 0) > 0)
		;
	close(out);
	r->rounds = rounds;
	return port;
}

static int run_peer(int rounds, int port, struct run *r)
{
	uint64_t since, served;
	uint16_t bound;
	int out;
	pid_t cur = start_server("upgrade-server", port, &out, &bound, &served);

	if (cur < 0 || lg_start(&g, bound, 8) < 0)
		return -1;
	sleep_ms(500);
	since = now_us();
	lg_mark(&g, 0);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0;

		sleep_ms(PAUSE_MS);
		mark(1, &since, r);
		t0 = now_us();
		kill(cur, SIGTERM);
		waitpid(cur, NULL, 0);
		close(out);
		cur = start_server(i % 2 ? "upgrade-server" : "upgrade-server-v2", bound, &out, &bound, &served);
		if (cur < 0) {
			fprintf(stderr, "bench_upgrade: restart %d: the server did not start\n", i);
			return -1;
		}
		r->a[i] = now_us() - t0; /* outage: stop asked .. new one serves */
		r->b[i] = served;
		mark(0, &since, r);
	}
	sleep_ms(PAUSE_MS);
	mark(1, &since, r);
	lg_stop(&g);
	lg_snapshot(&g, &r->st);
	kill(cur, SIGTERM);
	waitpid(cur, NULL, 0);
	close(out);
	r->rounds = rounds;
	return 0;
}

static void report(const char *name, const struct run *r)
{
	const struct lg_hist *in = &r->st.lat[1], *out = &r->st.lat[0];

	printf("%s:\n", name);
	printf("  requests/s outside %.0f, during %.0f (%.2fx)\n", (double)out->n * 1e6 / (double)r->outside_us,
	       (double)in->n * 1e6 / (double)r->during_us,
	       ((double)in->n / (double)r->during_us) / ((double)out->n / (double)r->outside_us));
	printf("  latency outside p99 %.2f ms, max %.2f ms; during p99 %.2f ms, max %.2f ms (p99 ratio %.2fx)\n",
	       (double)lg_percentile(out, 99) / 1000.0, (double)out->max_us / 1000.0,
	       (double)lg_percentile(in, 99) / 1000.0, (double)in->max_us / 1000.0,
	       (double)lg_percentile(in, 99) / (double)lg_percentile(out, 99));
	printf("  %llu requests answered, %llu failed, %llu connects refused, %llu connections opened\n",
	       (unsigned long long)r->st.ok, (unsigned long long)r->st.failed, (unsigned long long)r->st.refused,
	       (unsigned long long)r->st.connects);
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 100, port;
	struct run lr = { 0 }, pr = { 0 };
	uint64_t cold;

	if (argc < 2 || rounds < 1 || rounds > 10000) {
		fprintf(stderr, "usage: bench_upgrade EXAMPLES_DIR [ROUNDS]\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	lr.a = calloc((size_t)rounds, 8);
	lr.b = calloc((size_t)rounds, 8);
	pr.a = calloc((size_t)rounds, 8);
	pr.b = calloc((size_t)rounds, 8);
	if (!lr.a || !lr.b || !pr.a || !pr.b)
		return 1;
	printf("== %d upgrades of upgrade-server under load (8 keep-alive connections + new ones)\n", rounds);
	port = run_lifeline(rounds, &lr, &cold);
	if (port < 0)
		return 1;
	printf("== peer: %d stop-then-start restarts of the same server on the same port\n", rounds);
	if (run_peer(rounds, port, &pr) < 0)
		return 1;
	qsort(lr.a, (size_t)rounds, 8, cmp_u64);
	qsort(lr.b, (size_t)rounds, 8, cmp_u64);
	qsort(pr.a, (size_t)rounds, 8, cmp_u64);
	qsort(pr.b, (size_t)rounds, 8, cmp_u64);
	printf("\n");
	report("lifeline upgrade", &lr);
	printf("  time to ready (ll_upgrade_start .. READY): median %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       (double)lr.a[rounds / 2] / 1000.0, (double)lr.a[(rounds * 99) / 100] / 1000.0,
	       (double)lr.a[rounds - 1] / 1000.0);
	printf("  start .. old process exited (drained): median %.2f ms, max %.2f ms\n",
	       (double)lr.b[rounds / 2] / 1000.0, (double)lr.b[rounds - 1] / 1000.0);
	report("peer: stop-then-start", &pr);
	printf("  outage window (stop .. new one serves): median %.2f ms, max %.2f ms\n",
	       (double)pr.a[rounds / 2] / 1000.0, (double)pr.a[rounds - 1] / 1000.0);
	printf("  the server's own start time (spawn .. serving): median %.2f ms\n", (double)pr.b[rounds / 2] / 1000.0);
	printf("\nfailed requests + refused connects: lifeline %llu, peer %llu (goal: 0 for lifeline): %s\n",
	       (unsigned long long)(lr.st.failed + lr.st.refused), (unsigned long long)(pr.st.failed + pr.st.refused),
	       lr.st.failed + lr.st.refused == 0 ? "met" : "NOT met");
	printf("p99 during / p99 outside an upgrade: %.2fx (goal <= 2x): %s\n",
	       (double)lg_percentile(&lr.st.lat[1], 99) / (double)lg_percentile(&lr.st.lat[0], 99),
	       lg_percentile(&lr.st.lat[1], 99) <= 2 * lg_percentile(&lr.st.lat[0], 99) ? "met" : "NOT met");
	printf("time to ready, median: %.2f ms = the server's own start %.2f ms + %.2f ms (goal: + <= 50 ms): %s\n",
	       (double)lr.a[rounds / 2] / 1000.0, (double)pr.b[rounds / 2] / 1000.0,
	       ((double)lr.a[rounds / 2] - (double)pr.b[rounds / 2]) / 1000.0,
	       lr.a[rounds / 2] <= pr.b[rounds / 2] + 50000 ? "met" : "NOT met");
	(void)cold;
	return 0;
}
