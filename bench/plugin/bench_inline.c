/* bench_inline.c: the enter/call/leave loop of bench_plugin.c as a host
 * compiles it by default (liburcu-bp's read side inlined into the caller;
 * bench_plugin.c itself uses the out-of-line calls). */
#include <time.h>

#include <lifeline/plugin.h>

#include "../../examples/plugin/greeter.h"

double bench_run_inline(struct ll_plugin *p, long n);

volatile long bench_inline_sink;

double bench_run_inline(struct ll_plugin *p, long n)
{
	struct timespec a, b;
	long s = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		const struct greeter_api *api = ll_plugin_enter(p);

		s += api->number();
		ll_plugin_leave(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	bench_inline_sink = s;
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}
