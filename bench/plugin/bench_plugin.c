/* bench_plugin.c: what lifeline's plugin host costs (not a test).
 *
 * 1. Call overhead, one thread, rounds interleaved, best kept: the same
 *    trivial plugin function (number(): returns a constant) called
 *    (a) through a plain function pointer, (b) through ll_plugin_enter /
 *    call / ll_plugin_leave, out of line, and (c) inlined with
 *    LL_PLUGIN_INLINE_CALLS, and, for scale, (d) under liburcu's urcu-memb
 *    read lock (the flavour that needs registered threads), (e) under a
 *    pthread rwlock read lock and (f) under a pthread mutex (what hosts usually guard a
 *    swappable table with). Ratios against (a); goal <= 1.2x. Then the same
 *    for a function doing a little work (answer(): one atomic add).
 * 2. Reload latency while 2 threads (BENCH_CALLERS) call without pause:
 *    from rename() of a new version over the watched file to the first call
 *    answered by the new code, and to the publication of the new table;
 *    p50, p99 and max. Goal p99 <= 5 ms.
 * 3. The rename storm (bench_storm.c): versions retired per second, peak
 *    descriptors, close time; against a naive dlopen/dlclose host.
 *
 * usage: bench-plugin EXAMPLES_DIR [CALLS] [RELOADS] */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lifeline/plugin.h>

#include "../../examples/plugin/greeter.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[9000];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench-plugin: %s failed\n", cmd);
		exit(1);
	}
}

static struct ll_plugin *plugin;
static atomic_bool stop;
static atomic_int expect;
static _Atomic double first_seen, published;

static void on_event(const struct ll_plugin_event *ev, void *ud)
{
	(void)ud;
	if (ev->kind == LL_PLUGIN_EV_LOADED)
		atomic_store(&published, now_ns());
}
static atomic_ulong calls;

static void *caller(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		const struct greeter_api *api = ll_plugin_enter(plugin);
		int n = api->number();

		ll_plugin_leave(plugin);
		if (n == atomic_load_explicit(&expect, memory_order_relaxed) && atomic_load(&first_seen) == 0) {
			double zero = 0;

			atomic_compare_exchange_strong(&first_seen, &zero, now_ns());
		}
		atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	}
	return NULL;
}

double bench_run_inline(struct ll_plugin *p, long n);
int bench_storm(const char *dir, const char *v1, const char *v3, int renames);
double bench_run_memb(int (*const volatile *fn)(void), long n);

static double run_inline(long n)
{
	return bench_run_inline(plugin, n);
}

static int (*volatile direct_fn)(void);
static const struct greeter_api *volatile direct_table;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long sink;

