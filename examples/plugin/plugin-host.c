/* plugin-host.c: an example service using lifeline's plugin host.
 *
 * Loads a greeter plugin (greeter.h) with LL_PLUGIN_WATCH and serves calls
 * from 2 threads without pause; every answer is checked against the version
 * that gave it. Prints a line when a new version starts answering and one
 * per plugin event; at the end (SIGTERM, SIGINT, end of a piped stdin, or
 * --seconds) prints the totals. Exit status 0 when no call failed.
 *
 * usage: plugin-host [--seconds S] PLUGIN.so */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lifeline/plugin.h>

#include "greeter.h"

#define THREADS 2

static struct ll_plugin *plugin;
static atomic_bool stop;
static atomic_ulong calls, failed;
static volatile sig_atomic_t got_signal;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned seen_mask; /* bit N: version N answered */

static void on_signal(int sig)
{
	got_signal = sig;
}

static void on_event(const struct ll_plugin_event *ev, void *userdata)
{
	static const char *const kinds[] = { "loaded", "REJECTED", "unloaded", "STILL MAPPED" };

	(void)userdata;
	pthread_mutex_lock(&print_lock);
	printf("[host] %s: %s\n", kinds[ev->kind], ev->message);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

static void *serve(void *arg)
{
	long id = (long)arg, x = id;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		const struct greeter_api *api = ll_plugin_enter(plugin);
		int n = api->number();
		long a = api->answer(x);
		const char *v = api->version();

		if (a != x + GREETER_STEP * n || v[0] != 'v' || atoi(v + 1) != n) {
			atomic_fetch_add(&failed, 1);
		} else if (n > 0 && n < 32 && !(__atomic_load_n(&seen_mask, __ATOMIC_RELAXED) & (1u << n))) {
			pthread_mutex_lock(&print_lock);
			if (!(seen_mask & (1u << n))) {
				__atomic_or_fetch(&seen_mask, 1u << n, __ATOMIC_RELAXED);
				printf("[host] thread %ld: calls now answered by %s (%lu calls served so far, "
				       "counted by the plugin across versions)\n", id, v, api->served());
				fflush(stdout);
			}
			pthread_mutex_unlock(&print_lock);
		}
		ll_plugin_leave(plugin);
		atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
		x++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct ll_plugin_opts opts = {
		.name = GREETER_NAME, .abi = GREETER_ABI,
		.flags = LL_PLUGIN_WATCH | LL_PLUGIN_SKIP_SAME, .on_event = on_event,
	};
	struct ll_plugin_status st;
	pthread_t th[THREADS];
	struct stat in;
	double seconds = 0;
	char err[512];
	const char *path;
	struct timespec t0, now;
	bool piped;
	int r;

	if (argc == 4 && !strcmp(argv[1], "--seconds")) {
		seconds = atof(argv[2]);
		path = argv[3];
	} else if (argc == 2 && argv[1][0] != '-') {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: plugin-host [--seconds S] PLUGIN.so\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	piped = fstat(0, &in) == 0 && S_ISFIFO(in.st_mode);
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = ll_plugin_open(path, &opts, &plugin, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "plugin-host: cannot load %s: %s\n", path, err);
		return 1;
	}
	printf("[host] pid %d serving from %d threads through %s\n", (int)getpid(), THREADS, path);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, serve, (void *)i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!got_signal) {
		struct pollfd pf = { .fd = 0, .events = POLLIN };
		char buf[256];

		if (piped && poll(&pf, 1, 50) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (!piped)
			usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 && (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ll_plugin_status(plugin, &st);
	printf("[host] done: %lu calls, %lu failed; answered by:", atomic_load(&calls), atomic_load(&failed));
	for (int n = 1; n < 32; n++)
		if (seen_mask & (1u << n))
			printf(" v%d", n);
	/* Current health first, then the history (the last rejection stays
	 * after a later version loaded). */
	printf("\n[host] status: version %u (%s) serving, %u loads, %u rejected; health: %s%s; watch: %s\n",
	       st.version, st.name, st.loads_ok, st.loads_failed, st.health ? "the newest file is refused: " : "ok",
	       st.health ? st.health_msg : "", st.watch_live ? "live" : "NOT live (no automatic reload)");
	if (st.last_error)
		printf("[host] last rejection (history): %s\n", st.last_error_msg);
	if (st.init_stuck)
		printf("[host] abandoned in a hook: %s\n", st.init_stuck_msg);
	ll_plugin_close(plugin);
	return atomic_load(&failed) ? 1 : 0;
}
