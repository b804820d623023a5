/* stream.c: the core's bytes, stdin -> zstd -> file, in bounded memory.
 *
 * Fixed buffers of ZSTD_CStreamInSize()/ZSTD_CStreamOutSize() (about
 * 128 KiB each) and a single-threaded context: peak memory does not depend
 * on the core's size. Every LL_FLUSH_EVERY raw bytes the frame is flushed
 * (ZSTD_e_flush: the block ends, the window is kept, so the ratio hardly
 * changes) and that point is remembered. When a write fails with ENOSPC the
 * file is cut back to the last flush point and closed with the 3-byte empty
 * last block: the result is a valid zstd frame holding everything up to that
 * point (the frame has no content size and no checksum, so nothing else must
 * be patched). The same cut happens when KeepFree would be crossed or the
 * size limit is reached. A read error, early EOF or IdleTimeoutSec= of
 * silence on the pipe just ends the frame. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include "common/common.h"
#include "coredump/internal.h"

#define LL_FLUSH_EVERY (1u << 20)
#define LL_FREE_CHECK_EVERY (1u << 20)
#define LL_HEAD_SIZE (64u << 10)

/* Write all of buf; -errno (e.g. -ENOSPC) on failure. */
static int write_out(int fd, const void *buf, size_t len, uint64_t *written)
{
	int r = ll_write_all(fd, buf, len);

	if (r == 0)
		*written += len;
	return r;
}

/* Cut the file back to the last flush point and end the frame there. */
static int end_at_flush_point(int fd, uint64_t flush_off)
{
	static const unsigned char last_empty_block[3] = { 0x01, 0x00, 0x00 };

	if (ftruncate(fd, (off_t)flush_off) < 0)
		return -errno;
	if (lseek(fd, (off_t)flush_off, SEEK_SET) < 0)
		return -errno;
	return ll_write_all(fd, last_empty_block, sizeof(last_empty_block));
}

static bool below_keep_free(int fd, uint64_t keep_free)
{
	struct statvfs sv;

	if (keep_free == 0 || fstatvfs(fd, &sv) < 0)
		return false;
	return (uint64_t)sv.f_bavail * sv.f_frsize < keep_free;
}

/* What the first bytes say: an ELF core of this machine's byte order gives
 * its full size (the end of its last segment), so a core that ended early
 * is marked truncated; anything else is marked as not an ELF core. */
static void check_elf(const unsigned char *h, size_t n, struct ll_cd_stream_result *res)
{
	uint64_t end = 0;
	bool little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

	res->expected = 0;
	if (n < EI_NIDENT || memcmp(h, ELFMAG, SELFMAG)) {
		snprintf(res->format, sizeof(res->format), "not an ELF core");
		return;
	}
	if (h[EI_DATA] != (little ? ELFDATA2LSB : ELFDATA2MSB)) {
		snprintf(res->format, sizeof(res->format), "ELF (foreign byte order; size not checked)");
		return;
	}
	if (h[EI_CLASS] == ELFCLASS64 && n >= sizeof(Elf64_Ehdr)) {
		Elf64_Ehdr e;

		memcpy(&e, h, sizeof(e));
		if (e.e_type != ET_CORE)
			goto not_core;
		for (unsigned i = 0; i < e.e_phnum; i++) {
			Elf64_Phdr p;
			uint64_t off, seg_end;

			/* e_phoff and the segments are the crashing process's
			 * numbers: any sum may wrap */
			if (e.e_phentsize < sizeof(p) ||
			    __builtin_add_overflow(e.e_phoff, (uint64_t)i * e.e_phentsize, &off) ||
			    off > n || n - off < sizeof(p))
				goto unknown;
			memcpy(&p, h + off, sizeof(p));
			if (__builtin_add_overflow(p.p_offset, p.p_filesz, &seg_end))
				goto corrupt;
			if (seg_end > end)
				end = seg_end;
		}
	} else if (h[EI_CLASS] == ELFCLASS32 && n >= sizeof(Elf32_Ehdr)) {
		Elf32_Ehdr e;

		memcpy(&e, h, sizeof(e));
		if (e.e_type != ET_CORE)
			goto not_core;
		for (unsigned i = 0; i < e.e_phnum; i++) {
			Elf32_Phdr p;
			uint64_t off = e.e_phoff + (uint64_t)i * e.e_phentsize; /* < 2^33 */

			if (e.e_phentsize < sizeof(p) || off > n || n - off < sizeof(p))
				goto unknown;
			memcpy(&p, h + off, sizeof(p));
			if ((uint64_t)p.p_offset + p.p_filesz > end)
				end = (uint64_t)p.p_offset + p.p_filesz;
		}
	} else {
		goto unknown;
	}
	snprintf(res->format, sizeof(res->format), "ELF core");
	res->expected = end;
	if (res->read < end && !res->truncated) {
		res->truncated = true;
		snprintf(res->reason, sizeof(res->reason), "input ended early (%llu of %llu bytes)",
			 (unsigned long long)res->read, (unsigned long long)end);
	}
	return;
not_core:
	snprintf(res->format, sizeof(res->format), "ELF, but not a core");
	return;
corrupt:
	snprintf(res->format, sizeof(res->format), "ELF core (a segment ends past 2^64; size not checked)");
	return;
unknown:
	snprintf(res->format, sizeof(res->format), "ELF core (headers past the first %u KiB; size not checked)",
		 LL_HEAD_SIZE >> 10);
}

