/* loadgen.c: the load client of loadgen.h. Blocking sockets with a 5 s
 * receive/send timeout (a request never waits forever); one mutex around
 * the counters (updated once per request). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define IO_TIMEOUT_S 5

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void note_error(struct lg *g, const char *what, int err)
{
	snprintf(g->st.last_error, sizeof(g->st.last_error), "%s: %s", what, strerror(err));
}

/* A connected socket, or -1 (counted as refused or failed). */
static int dial(struct lg *g)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(g->port) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		pthread_mutex_lock(&g->lock);
		if (e == ECONNREFUSED)
			g->st.refused++;
		else
			g->st.failed++;
		note_error(g, "connect", e);
		pthread_mutex_unlock(&g->lock);
		close(s);
		return -1;
	}
	pthread_mutex_lock(&g->lock);
	g->st.connects++;
	pthread_mutex_unlock(&g->lock);
	return s;
}

static void record(struct lg *g, const char *resp, uint64_t us)
{
	const char *v = strstr(resp, "X-Version: ");
	struct lg_hist *h;
	char ver[16] = "";

	pthread_mutex_lock(&g->lock);
	if (!v || strstr(v + 1, "X-Version: ")) {
		g->st.bad++;
	} else {
		sscanf(v + 11, "%15[^\r]", ver);
		for (int i = 0; i < LG_MAX_VERSIONS; i++) {
			if (!g->st.versions[i][0])
				snprintf(g->st.versions[i], sizeof(g->st.versions[i]), "%s", ver);
			if (!strcmp(g->st.versions[i], ver)) {
				g->st.by_version[i]++;
				break;
			}
		}
	}
	g->st.ok++;
	h = &g->st.lat[g->during ? 1 : 0];
	h->n++;
	h->bucket[us / 10 < LG_BUCKETS ? us / 10 : LG_BUCKETS]++;
	if (us > h->max_us)
		h->max_us = us;
	pthread_mutex_unlock(&g->lock);
}

/* One request on s. 1: answered, keep the connection; 0: answered, the
 * server closes it; -1: failed (counted). */
static int request(struct lg *g, int s, int close_it)
{
	char req[128], resp[1024];
	size_t len = 0;
	uint64_t t0 = now_us();
	int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n",
			 close_it ? "Connection: close\r\n" : "");

	if (send(s, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto fail;
	for (;;) {
		char *hdr_end, *cl;
		ssize_t r = recv(s, resp + len, sizeof(resp) - 1 - len, 0);

		if (r <= 0)
			goto fail;
		len += (size_t)r;
		resp[len] = '\0';
		hdr_end = strstr(resp, "\r\n\r\n");
		cl = strstr(resp, "Content-Length: ");
		if (hdr_end && cl && len >= (size_t)(hdr_end + 4 - resp) + (size_t)atoi(cl + 16))
			break;
		if (len == sizeof(resp) - 1)
			goto fail;
	}
	record(g, resp, now_us() - t0);
	return strstr(resp, "Connection: close") ? 0 : 1;
fail:
	pthread_mutex_lock(&g->lock);
	g->st.failed++;
	note_error(g, "request", errno ? errno : EPIPE);
	pthread_mutex_unlock(&g->lock);
	return -1;
}

static void *keepalive_thread(void *arg)
{
	struct lg *g = arg;
	int s = -1;

	while (!g->stop) {
		if (s < 0 && (s = dial(g)) < 0) {
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
			continue;
		}
		if (request(g, s, 0) <= 0) {
			close(s);
			s = -1;
		}
	}
	if (s >= 0)
		close(s);
	return NULL;
}

static void *newconn_thread(void *arg)
{
	struct lg *g = arg;

	while (!g->stop) {
		int s = dial(g);

		if (s < 0) {
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
			continue;
		}
		request(g, s, 1);
		close(s);
	}
	return NULL;
}

int lg_start(struct lg *g, uint16_t port, int conns)
{
	if (conns < 1 || conns > LG_MAX_CONNS)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	g->port = port;
	g->conns = conns;
	for (int i = 0; i <= conns; i++) {
		if (pthread_create(&g->threads[i], NULL, i < conns ? keepalive_thread : newconn_thread, g) != 0) {
			lg_stop(g);
			return -EAGAIN;
		}
		g->nthreads++;
	}
	return 0;
}

void lg_mark(struct lg *g, int during)
{
	pthread_mutex_lock(&g->lock);
	g->during = during;
	pthread_mutex_unlock(&g->lock);
}

void lg_snapshot(struct lg *g, struct lg_stats *out)
{
	pthread_mutex_lock(&g->lock);
	*out = g->st;
	pthread_mutex_unlock(&g->lock);
}

void lg_stop(struct lg *g)
{
	g->stop = 1;
	for (int i = 0; i < g->nthreads; i++)
		pthread_join(g->threads[i], NULL);
	g->nthreads = 0;
}

uint64_t lg_percentile(const struct lg_hist *h, double p)
{
	uint64_t want = (uint64_t)((double)h->n * p / 100.0), seen = 0;

	for (int i = 0; i <= LG_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen > want || (seen == h->n && h->bucket[i]))
			return i == LG_BUCKETS ? h->max_us : (uint64_t)i * 10 + 10;
	}
	return h->max_us;
}
