/* dwarf_read.h: the symbolizer's own DWARF readers (not installed).
 *
 *   dwarf_sections.c the .debug_* sections the index reads, decompressed
 *                    once (libdeflate for zlib, libzstd for zstd)
 *   dwarf_line.c     one CU's line table (.debug_line, DWARF 2-5)
 *   dwarf_die.c      unit headers, abbreviations and the DIE walk
 *
 * They cover what compilers emit for the index (the line program, scopes
 * with their ranges, names and call sites) and answer exactly what libdw
 * answers there. Anything else (an unknown form, a split or supplementary
 * file, data libdw itself would reject) is -ENOTSUP: dwarf_index.c then
 * asks libdw for that compile unit, so an answer never depends on which
 * reader gave it. Every read is bounds-checked (the input is untrusted;
 * fuzz/fuzz_debug_line.c). */
#ifndef LL_INSPECT_SYMBOL_DWARF_READ_H
#define LL_INSPECT_SYMBOL_DWARF_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <gelf.h>

#include "symbol_internal.h"

enum dw_sec_id {
	DW_SEC_INFO,
	DW_SEC_ABBREV,
	DW_SEC_LINE,
	DW_SEC_STR,
	DW_SEC_LINE_STR,
	DW_SEC_RANGES,
	DW_SEC_RNGLISTS,
	DW_SEC_ADDR,
	DW_SEC_STR_OFFSETS,
	DW_SEC_COUNT
};

struct dw_sections {
	const uint8_t *p[DW_SEC_COUNT];
	size_t size[DW_SEC_COUNT];
	void *owned[DW_SEC_COUNT]; /* decompressed copies, freed with the set */
	bool big_endian;
	bool unsupported;          /* .zdebug, a GNU alt link or split DWARF: libdw only */
};

/* A bounds-checked cursor. A read past the end returns 0 and sets bad;
 * callers check bad once after a group of reads. */
struct dw_cur {
	const uint8_t *p, *end;
	bool be;
	bool bad;
};

static inline uint64_t dw_u(struct dw_cur *c, unsigned n)
{
	uint64_t v = 0;

	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	if (c->be)
		for (unsigned i = 0; i < n; i++)
			v = v << 8 | c->p[i];
	else
		for (unsigned i = n; i-- > 0;)
			v = v << 8 | c->p[i];
	c->p += n;
	return v;
}

static inline uint64_t dw_uleb(struct dw_cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	if (c->p < c->end && !(*c->p & 0x80)) /* most values fit 7 bits */
		return *c->p++;
	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		else if (b & 0x7f)
			c->bad = true; /* does not fit 64 bits */
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static inline int64_t dw_sleb(struct dw_cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			return (int64_t)v;
		}
	}
	c->bad = true;
	return 0;
}

/* A NUL-terminated string in the cursor's bytes, or NULL (and bad). */
static inline const char *dw_cstr(struct dw_cur *c)
{
	const uint8_t *z = memchr(c->p, 0, (size_t)(c->end - c->p));
	const char *s = (const char *)c->p;

	if (!z) {
		c->bad = true;
		c->p = c->end;
		return NULL;
	}
	c->p = z + 1;
	return s;
}

/* The NUL-terminated string at off in section id, or NULL. */
static inline const char *dw_sec_str(const struct dw_sections *s, enum dw_sec_id id, uint64_t off)
{
	if (!s->p[id] || off >= s->size[id] || !memchr(s->p[id] + off, 0, s->size[id] - off))
		return NULL;
	return (const char *)s->p[id] + off;
}

/* dwarf_sections.c: read the sections of the DWARF file elf. 0, or -errno
 * (-ENODATA: no .debug_info). */
int dw_sections_load(Elf *elf, struct dw_sections *out);
void dw_sections_free(struct dw_sections *s);

/* dwarf_line.c: one CU's line table, as dwarf_getsrclines() and
 * dwarf_getsrcfiles() give it: rows sorted by address (end of sequence
 * first among equal addresses, otherwise in program order), the last row
 * marked end of sequence; file names by file-table index, each joined to
 * its directory and, when relative, to comp_dir (as load_file_names() in
 * dwarf_index.c always did). */
struct dw_line_table {
	struct line_row *rows;
	size_t nrows;
	const char **fnames;
	size_t nfnames;
	char *strings; /* the joined names */
};

/* Read the line program at off in .debug_line for a unit of addr_size
 * bytes; 0, -ENOTSUP (ask libdw), -ENOMEM or -EFBIG (more than max rows
 * or files). On error out is empty. */
int dw_line_read(const struct dw_sections *s, uint64_t off, unsigned addr_size,
		 const char *comp_dir, size_t max, struct dw_line_table *out);
void dw_line_free(struct dw_line_table *t);

#endif