static double run_direct(long n)
{
	double t0 = now_ns();
	long s = 0;

	for (long i = 0; i < n; i++)
		s += direct_fn();
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static double run_ll(long n)
{
	double t0 = now_ns();
	long s = 0;

	for (long i = 0; i < n; i++) {
		const struct greeter_api *api = ll_plugin_enter(plugin);

		s += api->number();
		ll_plugin_leave(plugin);
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static double run_memb(long n)
{
	return bench_run_memb(&direct_fn, n);
}

static double run_direct_answer(long n)
{
	double t0 = now_ns();
	long s = 0;

	for (long i = 0; i < n; i++)
		s += direct_table->answer(i);
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static double run_ll_answer(long n)
{
	double t0 = now_ns();
	long s = 0;

	for (long i = 0; i < n; i++) {
		const struct greeter_api *api = ll_plugin_enter(plugin);

		s += api->answer(i);
		ll_plugin_leave(plugin);
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static double run_rwlock(long n)
{
	double t0 = now_ns();
	long s = 0;

	for (long i = 0; i < n; i++) {
		pthread_rwlock_rdlock(&rw);
		s += direct_fn();
		pthread_rwlock_unlock(&rw);
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static double run_mutex(long n)
{
	double t0 = now_ns();
	long s = 0;

	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		s += direct_fn();
		pthread_mutex_unlock(&mu);
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	struct ll_plugin_opts opts = {
		.name = GREETER_NAME, .abi = GREETER_ABI, .flags = LL_PLUGIN_WATCH, .on_event = on_event,
	};
	char dir[] = "/tmp/lifeline-bench-plugin.XXXXXX", cur[256], tmp[256], v1[4096], v3[4096], err[512];
	long ncalls = argc > 2 ? atol(argv[2]) : 50000000L;
	int nreloads = argc > 3 ? atoi(argv[3]) : 300, missed = 0;
	int ncallers = getenv("BENCH_CALLERS") ? atoi(getenv("BENCH_CALLERS")) : 2;

	if (ncallers < 1 || ncallers > 8)
		ncallers = 2;
	double *lat, *pub, direct, ll, inl, memb, rwl, mtx, da, la;
	const struct greeter_api *api;
	pthread_t th[8];

	if (argc < 2) {
		fprintf(stderr, "usage: bench-plugin EXAMPLES_DIR [CALLS] [RELOADS]\n");
		return 2;
	}
	snprintf(v1, sizeof(v1), "%s/greeter-v1.so", argv[1]);
	snprintf(v3, sizeof(v3), "%s/greeter-v3.so", argv[1]);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cur, sizeof(cur), "%s/greeter.so", dir);
	snprintf(tmp, sizeof(tmp), "%s/greeter.so.new", dir);
	copy_file(v1, cur);
	if (ll_plugin_open(cur, &opts, &plugin, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-plugin: %s\n", err);
		return 1;
	}

	/* 1. call overhead */
	api = ll_plugin_enter(plugin);
	direct_fn = api->number;
	direct_table = api;
	ll_plugin_leave(plugin);
	run_direct(ncalls / 10); /* warm up */
	run_ll(ncalls / 10);
	/* Rounds interleaved, best of each kept: drift on a shared machine
	 * hits every kind alike. */
	direct = ll = inl = memb = rwl = mtx = da = la = 1e30;
	for (int r = 0; r < 7; r++) {
		direct = fmin(direct, run_direct(ncalls));
		ll = fmin(ll, run_ll(ncalls));
		inl = fmin(inl, run_inline(ncalls));
		memb = fmin(memb, run_memb(ncalls));
		rwl = fmin(rwl, run_rwlock(ncalls / 5));
		mtx = fmin(mtx, run_mutex(ncalls / 5));
		da = fmin(da, run_direct_answer(ncalls / 2));
		la = fmin(la, run_ll_answer(ncalls / 2));
	}
	printf("call overhead (one thread, trivial plugin function, best of 7 interleaved rounds of %ld calls)\n",
	       ncalls);
	printf("  direct function pointer        %6.2f ns/call   1.00x\n", direct);
	printf("  ll_plugin_enter/call/leave     %6.2f ns/call   %.2fx   (goal <= 1.2x)\n", ll, ll / direct);
	printf("  same, LL_PLUGIN_INLINE_CALLS   %6.2f ns/call   %.2fx\n", inl, inl / direct);
	printf("  urcu-memb read lock + call     %6.2f ns/call   %.2fx   (needs rcu_register_thread)\n", memb,
	       memb / direct);
	printf("  pthread_rwlock_rdlock + call   %6.2f ns/call   %.2fx\n", rwl, rwl / direct);
	printf("  pthread_mutex_lock + call      %6.2f ns/call   %.2fx\n", mtx, mtx / direct);
	printf("a function doing a little work (answer(): one atomic add)\n");
	printf("  table->answer(), no lifeline   %6.2f ns/call   1.00x\n", da);
	printf("  ll_plugin_enter/call/leave     %6.2f ns/call   %.2fx\n", la, la / da);

	/* 2. reload latency under load */
	lat = calloc((size_t)nreloads, sizeof(*lat));
	pub = calloc((size_t)nreloads, sizeof(*pub));
	for (int i = 0; i < ncallers; i++)
		pthread_create(&th[i], NULL, caller, NULL);
	usleep(100000);
	for (int i = 0; i < nreloads; i++) {
		int want = i % 2 ? 1 : 3;
		double t0, deadline;

		copy_file(want == 1 ? v1 : v3, tmp);
		atomic_store(&first_seen, 0);
		atomic_store(&published, 0);
		atomic_store(&expect, want);
		t0 = now_ns();
		if (rename(tmp, cur) < 0) {
			perror("rename");
			return 1;
		}
		deadline = t0 + 2e9;
		while (atomic_load(&first_seen) == 0 && now_ns() < deadline)
			usleep(1000); /* not part of the measure: poll gently */
		if (atomic_load(&first_seen) == 0) {
			missed++;
			lat[i] = 2e9;
		} else {
			lat[i] = atomic_load(&first_seen) - t0;
		}
		pub[i] = atomic_load(&published) ? atomic_load(&published) - t0 : lat[i];
		usleep(5000); /* let the old version retire */
	}
	atomic_store(&stop, true);
	for (int i = 0; i < ncallers; i++)
		pthread_join(th[i], NULL);
	qsort(lat, (size_t)nreloads, sizeof(*lat), cmp_double);
	qsort(pub, (size_t)nreloads, sizeof(*pub), cmp_double);
	printf("reload latency, rename() -> first call answered by the new version, %d threads calling\n",
	       ncallers);
	printf("  %d reloads: p50 %.2f ms, p99 %.2f ms (goal <= 5 ms), max %.2f ms%s\n", nreloads,
	       lat[nreloads / 2] / 1e6, lat[(nreloads * 99) / 100] / 1e6, lat[nreloads - 1] / 1e6,
	       missed ? " (some reloads never answered!)" : "");
	printf("  of which rename() -> new table published: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       pub[nreloads / 2] / 1e6, pub[(nreloads * 99) / 100] / 1e6, pub[nreloads - 1] / 1e6);
	printf("  %lu calls served meanwhile\n", atomic_load(&calls));
	{
		struct ll_plugin_status st;

		ll_plugin_status(plugin, &st);
		printf("  host status: version %u, %u loads, %u rejected, %u still mapped\n", st.version, st.loads_ok,
		       st.loads_failed, st.still_mapped);
	}
	ll_plugin_close(plugin);
	unlink(cur);
	/* 3. the rename storm */
	if (bench_storm(dir, v1, v3, getenv("STORM") ? atoi(getenv("STORM")) : 6000) < 0)
		missed++;
	rmdir(dir);
	free(lat);
	free(pub);
	return missed ? 1 : 0;
}
