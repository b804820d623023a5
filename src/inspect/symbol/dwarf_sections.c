/* dwarf_sections.c: the .debug_* sections the index reads, each in memory
 * once.
 *
 * Sections stored plain are used where libelf mapped them (no copy).
 * Compressed ones (SHF_COMPRESSED with ELFCOMPRESS_ZLIB or _ZSTD, or the
 * older .zdebug_ form) are decompressed once into a buffer of their exact
 * size: zlib streams with libdeflate (the whole buffer in one call, two to
 * three times as fast as zlib's inflate, which libdw uses and which was a
 * quarter of a cold symbolize of glibc), zstd with libzstd. The largest,
 * .debug_info, is decompressed on a second thread while this one does the
 * rest. A section that does not decompress to the size its header states,
 * a supplementary-file link (dwz) or split DWARF marks the set unsupported:
 * dwarf_index.c then reads the file with libdw alone. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zstd.h>

#include "dwarf_read.h"

/* The most one section may decompress to (bounded memory on hostile input). */
#define MAX_SECTION (1ull << 30)
/* DEFLATE expands at most ~1032:1. */
#define DEFLATE_MAX_RATIO 1100ull
#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2 /* newer <elf.h>; Debian 12 glibc lacks it */
#endif

static const char *const sec_names[DW_SEC_COUNT] = {
	[DW_SEC_INFO] = "info",         [DW_SEC_ABBREV] = "abbrev",
	[DW_SEC_LINE] = "line",         [DW_SEC_STR] = "str",
	[DW_SEC_LINE_STR] = "line_str", [DW_SEC_RANGES] = "ranges",
	[DW_SEC_RNGLISTS] = "rnglists", [DW_SEC_ADDR] = "addr",
	[DW_SEC_STR_OFFSETS] = "str_offsets",
};

/* One compressed section to inflate. */
struct job {
	int kind;              /* ELFCOMPRESS_ZLIB or _ZSTD */
	const uint8_t *in;
	size_t in_size;
	uint8_t *out;
	size_t out_size;
	int err;
};

static void run_job(struct job *j)
{
	if (j->kind == ELFCOMPRESS_ZLIB) {
		struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
		size_t got = 0;

		if (!d) {
			j->err = -ENOMEM;
			return;
		}
		if (libdeflate_zlib_decompress(d, j->in, j->in_size, j->out, j->out_size, &got) !=
			    LIBDEFLATE_SUCCESS ||
		    got != j->out_size)
			j->err = -EBADMSG;
		libdeflate_free_decompressor(d);
	} else {
		size_t got = ZSTD_decompress(j->out, j->out_size, j->in, j->in_size);

		if (ZSTD_isError(got) || got != j->out_size)
			j->err = -EBADMSG;
	}
}

static void *job_thread(void *arg)
{
	run_job(arg);
	return NULL;
}

/* The compressed section's header: kind, size, where the stream starts. */
static int parse_compressed(Elf *elf, const GElf_Shdr *sh, const char *name, const uint8_t *raw,
			    size_t raw_size, struct job *j)
{
	struct dw_cur c = { raw, raw + raw_size, elf_getident(elf, NULL)[EI_DATA] == ELFDATA2MSB, false };
	uint64_t size;

	if (!strncmp(name, ".zdebug_", 8)) {
		/* "ZLIB" and the size as 8 big-endian bytes, then a zlib stream */
		if (raw_size < 12 || memcmp(raw, "ZLIB", 4))
			return -EBADMSG;
		c.p += 4;
		c.be = true;
		size = dw_u(&c, 8);
		j->kind = ELFCOMPRESS_ZLIB;
	} else if (gelf_getclass(elf) == ELFCLASS32) {
		j->kind = (int)dw_u(&c, 4);
		size = dw_u(&c, 4);
		dw_u(&c, 4); /* ch_addralign */
	} else {
		j->kind = (int)dw_u(&c, 4);
		dw_u(&c, 4); /* ch_reserved */
		size = dw_u(&c, 8);
		dw_u(&c, 8); /* ch_addralign */
	}
	(void)sh;
	if (c.bad || (j->kind != ELFCOMPRESS_ZLIB && j->kind != ELFCOMPRESS_ZSTD) || size > MAX_SECTION ||
	    (j->kind == ELFCOMPRESS_ZLIB && size > (uint64_t)(c.end - c.p) * DEFLATE_MAX_RATIO + 4096))
		return -EBADMSG;
	j->in = c.p;
	j->in_size = (size_t)(c.end - c.p);
	j->out_size = (size_t)size;
	return 0;
}

/* Which of our sections name is (".debug_X" or ".zdebug_X"), or -1; sets
 * *unsupported for the ones that need libdw. */
static int section_id(const char *name, bool *unsupported)
{
	if (!strcmp(name, ".gnu_debugaltlink") || !strcmp(name, ".debug_sup") ||
	    !strcmp(name, ".debug_info.dwo") || !strcmp(name, ".debug_cu_index"))
		*unsupported = true;
	if (!strncmp(name, ".debug_", 7))
		name += 7;
	else if (!strncmp(name, ".zdebug_", 8))
		name += 8;
	else
		return -1;
	for (int i = 0; i < DW_SEC_COUNT; i++)
		if (!strcmp(name, sec_names[i]))
			return i;
	return -1;
}

int dw_sections_load(Elf *elf, struct dw_sections *out)
{
	struct job jobs[DW_SEC_COUNT] = { 0 };
	bool pending[DW_SEC_COUNT] = { false };
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	pthread_t th;
	bool threaded = false;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->big_endian = elf_getident(elf, NULL)[EI_DATA] == ELFDATA2MSB;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;
		int id;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		id = section_id(name, &out->unsupported);
		if (id < 0 || out->p[id] || sh.sh_type == SHT_NOBITS)
			continue;
		d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size == 0)
			continue;
		if (!(sh.sh_flags & SHF_COMPRESSED) && strncmp(name, ".zdebug_", 8)) {
			out->p[id] = d->d_buf;
			out->size[id] = d->d_size;
			continue;
		}
		if (parse_compressed(elf, &sh, name, d->d_buf, d->d_size, &jobs[id]) < 0) {
			out->unsupported = true;
			continue;
		}
		jobs[id].out = malloc(jobs[id].out_size ? jobs[id].out_size : 1);
		if (!jobs[id].out) {
			r = -ENOMEM;
			break;
		}
		out->owned[id] = jobs[id].out;
		out->p[id] = jobs[id].out;
		out->size[id] = jobs[id].out_size;
		pending[id] = true;
	}
	if (r == 0 && !out->p[DW_SEC_INFO])
		r = -ENODATA;
	if (r == 0) {
		/* .debug_info on a second thread (the largest by far), the rest here */
		if (pending[DW_SEC_INFO] && pthread_create(&th, NULL, job_thread, &jobs[DW_SEC_INFO]) == 0) {
			threaded = true;
			pending[DW_SEC_INFO] = false;
		}
		for (int i = 0; i < DW_SEC_COUNT; i++)
			if (pending[i])
				run_job(&jobs[i]);
		if (threaded)
			pthread_join(th, NULL);
		for (int i = 0; i < DW_SEC_COUNT; i++) {
			if (jobs[i].err == -ENOMEM)
				r = -ENOMEM;
			else if (jobs[i].err)
				out->unsupported = true;
		}
	}
	if (r < 0)
		dw_sections_free(out);
	return r;
}

void dw_sections_free(struct dw_sections *s)
{
	for (int i = 0; i < DW_SEC_COUNT; i++)
		free(s->owned[i]);
	memset(s, 0, sizeof(*s));
}
