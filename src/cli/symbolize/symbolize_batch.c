/* symbolize_batch.c: answering a batch of addresses fast.
 *
 * A batch is parsed, sorted by address (radix sort) and answered in address
 * order, so the symbolizer's index is walked almost sequentially (few cache
 * misses, each compile unit loaded once, in order). Answers are formatted
 * into memory (struct sbuf) and printed in input order.
 *
 * For --exe, a large batch is split in two halves of the sorted addresses:
 * the lower half answered by this thread with the module's symbolizer, the
 * upper half by a worker thread with a second, fully independent symbolizer
 * of the same file (libelf/libdw objects are not shared between threads;
 * each decompresses and indexes what its half needs). That second
 * symbolizer is opened by a helper thread started at the beginning
 * (sym_helper_start), while the first is opened and the input read; only
 * when the load average leaves a core free ($LIFELINE_SYMBOLIZE_THREADS=1
 * or 2 decides instead). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli/output.h"
#include "symbolize_cli.h"

/* Below this many addresses a batch is answered by one thread. */
#define PARALLEL_MIN 4096

struct sym_helper {
	pthread_t opener;
	bool opener_joined;
	char *path;
	struct ll_sym_opts opts;
	struct ll_symbolizer *sym;  /* the second symbolizer, or NULL */
	int err;
};

/* One address of a batch. Sorted by key; everything the answer loop and
 * the output loop need is in here (one cache line, not several arrays). */
struct batch_item {
	uint64_t key;       /* parsed address, or 0 when it does not parse */
	const char *text;
	uint32_t start, len;/* its answer in its half's buffer */
	uint32_t idx;       /* position in the input */
	int16_t parsed;     /* sym_parse_addr() result */
	uint8_t who;        /* which half answered it */
};

/* One half of a batch being answered. */
struct half {
	struct symctx ctx;          /* a copy, with its own symbolizer and counter */
	struct batch_item *v;       /* shared; this half writes only [from, to) */
	size_t from, to;
	uint8_t id;
	struct sbuf out;
	struct sym_helper *helper;  /* worker: join the opener first */
	int err;
};

static void *open_second(void *arg)
{
	struct sym_helper *h = arg;

	h->err = ll_symbolizer_open(h->path, &h->opts, &h->sym);
	return NULL;
}

void sym_helper_start(struct symctx *ctx, const struct ll_sym_opts *opts)
{
	const char *force = getenv("LIFELINE_SYMBOLIZE_THREADS");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sym_helper *h;
	double load = 0;

	if (ctx->fmt == FMT_JSON)
		return;
	if (force && *force) { /* "1" or "2": no guessing (tests, benchmarks) */
		if (strcmp(force, "2"))
			return;
	} else if (ncpu < 2 || getloadavg(&load, 1) != 1 || load > (double)ncpu - 1.0) {
		/* Only when a core is free: on a busy machine a second symbolizer
		 * is extra work (it decompresses and indexes too) with no core. */
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(ctx->exe)))
		goto fail;
	h->opts = *opts; /* debug_dirs points into cmd_symbolize's frame: outlives us */
	if (pthread_create(&h->opener, NULL, open_second, h) != 0)
		goto fail;
	ctx->helper = h;
	return;
fail:
	if (h)
		free(h->path);
	free(h);
}

static struct ll_symbolizer *helper_sym(struct sym_helper *h)
{
	if (!h->opener_joined) {
		pthread_join(h->opener, NULL);
		h->opener_joined = true;
	}
	return h->err == 0 ? h->sym : NULL;
}

void sym_helper_stop(struct symctx *ctx)
{
	struct sym_helper *h = ctx->helper;

	if (!h)
		return;
	helper_sym(h);
	ll_symbolizer_free(h->sym);
	free(h->path);
	free(h);
	ctx->helper = NULL;
}

/* LSD radix sort by key, a byte at a time, skipping bytes all keys share;
 * stable, so equal addresses keep their input order. */
