/* upgrade-load.c: run loadgen against 127.0.0.1:PORT until --duration-ms
 * passes or SIGINT/SIGTERM arrives, then print the counts as JSON: what a
 * user checks during an upgrade (refused connects, failed requests, which
 * versions answered). Used by `lifeline demo upgrade`.
 * Usage: upgrade-load --port PORT [--conns N] [--duration-ms MS] */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static struct lg g;
	static struct lg_stats st;
	int port = 0, conns = 8;
	long duration_ms = 60000;
	json_object *o, *v;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--conns"))
			conns = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--duration-ms"))
			duration_ms = atol(argv[i + 1]);
	}
	if (port <= 0 || port > 65535 || argc % 2 == 0) {
		fprintf(stderr, "usage: upgrade-load --port PORT [--conns N] [--duration-ms MS]\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (lg_start(&g, (uint16_t)port, conns) < 0) {
		fprintf(stderr, "upgrade-load: cannot start %d threads\n", conns);
		return 1;
	}
	for (long t = 0; t < duration_ms && !stop; t += 10)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	lg_stop(&g);
	lg_snapshot(&g, &st);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_int64((int64_t)st.ok));
	json_object_object_add(o, "failed", json_object_new_int64((int64_t)st.failed));
	json_object_object_add(o, "refused", json_object_new_int64((int64_t)st.refused));
	json_object_object_add(o, "connects", json_object_new_int64((int64_t)st.connects));
	json_object_object_add(o, "bad", json_object_new_int64((int64_t)st.bad));
	v = json_object_new_object();
	for (int i = 0; i < LG_MAX_VERSIONS && st.versions[i][0]; i++)
		json_object_object_add(v, st.versions[i], json_object_new_int64((int64_t)st.by_version[i]));
	json_object_object_add(o, "versions", v);
	json_object_object_add(o, "p99_us", json_object_new_int64((int64_t)lg_percentile(&st.lat[0], 99)));
	json_object_object_add(o, "max_us", json_object_new_int64((int64_t)st.lat[0].max_us));
	json_object_object_add(o, "last_error", json_object_new_string(st.last_error));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return 0;
}