int ll_cd_stream(int in_fd, int out_fd, const struct ll_cd_limits *lim,
		 struct ll_cd_stream_result *res)
{
	size_t in_cap = ZSTD_CStreamInSize(), out_cap = ZSTD_CStreamOutSize();
	char *in = malloc(in_cap), *out = malloc(out_cap);
	unsigned char *head = calloc(1, LL_HEAD_SIZE);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	uint64_t flush_off = 0, flush_raw = 0, since_flush = 0, since_check = 0;
	bool eof = false, cut = false;
	struct stat st;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (!in || !out || !cctx || !head) {
		r = -ENOMEM;
		goto out;
	}
	/* The kernel writes the core into a pipe: a 1 MiB pipe (the default
	 * pipe-max-size) means fewer wake-ups on both sides. */
	if (fstat(in_fd, &st) == 0 && S_ISFIFO(st.st_mode))
		fcntl(in_fd, F_SETPIPE_SZ, 1 << 20);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, lim->level > 0 ? lim->level : 1);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, 0);

	/* The frame header goes out before any data (so it never declares a
	 * content size) and a cut at the first flush point still leaves a
	 * valid, empty frame. */
	{
		ZSTD_outBuffer ob = { out, out_cap, 0 };
		ZSTD_inBuffer ib = { in, 0, 0 };
		size_t left = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_flush);

		if (ZSTD_isError(left) || left != 0) {
			r = -EIO;
			goto out;
		}
		r = write_out(out_fd, out, ob.pos, &res->written);
		if (r < 0) {
			snprintf(res->reason, sizeof(res->reason), "%s while writing",
				 r == -ENOSPC ? "ENOSPC" : strerror(-r));
			goto out;
		}
		flush_off = res->written;
	}
	for (;;) {
		size_t want = in_cap;
		ssize_t n = 0;
		ZSTD_EndDirective mode;
		ZSTD_inBuffer ib;

		if (res->read >= lim->max_raw) {
			snprintf(res->reason, sizeof(res->reason), "too-large (limit %llu bytes)",
				 (unsigned long long)lim->max_raw);
			res->truncated = true;
			break;
		}
		if (lim->max_raw - res->read < want)
			want = (size_t)(lim->max_raw - res->read);
		while (!eof) {
			/* The kernel can stall (a mapping on a FUSE file whose
			 * daemon never answers): a helper blocked here holds a
			 * core_pipe_limit slot forever. Give up after a silence. */
			if (lim->idle_timeout_ms > 0) {
				struct pollfd pfd = { .fd = in_fd, .events = POLLIN };
				int pr = poll(&pfd, 1, lim->idle_timeout_ms);

				if (pr < 0 && errno == EINTR)
					continue;
				if (pr == 0) {
					snprintf(res->reason, sizeof(res->reason),
						 "idle-timeout (no data for %d s)", lim->idle_timeout_ms / 1000);
					res->truncated = true;
					eof = true;
					n = 0;
					break;
				}
			}
			n = read(in_fd, in, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(res->reason, sizeof(res->reason), "read error: %s", strerror(errno));
				res->truncated = true;
				n = 0;
			}
			if (n == 0)
				eof = true;
			break;
		}
		if (eof && n == 0)
			break;
		if (res->read < LL_HEAD_SIZE) {
			size_t k = LL_HEAD_SIZE - (size_t)res->read;

			memcpy(head + res->read, in, k < (size_t)n ? k : (size_t)n);
		}
		res->read += (uint64_t)n;
		since_flush += (uint64_t)n;
		since_check += (uint64_t)n;
		mode = since_flush >= LL_FLUSH_EVERY ? ZSTD_e_flush : ZSTD_e_continue;
		ib = (ZSTD_inBuffer){ in, (size_t)n, 0 };
		for (;;) {
			ZSTD_outBuffer ob = { out, out_cap, 0 };
			size_t left = ZSTD_compressStream2(cctx, &ob, &ib, mode);

			if (ZSTD_isError(left)) {
				snprintf(res->reason, sizeof(res->reason), "zstd: %s", ZSTD_getErrorName(left));
				r = -EIO;
				goto out;
			}
			if (ob.pos) {
				r = write_out(out_fd, out, ob.pos, &res->written);
				if (r < 0) {
					snprintf(res->reason, sizeof(res->reason), "%s while writing",
						 r == -ENOSPC ? "ENOSPC" : strerror(-r));
					cut = true;
					goto cut;
				}
			}
			if (mode == ZSTD_e_continue ? ib.pos == ib.size : left == 0)
				break;
		}
		if (mode == ZSTD_e_flush) {
			flush_off = res->written;
			flush_raw = res->read;
			since_flush = 0;
		}
		if (since_check >= LL_FREE_CHECK_EVERY) {
			since_check = 0;
			if (below_keep_free(out_fd, lim->keep_free)) {
				snprintf(res->reason, sizeof(res->reason),
					 "keep-free (less than %llu bytes left on the filesystem)",
					 (unsigned long long)lim->keep_free);
				cut = true;
				goto cut;
			}
		}
	}
	/* End of input (or size limit): close the frame. */
	for (;;) {
		ZSTD_outBuffer ob = { out, out_cap, 0 };
		ZSTD_inBuffer ib = { in, 0, 0 };
		size_t left = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);

		if (ZSTD_isError(left)) {
			r = -EIO;
			goto out;
		}
		if (ob.pos) {
			r = write_out(out_fd, out, ob.pos, &res->written);
			if (r < 0) {
				snprintf(res->reason, sizeof(res->reason), "%s while writing",
					 r == -ENOSPC ? "ENOSPC" : strerror(-r));
				cut = true;
				goto cut;
			}
		}
		if (left == 0)
			break;
	}
	if (below_keep_free(out_fd, lim->keep_free) && res->read > flush_raw) {
		/* The tail crossed KeepFree: give the space back. */
		snprintf(res->reason, sizeof(res->reason),
			 "keep-free (less than %llu bytes left on the filesystem)",
			 (unsigned long long)lim->keep_free);
		cut = true;
	}
