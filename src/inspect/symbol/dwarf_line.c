/* dwarf_line.c: a CU's .debug_line program (DWARF 2 to 5) read into the
 * index's rows and file names, without libdw.
 *
 * The header gives the opcode parameters and the directory and file tables
 * (DWARF 5: entry formats, strings in .debug_line_str or .debug_str); the
 * program is then run through the line state machine, one row for each
 * DW_LNS_copy, special opcode and end of sequence. The result is what
 * dwarf_getsrclines() and dwarf_getsrcfiles() give (same names, same
 * order: see dwarf_read.h); a line program that libdw would reject or read
 * in its own way (VLIW op_index, DW_LNE_define_file, values that overflow
 * libdw's fields, a header whose lengths disagree) is -ENOTSUP and left to
 * libdw. Every read is bounds-checked through struct dw_cur. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>

#include "dwarf_read.h"

#define MAX_FORMS 32

struct line_hdr {
	uint64_t unit_end;   /* offsets in .debug_line */
	uint64_t prog_start;
	unsigned version, offset_size;
	unsigned min_insn_len, max_ops;
	bool default_is_stmt;
	int line_base;
	unsigned line_range, opcode_base;
	const uint8_t *std_lengths; /* [opcode - 1] */
};

/* The arena of the names built by joining. */
struct names {
	char *arena;
	size_t used, size;
};

/* Join a + "/" + b (b alone when a is NULL) in the arena; returns its
 * offset + 1 (0: out of memory). Pointers are fixed up at the end, since
 * the arena moves as it grows. */
static size_t arena_join(struct names *nm, const char *a, const char *b)
{
	size_t la = a ? strlen(a) : 0, lb = strlen(b), need = la + (a ? 1 : 0) + lb + 1, at;

	if (nm->used + need > nm->size) {
		size_t nsize = nm->size ? nm->size * 2 : 4096;
		char *v;

		while (nsize < nm->used + need)
			nsize *= 2;
		v = realloc(nm->arena, nsize);
		if (!v)
			return 0;
		nm->arena = v;
		nm->size = nsize;
	}
	at = nm->used;
	if (a) {
		memcpy(nm->arena + at, a, la);
		nm->arena[at + la] = '/';
		la++;
	}
	memcpy(nm->arena + at + la, b, lb + 1);
	nm->used += need;
	return at + 1;
}

/* A file name: a string of a section, or one joined in the arena
 * (offset + 1; pointers are made at the end, the arena moves). */
struct fname_slot {
	const char *direct;
	size_t arena_off;
};

static int read_header(const struct dw_sections *s, uint64_t off, unsigned addr_size,
		       struct dw_cur *c, struct line_hdr *h)
{
	uint64_t len, hlen;

	*c = (struct dw_cur){ s->p[DW_SEC_LINE] + off, s->p[DW_SEC_LINE] + s->size[DW_SEC_LINE],
			      s->big_endian, false };
	len = dw_u(c, 4);
	h->offset_size = 4;
	if (len == 0xffffffffu) {
		len = dw_u(c, 8);
		h->offset_size = 8;
	} else if (len >= 0xfffffff0u) {
		return -ENOTSUP;
	}
	if (c->bad || len > (uint64_t)(c->end - c->p))
		return -ENOTSUP;
	c->end = c->p + len;
	h->unit_end = (uint64_t)(c->end - s->p[DW_SEC_LINE]);
	h->version = (unsigned)dw_u(c, 2);
	if (h->version < 2 || h->version > 5)
		return -ENOTSUP;
	if (h->version >= 5) {
		unsigned asz = (unsigned)dw_u(c, 1), seg = (unsigned)dw_u(c, 1);

		if (asz != addr_size || seg != 0)
			return -ENOTSUP;
	}
	hlen = dw_u(c, h->offset_size);
	if (c->bad || hlen > (uint64_t)(c->end - c->p))
		return -ENOTSUP;
	h->prog_start = (uint64_t)(c->p - s->p[DW_SEC_LINE]) + hlen;
	h->min_insn_len = (unsigned)dw_u(c, 1);
	h->max_ops = 1;
	if (h->version >= 4)
		h->max_ops = (unsigned)dw_u(c, 1);
	h->default_is_stmt = dw_u(c, 1) != 0;
	h->line_base = (int8_t)dw_u(c, 1);
	h->line_range = (unsigned)dw_u(c, 1);
	h->opcode_base = (unsigned)dw_u(c, 1);
	if (c->bad || h->max_ops != 1 || h->opcode_base == 0)
		return -ENOTSUP; /* VLIW op_index: libdw's business */
	h->std_lengths = c->p;
	if ((size_t)(c->end - c->p) < h->opcode_base - 1)
		return -ENOTSUP;
	c->p += h->opcode_base - 1;
	return 0;
}

