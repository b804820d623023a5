/* bench_memb.c: the same call loop under liburcu's urcu-memb flavour (the
 * alternative to urcu-bp: every reader thread must call
 * urcu_memb_register_thread() first, which a library cannot impose on its
 * callers), inlined, for comparison with the plugin host's urcu-bp. */
#define _LGPL_SOURCE
#include <time.h>
#include <urcu/urcu-memb.h>

double bench_run_memb(int (*const volatile *fn)(void), long n);

volatile long bench_memb_sink;

double bench_run_memb(int (*const volatile *fn)(void), long n)
{
	struct timespec a, b;
	long s = 0;

	urcu_memb_register_thread();
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		urcu_memb_read_lock();
		s += (*fn)();
		urcu_memb_read_unlock();
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	urcu_memb_unregister_thread();
	bench_memb_sink = s;
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}