cut:
	res->raw = res->read;
	if (cut) {
		res->truncated = true;
		res->raw = flush_raw;
		r = end_at_flush_point(out_fd, flush_off);
		res->written = flush_off + (r == 0 ? 3 : 0);
		if (r < 0) {
			/* Even 3 bytes did not fit: the frame stays open; readers
			 * decompress it up to the cut and say it is truncated. */
			r = 0;
		}
	}
out:
	if (r == 0)
		check_elf(head, res->read < LL_HEAD_SIZE ? (size_t)res->read : LL_HEAD_SIZE, res);
	ZSTD_freeCCtx(cctx);
	free(head);
	free(in);
	free(out);
	return r;
}

int ll_cd_unstream(int in_fd, int out_fd, uint64_t *written, bool *truncated)
{
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
	char *in = malloc(in_cap), *out = malloc(out_cap);
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	size_t last = 0;
	int r = 0;

	*written = 0;
	*truncated = false;
	if (!in || !out || !dctx) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in_fd, in, in_cap);
		ZSTD_inBuffer ib;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		ib = (ZSTD_inBuffer){ in, (size_t)n, 0 };
		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { out, out_cap, 0 };

			last = ZSTD_decompressStream(dctx, &ob, &ib);
			if (ZSTD_isError(last)) {
				/* Damaged data: keep what was decoded. */
				*truncated = true;
				goto out;
			}
			if (ob.pos) {
				r = ll_write_all(out_fd, out, ob.pos);
				if (r < 0)
					goto out;
				*written += ob.pos;
			}
		}
	}
	/* Drain what the decoder still holds. */
	for (;;) {
		ZSTD_inBuffer ib = { in, 0, 0 };
		ZSTD_outBuffer ob = { out, out_cap, 0 };
		size_t ret = ZSTD_decompressStream(dctx, &ob, &ib);

		if (ZSTD_isError(ret) || ob.pos == 0)
			break;
		last = ret;
		r = ll_write_all(out_fd, out, ob.pos);
		if (r < 0)
			goto out;
		*written += ob.pos;
	}
	if (last != 0)
		*truncated = true;
out:
	ZSTD_freeDCtx(dctx);
	free(in);
	free(out);
	return r;
}
