/* writer.c: the crash report's output, async-signal-safe.
 *
 * A small buffer (on the handler's alternate stack) collects text and is
 * written with write(2) when full or flushed; numbers are formatted by hand.
 * Write errors are ignored: there is no one to report them to. A crashing
 * process must not hang on a destination that does not drain (a pipe whose
 * reader is stopped): each write first polls the descriptor, and once the
 * report has spent CRASH_WRITE_BUDGET_MS waiting, the rest is dropped and
 * the process goes on to die (and dump core). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crash/crash_internal.h"

/* Deadline (CLOCK_MONOTONIC, ms) for every write of the current report; 0
 * when not started. Only the reporting thread touches it. */
static int64_t deadline_ms;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cw_start_budget(void)
{
	deadline_ms = now_ms() + CRASH_WRITE_BUDGET_MS;
}

/* Write everything unless the budget runs out; -1 then (writer goes mute). */
static int write_budgeted(int fd, const char *p, size_t len)
{
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int64_t left = deadline_ms ? deadline_ms - now_ms() : CRASH_WRITE_BUDGET_MS;
		ssize_t n;
		int r;

		if (left <= 0)
			return -1;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -1;
		n = write(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void cw_init(struct cw *w, int fd)
{
	w->fd = fd;
	w->len = 0;
}

void cw_flush(struct cw *w)
{
	if (w->len > 0 && w->fd >= 0 && write_budgeted(w->fd, w->buf, w->len) < 0)
		w->fd = -1;
	w->len = 0;
}

void cw_mem(struct cw *w, const char *s, size_t n)
{
	while (n > 0) {
		size_t room = sizeof(w->buf) - w->len;
		size_t k = n < room ? n : room;

		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
		if (w->len == sizeof(w->buf))
			cw_flush(w);
	}
}

void cw_str(struct cw *w, const char *s)
{
	cw_mem(w, s, strlen(s));
}

void cw_char(struct cw *w, char c)
{
	cw_mem(w, &c, 1);
}

char *crash_fmt_udec(char *buf, uint64_t v)
{
	char tmp[21];
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return buf;
}

char *crash_fmt_hex(char *buf, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0, i = 0;

	do {
		tmp[n++] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return buf;
}

void cw_hex(struct cw *w, uint64_t v, int width)
{
	char buf[17];
	int len;

	crash_fmt_hex(buf, v);
	len = (int)strlen(buf);
	cw_mem(w, "0x", 2);
	for (; len < width; len++)
		cw_char(w, '0');
	cw_str(w, buf);
}

void cw_udec(struct cw *w, uint64_t v)
{
	char buf[21];

	cw_str(w, crash_fmt_udec(buf, v));
}

void cw_dec(struct cw *w, int64_t v)
{
	if (v < 0) {
		cw_char(w, '-');
		cw_udec(w, (uint64_t)0 - (uint64_t)v);
	} else {
		cw_udec(w, (uint64_t)v);
	}
}

void cw_pad(struct cw *w, const char *s, int width)
{
	int len = (int)strlen(s);

	cw_str(w, s);
	for (; len < width; len++)
		cw_char(w, ' ');
}