static void sort_batch(struct batch_item *v, struct batch_item *tmp, size_t n)
{
	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t count[257] = { 0 };

		for (size_t i = 0; i < n; i++)
			count[((v[i].key >> shift) & 0xff) + 1]++;
		if (count[((v[0].key >> shift) & 0xff) + 1] == n)
			continue; /* every key has the same byte here */
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			tmp[count[(v[i].key >> shift) & 0xff]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
}

static void *answer_half(void *arg)
{
	struct half *h = arg;
	struct ll_sym_result *res = malloc(sizeof(*res));

	if (h->helper) {
		h->ctx.exe_sym = helper_sym(h->helper);
		if (!h->ctx.exe_sym) {
			h->err = -ENOENT;
			goto out;
		}
	}
	if (!res || !sb_reserve(&h->out, 128 * (h->to - h->from))) {
		h->err = -ENOMEM;
		goto out;
	}
	for (size_t k = h->from; k < h->to; k++) {
		struct batch_item *e = &h->v[k];
		size_t start = h->out.len;

		sym_one_item(&h->out, &h->ctx, e->text, e->parsed, e->key, res);
		if (h->out.len > UINT32_MAX) { /* 4 GiB of answers in one batch: no */
			h->err = -ENOMEM;
			break;
		}
		e->start = (uint32_t)start;
		e->len = (uint32_t)(h->out.len - start);
		e->who = h->id;
	}
	if (h->out.failed)
		h->err = -ENOMEM;
out:
	free(res);
	return NULL;
}

static void free_half(struct half *h)
{
	sb_free(&h->out);
}

/* Write the answers in input order: writev() of up to IOV_BATCH pieces
 * straight from the halves' buffers (no copy through stdio). */
#define IOV_BATCH 1024
static void write_in_order(struct symctx *ctx, const struct half *halves,
			   const struct batch_item *v, const uint32_t *pos, size_t n)
{
	struct iovec iov[IOV_BATCH];
	size_t i = 0;

	fflush(stdout);
	while (i < n) {
		int cnt = 0;
		ssize_t w;

		while (i < n && cnt < IOV_BATCH) {
			const struct batch_item *e = &v[pos[i++]];

			if (e->len)
				iov[cnt++] = (struct iovec){ halves[e->who].out.p + e->start, e->len };
		}
		for (int k = 0; k < cnt;) { /* short writes: go on where it stopped */
			w = writev(STDOUT_FILENO, iov + k, cnt - k);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				out_error(ctx->cmd, "writing the answers: %s", strerror(errno));
				ctx->failed++;
				return;
			}
			while (k < cnt && (size_t)w >= iov[k].iov_len)
				w -= (ssize_t)iov[k++].iov_len;
			if (k < cnt) {
				iov[k].iov_base = (char *)iov[k].iov_base + w;
				iov[k].iov_len -= (size_t)w;
			}
		}
	}
}

void sym_run_batch(struct symctx *ctx, const char **texts, size_t n, struct ll_sym_result *res)
{
	struct batch_item *v = NULL, *tmp = NULL;
	struct half halves[2];
	uint32_t *pos = NULL;
	size_t split = n;
	bool worker = false;
	pthread_t th;

	memset(halves, 0, sizeof(halves));
	ctx->nanswered += n;
	if (ctx->fmt == FMT_JSON || n < 2 || n > UINT32_MAX)
		goto plain;
	v = malloc(n * sizeof(*v));
	tmp = malloc(n * sizeof(*tmp));
	pos = malloc(n * sizeof(*pos));
	if (!v || !tmp || !pos)
		goto plain;
	for (size_t i = 0; i < n; i++) {
		v[i] = (struct batch_item){ .idx = (uint32_t)i, .text = texts[i] };
		v[i].parsed = (int16_t)sym_parse_addr(texts[i], &v[i].key);
		if (v[i].parsed < 0)
			v[i].key = 0;
	}
	sort_batch(v, tmp, n);

	if (ctx->helper && ctx->exe && n >= PARALLEL_MIN)
		split = n / 2;
	for (int h = 0; h < 2; h++) {
		halves[h] = (struct half){
			.ctx = *ctx, .v = v, .id = (uint8_t)h,
			.from = h ? split : 0, .to = h ? n : split,
		};
		halves[h].ctx.failed = 0;
	}
	if (split < n) {
		halves[1].helper = ctx->helper;
		worker = pthread_create(&th, NULL, answer_half, &halves[1]) == 0;
		if (!worker) { /* no thread: this one answers everything */
			halves[0].to = n;
			split = n;
		}
	}
	answer_half(&halves[0]);
	if (worker)
		pthread_join(th, NULL);
	if (worker && halves[1].err == -ENOENT) { /* no second symbolizer: do it here */
		halves[0].from = split;
		halves[0].to = n;
		free_half(&halves[1]);
		memset(&halves[1], 0, sizeof(halves[1]));
		worker = false;
		answer_half(&halves[0]);
	}
	ctx->failed += halves[0].ctx.failed + halves[1].ctx.failed;
	if (halves[0].err || halves[1].err) {
		out_error(ctx->cmd, "out of memory formatting %zu answers", n);
		ctx->failed++;
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		pos[v[k].idx] = (uint32_t)k;
	write_in_order(ctx, halves, v, pos, n);
	goto out;
plain:
	for (size_t i = 0; i < n; i++) {
		struct sbuf b = { 0 };
		uint64_t a = 0;
		int parsed = sym_parse_addr(texts[i], &a);

		sym_one_item(&b, ctx, texts[i], parsed, a, res);
		if (b.len)
			fwrite(b.p, 1, b.len, stdout);
		sb_free(&b);
	}
out:
	free_half(&halves[0]);
	free_half(&halves[1]);
	free(pos);
	free(tmp);
	free(v);
}
