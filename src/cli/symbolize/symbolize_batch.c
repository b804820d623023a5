/* symbolize_batch.c: answering a batch of addresses fast.
 *
 * A batch is parsed, sorted by address (radix sort) and answered in address
 * order, so the symbolizer's index is walked almost sequentially (few cache
 * misses, each compile unit loaded once and in order; lookups start from
 * where the previous one ended). Answers are formatted into memory (struct
 * sbuf) and written in input order with writev(). sym_heap_setup() tunes
 * the process's heap for such a batch first (few page faults). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli/output.h"
#include "symbolize_cli.h"

/* One address of a batch. Sorted by key; everything the answer loop and
 * the output loop need is in here (one cache line, not several arrays). */
struct batch_item {
	uint64_t key;       /* parsed address, or 0 when it does not parse */
	const char *text;
	uint32_t start, len;/* its answer in the buffer */
	uint32_t idx;       /* position in the input */
	int32_t parsed;     /* sym_parse_addr() result */
};

/* A cold batch allocates tens of MiB (decompressed DWARF, libdw's line
 * tables, our index, the answers) and touches each page once: ~14,000 page
 * faults for 100,000 addresses in glibc. Large blocks come from the heap
 * (not a fresh mmap() for every CU's temporary buffers), the heap grows
 * 64 MiB at a time and, where the kernel makes transparent huge pages on
 * request (THP "madvise"), that region asks for them. Only this process's
 * allocator is tuned: the CLI owns it, the library does not. */
#define HEAP_PAD (64u << 20)
#define HUGE_PAGE (2u << 20)

void sym_heap_setup(void)
{
	uintptr_t lo, hi;
	void *p;

	mallopt(M_MMAP_THRESHOLD, HEAP_PAD);
	mallopt(M_TRIM_THRESHOLD, 2 * HEAP_PAD);
	mallopt(M_TOP_PAD, HEAP_PAD);
	p = malloc(HUGE_PAGE); /* grows the heap now, by HEAP_PAD more */
	if (!p)
		return;
	lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	hi = (uintptr_t)sbrk(0) & ~(uintptr_t)(HUGE_PAGE - 1);
	/* only when p came from the brk heap (not so under ASan) */
	if (hi > lo && (uintptr_t)p < hi && hi - (uintptr_t)p <= HEAP_PAD + 2 * HUGE_PAGE)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* a hint: failure is fine */
	free(p);
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

/* Write the answers in input order: writev() of up to IOV_BATCH pieces
 * straight from the answers' buffer (no copy through stdio). */
#define IOV_BATCH 1024
static void write_in_order(struct symctx *ctx, const struct sbuf *out,
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
				iov[cnt++] = (struct iovec){ out->p + e->start, e->len };
		}
		for (int k = 0; k < cnt;) { /* short writes: go on where it stopped */
			w = writev(STDOUT_FILENO, iov + k, cnt - k);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				out_error(ctx->cmd, "writing the answers: %s", strerror(errno));
				ctx->failed++;
				ctx->out_broken = true;
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
	struct sbuf out = { 0 };
	uint32_t *pos = NULL;

	ctx->nanswered += n;
	if (ctx->fmt == FMT_JSON || n < 2 || n > UINT32_MAX)
		goto plain;
	v = malloc(n * sizeof(*v));
	tmp = malloc(n * sizeof(*tmp));
	pos = malloc(n * sizeof(*pos));
	if (!v || !tmp || !pos || !sb_reserve(&out, 128 * n))
		goto plain;
	for (size_t i = 0; i < n; i++) {
		v[i] = (struct batch_item){ .idx = (uint32_t)i, .text = texts[i] };
		v[i].parsed = sym_parse_addr(texts[i], &v[i].key);
		if (v[i].parsed < 0)
			v[i].key = 0;
	}
	sort_batch(v, tmp, n);
	for (size_t k = 0; k < n && !out.failed; k++) {
		struct batch_item *e = &v[k];
		size_t start = out.len;

		sym_one_item(&out, ctx, e->text, e->parsed, e->key, res);
		if (out.len > UINT32_MAX) /* 4 GiB of answers to one batch: no */
			out.failed = true;
		e->start = (uint32_t)start;
		e->len = (uint32_t)(out.len - start);
	}
	if (out.failed) {
		out_error(ctx->cmd, "out of memory formatting %zu answers", n);
		ctx->failed++;
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		pos[v[k].idx] = (uint32_t)k;
	write_in_order(ctx, &out, v, pos, n);
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
	sb_free(&out);
	free(pos);
	free(tmp);
	free(v);
}