/* One attribute of a DWARF 5 entry format: a string (path), an unsigned
 * (directory index), or skipped. */
static int read_lnct(const struct dw_sections *s, struct dw_cur *c, unsigned form, unsigned offset_size,
		     const char **str, uint64_t *u)
{
	switch (form) {
	case DW_FORM_string:
		*str = dw_cstr(c);
		return 0;
	case DW_FORM_line_strp:
		*str = dw_sec_str(s, DW_SEC_LINE_STR, dw_u(c, offset_size));
		return *str ? 0 : -ENOTSUP;
	case DW_FORM_strp:
		*str = dw_sec_str(s, DW_SEC_STR, dw_u(c, offset_size));
		return *str ? 0 : -ENOTSUP;
	case DW_FORM_data1: *u = dw_u(c, 1); return 0;
	case DW_FORM_data2: *u = dw_u(c, 2); return 0;
	case DW_FORM_data4: *u = dw_u(c, 4); return 0;
	case DW_FORM_data8: *u = dw_u(c, 8); return 0;
	case DW_FORM_udata: *u = dw_uleb(c); return 0;
	case DW_FORM_data16: dw_u(c, 8); dw_u(c, 8); return 0;
	case DW_FORM_block: {
		uint64_t n = dw_uleb(c);

		if (n > (uint64_t)(c->end - c->p))
			return -ENOTSUP;
		c->p += n;
		return 0;
	}
	default:
		return -ENOTSUP; /* strx needs the unit's base: libdw */
	}
}

/* DWARF 5 directory or file table: entry formats, count, entries. For
 * each entry, path and (files) directory index. */
static int read_v5_table(const struct dw_sections *s, struct dw_cur *c, unsigned offset_size, bool files,
			 int (*add)(void *, const char *, uint64_t), void *arg)
{
	unsigned nforms = (unsigned)dw_u(c, 1), desc[MAX_FORMS], form[MAX_FORMS];
	bool have_path = false, have_idx = false;
	uint64_t n;

	if (nforms > MAX_FORMS)
		return -ENOTSUP;
	for (unsigned i = 0; i < nforms; i++) {
		uint64_t d = dw_uleb(c), f = dw_uleb(c);

		if (d > 0xffff || f > 0xffff)
			return -ENOTSUP;
		desc[i] = (unsigned)d;
		form[i] = (unsigned)f;
		have_path |= desc[i] == DW_LNCT_path;
		have_idx |= desc[i] == DW_LNCT_directory_index;
	}
	n = dw_uleb(c);
	if (c->bad || (nforms == 0 && n != 0) || (nforms && (!have_path || (files && !have_idx))) ||
	    (nforms && n > (uint64_t)(c->end - c->p) / nforms))
		return -ENOTSUP;
	for (uint64_t k = 0; k < n; k++) {
		const char *path = NULL;
		uint64_t idx = UINT64_MAX;
		int r;

		for (unsigned i = 0; i < nforms; i++) {
			const char *str = NULL;
			uint64_t u = UINT64_MAX;

			r = read_lnct(s, c, form[i], offset_size, &str, &u);
			if (r < 0 || c->bad)
				return -ENOTSUP;
			if (desc[i] == DW_LNCT_path) {
				if (!str)
					return -ENOTSUP;
				path = str; /* the last one, as libdw's form_path */
			} else if (desc[i] == DW_LNCT_directory_index) {
				if (u == UINT64_MAX)
					return -ENOTSUP;
				idx = u;
			}
		}
		r = add(arg, path, idx);
		if (r < 0)
			return r;
	}
	return 0;
}

struct tables {
	const char **dirs;
	size_t ndirs, dcap;
	struct fname_slot *files;
	size_t nfiles, fcap;
	struct names *nm;
	size_t max;
};

