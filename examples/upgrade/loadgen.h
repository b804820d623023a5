/* loadgen.h: an HTTP/1.1 load client for upgrade-server, used by the
 * upgrade-load program, the tests (tests/upgrade) and the benchmark
 * (bench/upgrade). Threads keep `conns` keep-alive connections busy (a new
 * connection when the server answers "Connection: close"), and one more
 * thread opens a new connection for every request, continuously. Every
 * outcome is counted: a refused connect, a failed request (reset, end of
 * file or a timeout before the whole response), the version that answered;
 * latencies go to one of two histograms, chosen by lg_mark(). */
#ifndef LL_EXAMPLE_LOADGEN_H
#define LL_EXAMPLE_LOADGEN_H

#include <pthread.h>
#include <stdint.h>

#define LG_MAX_CONNS 64
#define LG_MAX_VERSIONS 16
#define LG_BUCKETS 20000 /* 10 us each: up to 200 ms, then one overflow bucket */

struct lg_hist {
	uint64_t n;
	uint64_t max_us;
	uint64_t bucket[LG_BUCKETS + 1];
};

struct lg_stats {
	uint64_t ok;            /* complete responses */
	uint64_t failed;        /* requests without a complete response */
	uint64_t refused;       /* connects refused */
	uint64_t connects;      /* connections opened */
	uint64_t bad;           /* responses that name no version, or two */
	char versions[LG_MAX_VERSIONS][16];
	uint64_t by_version[LG_MAX_VERSIONS];
	struct lg_hist lat[2];  /* [0] outside upgrades, [1] during (lg_mark) */
	char last_error[160];
};

struct lg {
	uint16_t port;
	int conns;
	volatile int stop;
	volatile int during;
	pthread_t threads[LG_MAX_CONNS + 1];
	int nthreads;
	pthread_mutex_t lock;
	struct lg_stats st;
};

/* Start conns keep-alive threads (1..LG_MAX_CONNS) and one new-connection
 * thread against 127.0.0.1:port. Returns 0 or -errno. */
int lg_start(struct lg *g, uint16_t port, int conns);

/* Count the latencies from now on as during (1) or outside (0) an upgrade. */
void lg_mark(struct lg *g, int during);

/* A copy of the counters so far. */
void lg_snapshot(struct lg *g, struct lg_stats *out);

/* Stop the threads and wait for them. */
void lg_stop(struct lg *g);

/* Percentile p (0..100) of a histogram, in microseconds. */
uint64_t lg_percentile(const struct lg_hist *h, double p);

#endif
