/* bench_storm.c: the rename storm of issue 17 as a measure (not a test).
 *
 * RENAMES renames of alternating versions over a watched plugin, about 1 ms
 * apart, while 2 threads call it: versions loaded and retired, retired per
 * second, peak descriptors and memfds of the process (sampled from
 * /proc/self/fd every 50 renames), and how long ll_plugin_close() takes
 * right after the storm. Peer, same run: a naive host that dlopen()s and
 * dlclose()s each version synchronously (no snapshot, no check, no grace
 * period), versions per second. */
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lifeline/plugin.h>

#include "../../examples/plugin/greeter.h"

static atomic_uint retired;
static atomic_bool stop;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void count_fds(int *all, int *memfds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char target[64];

	*all = *memfds = 0;
	while (d && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		(*all)++;
		n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', !strncmp(target, "/memfd:", 7)))
			(*memfds)++;
	}
	if (d)
		closedir(d);
	(*all)--; /* the directory's own descriptor */
}

static void on_event(const struct ll_plugin_event *ev, void *ud)
{
	(void)ud;
	if (ev->kind == LL_PLUGIN_EV_UNLOADED)
		atomic_fetch_add(&retired, 1);
}

static void *call_loop(void *arg)
{
	struct ll_plugin *p = arg;
	volatile long sink = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		const struct greeter_api *api = ll_plugin_enter(p);

		sink += api->answer(1);
		ll_plugin_leave(p);
	}
	(void)sink;
	return NULL;
}

/* The peer: dlopen + dlclose of each version, synchronously. */
static double naive_rate(const char *a, const char *b, int n)
{
	double t0 = now_s();

	for (int i = 0; i < n; i++) {
		void *h = dlopen(i % 2 ? a : b, RTLD_NOW | RTLD_LOCAL);

		if (!h) {
			fprintf(stderr, "bench-plugin: naive dlopen: %s\n", dlerror());
			return 0;
		}
		dlclose(h);
	}
	return n / (now_s() - t0);
}

int bench_storm(const char *dir, const char *v1, const char *v3, int renames)
{
	struct ll_plugin_opts o = {
		.name = GREETER_NAME, .abi = GREETER_ABI, .flags = LL_PLUGIN_WATCH, .on_event = on_event,
	};
	char cur[512], a[512], b[512], tmp[600], cmd[2048], err[512];
	int fds0, memfds0, peak_fds = 0, peak_memfds = 0;
	struct ll_plugin_status st;
	struct ll_plugin *p;
	pthread_t th[2];
	double t0, t_storm, t_close, naive;

	snprintf(cur, sizeof(cur), "%s/storm.so", dir);
	snprintf(a, sizeof(a), "%s/storm-a.so", dir);
	snprintf(b, sizeof(b), "%s/storm-b.so", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", cur);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s' && cp '%s' '%s'", v1, a, v3, b, v1, cur);
	if (system(cmd) != 0)
		return -1;
	count_fds(&fds0, &memfds0);
	if (ll_plugin_open(cur, &o, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-plugin: %s\n", err);
		return -1;
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, call_loop, p);
	t0 = now_s();
	for (int i = 0; i < renames; i++) {
		if (link(i % 2 ? a : b, tmp) < 0 || rename(tmp, cur) < 0) {
			perror("bench-plugin: storm");
			return -1;
		}
		usleep(1000);
		if (i % 50 == 0) {
			int f, m;

			count_fds(&f, &m);
			peak_fds = f > peak_fds ? f : peak_fds;
			peak_memfds = m > peak_memfds ? m : peak_memfds;
		}
	}
	t_storm = now_s() - t0;
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ll_plugin_status(p, &st);
	t0 = now_s();
	ll_plugin_close(p);
	t_close = now_s() - t0;
	naive = naive_rate(a, b, (int)st.loads_ok);
	printf("rename storm: %d renames ~1 ms apart in %.1f s, 2 threads calling\n", renames, t_storm);
	printf("  %u versions loaded (coalesced), %u retired during the storm: %.0f versions/s retired\n",
	       st.loads_ok, atomic_load(&retired), atomic_load(&retired) / t_storm);
	printf("  naive dlopen+dlclose of each version (same run): %.0f versions/s; lifeline %.2fx of it "
	       "(with snapshot, checks, test load, grace period)\n", naive, atomic_load(&retired) / t_storm / naive);
	printf("  peak descriptors %d (%d before open), peak memfds %d (%d before); at most %d versions wait\n",
	       peak_fds, fds0, peak_memfds, memfds0, LL_PLUGIN_MAX_RETIRING);
	printf("  ll_plugin_close() right after the storm: %.1f ms\n", t_close * 1e3);
	unlink(a);
	unlink(b);
	unlink(cur);
	return 0;
}