static int add_dir(void *arg, const char *path, uint64_t idx)
{
	struct tables *t = arg;

	(void)idx;
	if (t->ndirs == t->dcap) {
		size_t ncap = t->dcap ? t->dcap * 2 : 16;
		const char **v;

		if (t->ndirs >= t->max)
			return -EFBIG;
		v = realloc(t->dirs, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->dirs = v;
		t->dcap = ncap;
	}
	t->dirs[t->ndirs++] = path;
	return 0;
}

/* A file entry: absolute names as they are, others joined to their
 * directory (libdw's rule). */
static int add_file(void *arg, const char *path, uint64_t idx)
{
	struct tables *t = arg;
	struct fname_slot f = { .direct = path };

	if (idx >= t->ndirs)
		return -ENOTSUP; /* libdw: DWARF_E_INVALID_DIR_IDX */
	if (t->nfiles == t->fcap) {
		size_t ncap = t->fcap ? t->fcap * 2 : 32;
		struct fname_slot *v;

		if (t->nfiles >= t->max)
			return -EFBIG;
		v = realloc(t->files, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->files = v;
		t->fcap = ncap;
	}
	if (path[0] != '/') {
		f.arena_off = arena_join(t->nm, t->dirs[idx], path);
		if (!f.arena_off)
			return -ENOMEM;
	}
	t->files[t->nfiles++] = f;
	return 0;
}

static int read_tables(const struct dw_sections *s, struct dw_cur *c, const struct line_hdr *h,
		       const char *comp_dir, struct tables *t)
{
	int r;

	if (h->version >= 5) {
		r = read_v5_table(s, c, h->offset_size, false, add_dir, t);
		if (r == 0)
			r = read_v5_table(s, c, h->offset_size, true, add_file, t);
		return r;
	}
	/* DWARF 2-4: directory 0 is comp_dir, file 0 does not exist ("???") */
	r = add_dir(t, comp_dir, 0);
	while (r == 0 && c->p < c->end && *c->p)
		r = add_dir(t, dw_cstr(c), 0);
	if (r < 0)
		return r;
	if (c->p >= c->end)
		return -ENOTSUP;
	c->p++;
	t->files = malloc(32 * sizeof(*t->files));
	if (!t->files)
		return -ENOMEM;
	t->fcap = 32;
	t->files[t->nfiles++] = (struct fname_slot){ .direct = "???" };
	if (c->p >= c->end)
		return -ENOTSUP;
	while (c->p < c->end && *c->p) {
		const char *name = dw_cstr(c);
		uint64_t idx = dw_uleb(c);

		dw_uleb(c); /* mtime */
		dw_uleb(c); /* length */
		if (c->bad)
			return -ENOTSUP;
		r = add_file(t, name, idx);
		if (r < 0)
			return r;
	}
	if (c->p >= c->end)
		return -ENOTSUP;
	c->p++;
	return 0;
}

/* Stable merge sort of rows by (address, end of sequence first). */
static bool row_before(const struct line_row *a, const struct line_row *b)
{
	return a->addr < b->addr || (a->addr == b->addr && a->end_seq > b->end_seq);
}

/* Merge the sorted runs of v (sequences mostly come in order) pairwise
 * until one is left, between v and tmp; the result ends up in v. */
static void sort_rows(struct line_row *v, struct line_row *tmp, size_t n)
{
	struct line_row *src = v, *dst = tmp, *x;
	bool single = false;

	while (!single) {
		size_t lo = 0;

		single = true;
		while (lo < n) {
			size_t mid = lo + 1, hi;

			while (mid < n && !row_before(&src[mid], &src[mid - 1]))
				mid++;
			hi = mid < n ? mid + 1 : n;
			while (hi < n && !row_before(&src[hi], &src[hi - 1]))
				hi++;
			if (lo != 0 || hi != n)
				single = false;
			for (size_t i = lo, j = mid, k = lo; k < hi; k++)
				dst[k] = j >= hi || (i < mid && !row_before(&src[j], &src[i])) ? src[i++] : src[j++];
			lo = hi;
		}
		x = src;
		src = dst;
		dst = x;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

struct state {
	uint64_t addr;
	uint64_t file;
	int64_t line;
	uint64_t column;
	uint64_t discriminator;
};

static int push_row(struct dw_line_table *t, size_t *cap, size_t max, const struct state *st, bool end)
{
	struct line_row *r;

	/* libdw keeps these in narrower fields and rejects the table when one
	 * does not fit */
	if (st->line < INT32_MIN || st->line > INT32_MAX || st->column > 0xffff ||
	    st->file > UINT32_MAX || st->discriminator >= (1u << 24))
		return -ENOTSUP;
	if (t->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct line_row *v;

		if (t->nrows >= max)
			return -EFBIG;
		v = realloc(t->rows, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->rows = v;
		*cap = ncap;
	}
	r = &t->rows[t->nrows++];
	*r = (struct line_row){
		.addr = st->addr,
		.file = (const char *)(uintptr_t)st->file, /* an index until the end */
		.line = st->line > 0 ? (uint32_t)st->line : 0,
		.column = (uint16_t)st->column,
		.end_seq = end,
		.discriminator = (uint32_t)st->discriminator,
	};
	return 0;
}

static int run_program(const struct dw_sections *s, const struct line_hdr *h, unsigned addr_size,
		       size_t max, struct dw_line_table *t)
{
	struct dw_cur c = { s->p[DW_SEC_LINE] + h->prog_start, s->p[DW_SEC_LINE] + h->unit_end,
			    s->big_endian, false };
	struct state st = { .file = 1, .line = 1 };
	size_t cap = (size_t)(c.end - c.p) + 1; /* a row takes a byte at least */
	int r = 0;

	/* Room for the most rows the program can make, at once: the pages
	 * never written are never touched (doubling would copy and leave the
	 * heap fragmented); trimmed to the rows made at the end. */
	if (cap > max)
		cap = max;
	t->rows = malloc(cap * sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;

#define STD_LEN(op) (h->std_lengths[(op) - 1])
	while (c.p < c.end && r == 0) {
		unsigned op = *c.p++;

		if (op >= h->opcode_base) {
			unsigned adj = op - h->opcode_base;

			if (h->line_range == 0)
				return -ENOTSUP;
			st.line += h->line_base + (int)(adj % h->line_range);
			st.addr += (uint64_t)h->min_insn_len * (adj / h->line_range);
			r = push_row(t, &cap, max, &st, false);
			st.discriminator = 0;
		} else if (op == 0) {
			uint64_t len;
			const uint8_t *start;
			unsigned sub;

			if (c.end - c.p < 2)
				return -ENOTSUP;
			len = *c.p++; /* libdw reads one byte here, not a ULEB128 */
			if ((len & 0x80) || len == 0 || (size_t)(c.end - c.p) < len)
				return -ENOTSUP;
			start = c.p;
			sub = *c.p++;
			switch (sub) {
			case DW_LNE_end_sequence:
				if (len != 1)
					return -ENOTSUP;
				r = push_row(t, &cap, max, &st, true);
				st = (struct state){ .file = 1, .line = 1 };
				break;
			case DW_LNE_set_address:
				if ((size_t)(c.end - c.p) < addr_size || len != 1 + addr_size)
					return -ENOTSUP;
				st.addr = dw_u(&c, addr_size);
				break;
			case DW_LNE_set_discriminator:
				if (h->opcode_base <= DW_LNE_set_discriminator ||
				    STD_LEN(DW_LNE_set_discriminator) != 1)
					return -ENOTSUP;
				st.discriminator = dw_uleb(&c);
				if (c.p != start + len)
					return -ENOTSUP;
				break;
			default: /* define_file, vendor ones: libdw's business */
				return -ENOTSUP;
			}
		} else if (op <= DW_LNS_set_isa) {
			static const uint8_t nargs[] = { 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1 };
			uint64_t u;
			int64_t sv;

			if (STD_LEN(op) != nargs[op])
				return -ENOTSUP;
			switch (op) {
			case DW_LNS_copy:
				r = push_row(t, &cap, max, &st, false);
				st.discriminator = 0;
				break;
			case DW_LNS_advance_pc:
				u = dw_uleb(&c);
				if (u > UINT32_MAX || u * h->min_insn_len > UINT32_MAX)
					return -ENOTSUP; /* libdw computes it in 32 bits */
				st.addr += (uint64_t)h->min_insn_len * u;
				break;
			case DW_LNS_advance_line:
				sv = dw_sleb(&c);
				if (sv < INT32_MIN || sv > INT32_MAX)
					return -ENOTSUP;
				st.line += sv;
				break;
			case DW_LNS_set_file:
				st.file = dw_uleb(&c);
				break;
			case DW_LNS_set_column:
				st.column = dw_uleb(&c);
				break;
			case DW_LNS_const_add_pc:
				if (h->line_range == 0)
					return -ENOTSUP;
				st.addr += (uint64_t)h->min_insn_len * ((255 - h->opcode_base) / h->line_range);
				break;
			case DW_LNS_fixed_advance_pc:
				st.addr += dw_u(&c, 2);
				break;
			case DW_LNS_set_isa:
				if (dw_uleb(&c) > 0xff)
					return -ENOTSUP;
				break;
			default: /* negate_stmt, basic_block, prologue_end, epilogue_begin */
				break;
			}
		} else {
			for (unsigned n = STD_LEN(op); n > 0; n--)
				dw_uleb(&c);
		}
		if (c.bad)
			return -ENOTSUP;
	}
#undef STD_LEN
	if (r == 0 && t->nrows < cap) {
		struct line_row *v = realloc(t->rows, (t->nrows ? t->nrows : 1) * sizeof(*v));

		if (v)
			t->rows = v;
	}
	return r;
}

void dw_line_free(struct dw_line_table *t)
{
	free(t->rows);
	free(t->fnames);
	free(t->strings);
	*t = (struct dw_line_table){ 0 };
}

int dw_line_read(const struct dw_sections *s, uint64_t off, unsigned addr_size,
		 const char *comp_dir, size_t max, struct dw_line_table *out)
{
	struct names nm = { 0 };
	struct tables t = { .nm = &nm, .max = max };
	size_t clen = comp_dir ? strlen(comp_dir) : 0;
	struct line_hdr h;
	struct dw_cur c;
	int r;

	*out = (struct dw_line_table){ 0 };
	if (!s->p[DW_SEC_LINE] || off >= s->size[DW_SEC_LINE] || (addr_size != 4 && addr_size != 8))
		return -ENOTSUP;
	r = read_header(s, off, addr_size, &c, &h);
	if (r == 0) {
		c.end = s->p[DW_SEC_LINE] + h.prog_start;
		r = read_tables(s, &c, &h, comp_dir, &t);
	}
	if (r == 0 && c.p != c.end)
		r = -ENOTSUP; /* the tables do not end where the header says */
	if (r == 0)
		r = run_program(s, &h, addr_size, max, out);
	if (r == 0 && out->nrows) {
		bool sorted = true;

		for (size_t i = 1; i < out->nrows && sorted; i++)
			sorted = !row_before(&out->rows[i], &out->rows[i - 1]);
		if (!sorted) {
			struct line_row *tmp = malloc(out->nrows * sizeof(*tmp));

			if (!tmp)
				r = -ENOMEM;
			else
				sort_rows(out->rows, tmp, out->nrows);
			free(tmp);
		}
		out->rows[out->nrows - 1].end_seq = 1;
	}
	/* Final names: relative ones joined to comp_dir too (what
	 * load_file_names() in dwarf_index.c does with libdw's names). */
	if (r == 0 && t.nfiles) {
		out->fnames = calloc(t.nfiles, sizeof(*out->fnames));
		if (!out->fnames)
			r = -ENOMEM;
		for (size_t i = 0; i < t.nfiles && r == 0; i++) {
			struct fname_slot *f = &t.files[i];
			const char *base = f->arena_off ? nm.arena + f->arena_off - 1 : f->direct;

			if (base[0] != '/' && clen) {
				/* base may point into the arena, which may move */
				size_t boff = f->arena_off, o;

				if (boff) {
					char *copy = strdup(base);

					o = copy ? arena_join(&nm, comp_dir, copy) : 0;
					free(copy);
				} else {
					o = arena_join(&nm, comp_dir, base);
				}
				if (!o)
					r = -ENOMEM;
				f->arena_off = o;
			}
		}
		for (size_t i = 0; i < t.nfiles && r == 0; i++)
			out->fnames[i] = t.files[i].arena_off ? nm.arena + t.files[i].arena_off - 1
							      : t.files[i].direct;
		out->nfnames = t.nfiles;
		out->strings = nm.arena;
		nm.arena = NULL;
	}
	if (r == 0)
		for (size_t i = 0; i < out->nrows; i++) {
			size_t f = (size_t)(uintptr_t)out->rows[i].file;

			out->rows[i].file = f < out->nfnames ? out->fnames[f] : NULL;
		}
	free(t.dirs);
	free(t.files);
	free(nm.arena);
	if (r < 0)
		dw_line_free(out);
	return r;
}
