/* dwarf_index.c: DWARF line tables and inline chains, indexed for binary
 * search.
 *
 * At open only the compile units' address ranges are read (one DIE per CU)
 * into a sorted array mapping an address to its CU. The first address that
 * falls in a CU loads that CU:
 *   - its line table into rows, sorted by address, and its file names;
 *   - its scopes: every subprogram with code and every inlined subroutine
 *     (name, call_file, call_line, parent scope), found by walking only the
 *     DIEs that can hold code (subprograms, inlined subroutines, lexical
 *     blocks, namespaces; the name of an inline function looked up once
 *     per CU); their address ranges are then flattened by a sweep into
 *     non-overlapping segments, each naming the innermost scope.
 * An address is then: CU by binary search, segment by binary search (the
 * innermost scope; its parents give the inline chain with each call site),
 * line row by binary search. This is the chain `addr2line -f -i` prints.
 *
 * The DWARF is read by our own readers (dwarf_sections.c decompresses the
 * sections once with libdeflate, dwarf_die.c walks the DIEs, dwarf_line.c
 * runs the line program): a cold symbolize of glibc spent three quarters
 * of its time in zlib, dwarf_getsrclines() and libdw's DIE walk. They
 * answer what libdw answers; what they leave to libdw (-ENOTSUP: an
 * unusual form, split DWARF, data libdw treats in its own way) is read
 * with libdw, for the whole file or for that CU, opened on first need
 * (debug sections the index never reads hidden from it first, so that it
 * does not decompress them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>

#include "dwarf_die.h"
#include "symbol_internal.h"

/* Nesting depth a DIE walk follows (corrupt input must not overflow the
 * stack) and the most scopes/rows one CU may hold (bounded memory). */
#define MAX_WALK_DEPTH 128
#define MAX_CU_ITEMS (16u << 20)

struct raw_range {
	uint64_t lo, hi;
	int32_t scope;
	int32_t depth;
};

/* An origin DIE's name, cached (key: its offset + 1; 0: empty slot). */
struct name_slot {
	Dwarf_Off key;
	const char *name;
};

struct walk {
	struct cu *cu;
	struct name_slot *names; /* open addressing, power-of-two size */
	size_t nnames, names_cap;
	size_t scap;
	struct raw_range *raws;
	size_t nraws, rcap;
	Dwarf_Files *files;
	size_t nfiles;
};

/* ---------- open: CU ranges ---------- */

static int add_cu_range(struct ll_symbolizer *s, size_t *cap, uint64_t lo, uint64_t hi, uint32_t cu)
{
	if (s->ncu_ranges == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct cu_range *v = realloc(s->cu_ranges, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->cu_ranges = v;
		*cap = ncap;
	}
	s->cu_ranges[s->ncu_ranges++] = (struct cu_range){ lo, hi, cu };
	return 0;
}

static int cmp_cu_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

/* Debug sections the index never reads (locations, call frames, macros,
 * name and address lookup tables). libdw decompresses every compressed
 * .debug_* section when dwarf_begin_elf() opens the file; in libc6-dbg's
 * libc .debug_loclists alone is a fifth of the compressed DWARF. Marking
 * these section headers SHT_NOBITS (in libelf's copy of the headers: the
 * Elf is opened read-only, elf_open.c; never in the file) makes libdw skip
 * them. Nothing else of the symbolizer reads these sections. */
static const char *const unneeded_sections[] = {
	"loc", "loclists", "aranges", "frame", "macro", "macinfo", "pubnames",
	"pubtypes", "gnu_pubnames", "gnu_pubtypes", "names",
};

static void hide_unneeded_sections(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(n = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strncmp(n, ".debug_", 7))
			n += 7;
		else if (!strncmp(n, ".zdebug_", 8))
			n += 8;
		else
			continue;
		for (size_t i = 0; i < sizeof(unneeded_sections) / sizeof(*unneeded_sections); i++) {
			if (!strcmp(n, unneeded_sections[i])) {
				sh.sh_type = SHT_NOBITS;
				gelf_update_shdr(scn, &sh);
				break;
			}
		}
	}
}

static int grow_cus(struct ll_symbolizer *s, size_t *ccap, Dwarf_Off off, uint32_t *idx)
{
	if (s->ncus == *ccap) {
		size_t ncap = *ccap ? *ccap * 2 : 64;
		struct cu *v = realloc(s->cus, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->cus = v;
		*ccap = ncap;
	}
	*idx = (uint32_t)s->ncus++;
	s->cus[*idx] = (struct cu){ .off = off };
	return 0;
}

/* The CU ranges with libdw. */
static int open_libdw(struct ll_symbolizer *s)
{
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	size_t ccap = 0, rcap = 0;

	s->dwarf = dwarf_begin_elf(s->dwarf_elf, DWARF_C_READ, NULL);
	if (!s->dwarf) {
		s->dwarf_failed = true;
		return 0; /* no usable DWARF: symbols still answer */
	}
	s->has_dwarf = true;
	while (dwarf_get_units(s->dwarf, cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
		ptrdiff_t off = 0;
		Dwarf_Addr base, lo, hi;
		uint32_t idx;

		cu = next;
		if (unit_type != DW_UT_compile || dwarf_tag(&cudie) != DW_TAG_compile_unit)
			continue; /* partial, type and split units hold no code ranges */
		if (grow_cus(s, &ccap, dwarf_dieoffset(&cudie), &idx) < 0)
			return -ENOMEM;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0)
			if (hi > lo && add_cu_range(s, &rcap, lo, hi, idx) < 0)
				return -ENOMEM;
	}
	return 0;
}

struct own_range {
	struct ll_symbolizer *s;
	size_t *rcap;
	uint32_t cu;
};

static int own_cu_range(void *arg, uint64_t lo, uint64_t hi)
{
	struct own_range *o = arg;

	return hi > lo ? add_cu_range(o->s, o->rcap, lo, hi, o->cu) : 0;
}

/* The CU ranges with our reader; -ENOTSUP: use libdw. */
static int open_own(struct ll_symbolizer *s)
{
	size_t ccap = 0, rcap = 0, n = dw_file_nunits(s->dw);

	for (size_t i = 0; i < n; i++) {
		const struct dw_unit *u = dw_file_unit(s->dw, i);
		struct own_range o = { s, &rcap, 0 };
		struct dw_die cu;
		int r;

		if (u->unit_type != DW_UT_compile)
			continue;
		r = dw_unit_die(s->dw, i, false, &cu);
		if (r < 0)
			return r;
		if (cu.tag != DW_TAG_compile_unit)
			continue;
		r = grow_cus(s, &ccap, u->die_off, &o.cu);
		if (r == 0)
			r = dw_die_ranges(s->dw, u, &cu, own_cu_range, &o);
		if (r < 0)
			return r;
	}
	return 0;
}

int dwarf_index_open(struct ll_symbolizer *s)
{
	int r;

	if (s->debug_elf)
		s->dwarf_elf = s->debug_elf;
	else if (s->debug_how && !strcmp(s->debug_how, "embedded"))
		s->dwarf_elf = s->elf;
	if (!s->dwarf_elf)
		return 0;
	hide_unneeded_sections(s->dwarf_elf);
	r = dw_file_open(s->dwarf_elf, &s->dw);
	if (r == 0) {
		r = open_own(s);
		if (r == 0) {
			s->has_dwarf = true;
		} else {
			dw_file_free(s->dw);
			s->dw = NULL;
			free(s->cus);
			free(s->cu_ranges);
			s->cus = NULL;
			s->cu_ranges = NULL;
			s->ncus = s->ncu_ranges = 0;
		}
	}
	if (r == -ENOMEM)
		return r;
	if (!s->dw) {
		r = open_libdw(s);
		if (r < 0)
			return r;
	}
	if (s->ncu_ranges)
		qsort(s->cu_ranges, s->ncu_ranges, sizeof(*s->cu_ranges), cmp_cu_range);
	return 0;
}

void dwarf_index_free(struct ll_symbolizer *s)
{
	for (size_t i = 0; i < s->ncus; i++) {
		free(s->cus[i].rows);
		free(s->cus[i].scopes);
		free(s->cus[i].segs);
		free(s->cus[i].fnames);
		free(s->cus[i].joined);
	}
	free(s->cus);
	free(s->cu_ranges);
	dw_file_free(s->dw);
	if (s->dwarf)
		dwarf_end(s->dwarf);
}

/* ---------- loading one CU ---------- */

/* Names of the CU's file table, relative ones joined to comp_dir. All
 * joined strings live in one buffer (c->joined). */
static int load_file_names(struct cu *c, Dwarf_Die *cudie, Dwarf_Files *files, size_t nfiles)
{
	Dwarf_Attribute a;
	const char *comp = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &a));
	size_t clen = comp ? strlen(comp) : 0, total = 0, w = 0;

	if (!files || nfiles == 0)
		return 0;
	if (nfiles > MAX_CU_ITEMS)
		return -EFBIG;
	c->fnames = calloc(nfiles, sizeof(*c->fnames));
	if (!c->fnames)
		return -ENOMEM;
	c->nfnames = nfiles;
	for (size_t i = 0; i < nfiles; i++) {
		const char *n = dwarf_filesrc(files, i, NULL, NULL);

		c->fnames[i] = n;
		if (n && n[0] != '/' && clen)
			total += clen + 1 + strlen(n) + 1;
	}
	if (total == 0)
		return 0;
	c->joined = malloc(total);
	if (!c->joined)
		return -ENOMEM;
	for (size_t i = 0; i < nfiles; i++) {
		const char *n = c->fnames[i];

		if (n && n[0] != '/' && clen) {
			size_t nlen = strlen(n);
			char *d = c->joined + w;

			memcpy(d, comp, clen);
			d[clen] = '/';
			memcpy(d + clen + 1, n, nlen + 1);
			c->fnames[i] = d;
			w += clen + 1 + nlen + 1;
		}
	}
	return 0;
}

static const char *file_name(const struct cu *c, size_t idx)
{
	return idx < c->nfnames ? c->fnames[idx] : NULL;
}

static int load_lines(struct cu *c, Dwarf_Die *cudie)
{
	Dwarf_Lines *lines;
	size_t n;

	if (dwarf_getsrclines(cudie, &lines, &n) != 0 || n == 0)
		return 0;
	if (n > MAX_CU_ITEMS)
		return -EFBIG;
	c->rows = malloc(n * sizeof(*c->rows));
	if (!c->rows)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		struct line_row *r = &c->rows[c->nrows];
		Dwarf_Files *lfiles;
		size_t fidx = SIZE_MAX;
		Dwarf_Addr a;
		int line = 0, col = 0;
		bool end = false;
		unsigned disc = 0;

		if (!l || dwarf_lineaddr(l, &a) != 0)
			continue;
		dwarf_lineno(l, &line);
		dwarf_linecol(l, &col);
		dwarf_lineendsequence(l, &end);
		dwarf_linediscriminator(l, &disc);
		r->addr = a;
		if (dwarf_line_file(l, &lfiles, &fidx) != 0)
			fidx = SIZE_MAX;
		r->file = file_name(c, fidx);
		r->line = line > 0 ? (uint32_t)line : 0;
		r->column = col > 0 && col < 65536 ? (uint16_t)col : 0;
		r->end_seq = end;
		r->discriminator = disc;
		c->nrows++;
	}
	return 0;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) && (n = dwarf_formstring(&a)))
		return n;
	if (dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a) && (n = dwarf_formstring(&a)))
		return n;
	if (dwarf_attr_integrate(die, DW_AT_name, &a) && (n = dwarf_formstring(&a)))
		return n;
	return NULL;
}

/* The attributes of a scope DIE the index reads, found in one pass over
 * its attributes (dwarf_attr() walks them again for each one asked). The
 * first of duplicated attributes counts, as with dwarf_attr(). */
struct scope_attrs {
	Dwarf_Attribute origin;
	bool has_origin, has_name;
	bool has_call_file, has_call_line, has_call_column;
	unsigned call_file, call_line, call_column;
};

static unsigned attr_udata(Dwarf_Attribute *a)
{
	Dwarf_Word w;

	return dwarf_formudata(a, &w) != 0 || w > UINT32_MAX ? 0 : (unsigned)w;
}

static int collect_attr(Dwarf_Attribute *a, void *arg)
{
	struct scope_attrs *sa = arg;

	switch (dwarf_whatattr(a)) {
	case DW_AT_abstract_origin:
		if (!sa->has_origin)
			sa->origin = *a;
		sa->has_origin = true;
		break;
	case DW_AT_name:
	case DW_AT_linkage_name:
	case DW_AT_MIPS_linkage_name:
		sa->has_name = true;
		break;
	case DW_AT_call_file:
		if (!sa->has_call_file)
			sa->call_file = attr_udata(a);
		sa->has_call_file = true;
		break;
	case DW_AT_call_line:
		if (!sa->has_call_line)
			sa->call_line = attr_udata(a);
		sa->has_call_line = true;
		break;
	case DW_AT_call_column:
		if (!sa->has_call_column)
			sa->call_column = attr_udata(a);
		sa->has_call_column = true;
		break;
	default:
		break;
	}
	return DWARF_CB_OK;
}

/* The name of an inlined instance (or out-of-line copy) is its abstract
 * origin's: all instances of one inline function name the same origin DIE,
 * so the origin's name is looked up once per CU (with many inlined calls,
 * following the origin three times per instance was a third of the work).
 * A DIE with a name of its own, or no origin, is looked up by die_name()
 * directly; the answer is the same either way (dwarf_attr_integrate looks
 * at the DIE's own attributes, then at its origin's). */
/* The slot of key in the CU's cache of origin names (empty when new), or
 * NULL without memory. */
static struct name_slot *name_slot(struct walk *w, Dwarf_Off key)
{
	size_t h;

	if (w->nnames * 2 >= w->names_cap) { /* grow (and rehash) at half full */
		size_t ncap = w->names_cap ? w->names_cap * 2 : 256;
		struct name_slot *v = calloc(ncap, sizeof(*v));

		if (!v)
			return NULL;
		for (size_t i = 0; i < w->names_cap; i++) {
			if (!w->names[i].key)
				continue;
			h = (size_t)(w->names[i].key * 0x9e3779b97f4a7c15ull >> 32) & (ncap - 1);
			while (v[h].key)
				h = (h + 1) & (ncap - 1);
			v[h] = w->names[i];
		}
		free(w->names);
		w->names = v;
		w->names_cap = ncap;
	}
	h = (size_t)(key * 0x9e3779b97f4a7c15ull >> 32) & (w->names_cap - 1);
	while (w->names[h].key && w->names[h].key != key)
		h = (h + 1) & (w->names_cap - 1);
	return &w->names[h];
}

static const char *scope_name(struct walk *w, Dwarf_Die *die, struct scope_attrs *sa)
{
	Dwarf_Die origin;
	struct name_slot *slot;
	Dwarf_Off key;

	if (!sa->has_origin || sa->has_name || !dwarf_formref_die(&sa->origin, &origin))
		return die_name(die);
	key = dwarf_dieoffset(&origin) + 1;
	slot = name_slot(w, key);
	if (!slot)
		return die_name(&origin);
	if (!slot->key) {
		*slot = (struct name_slot){ key, die_name(&origin) };
		w->nnames++;
	}
	return slot->name;
}

static int push_raw(struct walk *w, uint64_t lo, uint64_t hi, int32_t scope, int32_t depth)
{
	if (w->nraws == w->rcap) {
		size_t ncap = w->rcap ? w->rcap * 2 : 256;
		struct raw_range *v;

		if (ncap > MAX_CU_ITEMS)
			return -EFBIG;
		v = realloc(w->raws, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->raws = v;
		w->rcap = ncap;
	}
	w->raws[w->nraws++] = (struct raw_range){ lo, hi, scope, depth };
	return 0;
}

/* Room for one more scope; 0 or -errno. */
static int reserve_scope(struct walk *w)
{
	struct cu *c = w->cu;

	if (c->nscopes == w->scap) {
		size_t ncap = w->scap ? w->scap * 2 : 64;
		struct scope *v;

		if (ncap > MAX_CU_ITEMS)
			return -EFBIG;
		v = realloc(c->scopes, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->scopes = v;
		w->scap = ncap;
	}
	return 0;
}

/* Record a subprogram or inlined subroutine with code; returns its scope
 * index, -1 when it has no address range, or a negative errno below -1. */
static int add_scope(struct walk *w, Dwarf_Die *die, int32_t parent, int depth, bool inlined)
{
	struct cu *c = w->cu;
	struct scope_attrs sa = { .has_origin = false };
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int32_t idx;
	bool any = false;
	int r;

	r = reserve_scope(w);
	if (r < 0)
		return r;
	idx = (int32_t)c->nscopes;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		r = push_raw(w, lo, hi, idx, depth);
		if (r < 0)
			return r;
		any = true;
	}
	if (!any)
		return -1;
	dwarf_getattrs(die, collect_attr, &sa, 0);
	c->scopes[idx] = (struct scope){ .name = scope_name(w, die, &sa), .parent = inlined ? parent : -1 };
	if (inlined) {
		c->scopes[idx].call_file = file_name(c, sa.call_file);
		c->scopes[idx].call_line = sa.call_line;
		c->scopes[idx].call_column = sa.call_column;
	}
	c->nscopes++;
	return idx;
}

static int walk_dies(struct walk *w, Dwarf_Die *parent, int32_t pscope, int depth)
{
	Dwarf_Die child;
	int r;

	if (depth > MAX_WALK_DEPTH || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);

		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine: {
			bool inl = tag == DW_TAG_inlined_subroutine;

			if (inl && pscope < 0)
				break; /* an inlined call outside any function */
			r = add_scope(w, &child, pscope, depth, inl);
			if (r < -1)
				return r;
			if (r >= 0 && (r = walk_dies(w, &child, r, depth + 1)) < 0)
				return r;
			break;
		}
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
			if ((r = walk_dies(w, &child, pscope, depth + 1)) < 0)
				return r;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static int cmp_raw(const void *a, const void *b)
{
	const struct raw_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth - y->depth;
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static int emit(struct cu *c, size_t *cap, uint64_t lo, uint64_t hi, int32_t scope)
{
	if (lo >= hi)
		return 0;
	if (c->nsegs && c->segs[c->nsegs - 1].hi == lo && c->segs[c->nsegs - 1].scope == scope) {
		c->segs[c->nsegs - 1].hi = hi;
		return 0;
	}
	if (c->nsegs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct segment *v = realloc(c->segs, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->segs = v;
		*cap = ncap;
	}
	c->segs[c->nsegs++] = (struct segment){ lo, hi, scope };
	return 0;
}

/* Sweep the nested ranges into non-overlapping segments of innermost scope. */
static int flatten(struct walk *w)
{
	struct cu *c = w->cu;
	struct raw_range *stack;
	size_t sp = 0, cap = 0;
	uint64_t pos = 0;
	int r = 0;

	bool sorted = true;

	if (w->nraws == 0)
		return 0;
	for (size_t i = 1; i < w->nraws && sorted; i++)
		sorted = cmp_raw(&w->raws[i - 1], &w->raws[i]) <= 0;
	if (!sorted) /* DIE order is mostly address order already */
		qsort(w->raws, w->nraws, sizeof(*w->raws), cmp_raw);
	stack = malloc(w->nraws * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	for (size_t i = 0; i < w->nraws && r == 0; i++) {
		struct raw_range e = w->raws[i];

		while (sp > 0 && stack[sp - 1].hi <= e.lo && r == 0) {
			if (pos < stack[sp - 1].hi)
				r = emit(c, &cap, pos, stack[sp - 1].hi, stack[sp - 1].scope);
			if (pos < stack[sp - 1].hi)
				pos = stack[sp - 1].hi;
			sp--;
		}
		if (r)
			break;
		if (sp > 0 && pos < e.lo)
			r = emit(c, &cap, pos, e.lo, stack[sp - 1].scope);
		if (pos < e.lo || sp == 0)
			pos = e.lo;
		if (sp > 0 && e.hi > stack[sp - 1].hi)
			e.hi = stack[sp - 1].hi; /* improperly nested: clamp */
		if (e.hi <= e.lo || e.hi <= pos)
			continue;
		stack[sp++] = e;
	}
	while (sp > 0 && r == 0) {
		if (pos < stack[sp - 1].hi) {
			r = emit(c, &cap, pos, stack[sp - 1].hi, stack[sp - 1].scope);
			pos = stack[sp - 1].hi;
		}
		sp--;
	}
	free(stack);
	return r;
}

/* ---------- loading one CU with our readers ---------- */

struct own_scope {
	struct walk *w;
	int32_t idx;
	int depth;
	bool any;
};

static int own_scope_range(void *arg, uint64_t lo, uint64_t hi)
{
	struct own_scope *o = arg;
	int r;

	if (hi <= lo)
		return 0;
	r = push_raw(o->w, lo, hi, o->idx, o->depth);
	o->any |= r == 0;
	return r;
}

/* add_scope() for a DIE read by dwarf_die.c. */
static int own_add_scope(struct ll_symbolizer *s, struct walk *w, const struct dw_unit *u,
			 const struct dw_die *d, int32_t parent, int depth, bool inlined)
{
	struct cu *c = w->cu;
	struct own_scope o = { w, (int32_t)c->nscopes, depth, false };
	const char *name = NULL;
	int r = reserve_scope(w);

	if (r == 0)
		r = dw_die_ranges(s->dw, u, d, own_scope_range, &o);
	if (r < 0)
		return r == -1 ? -ENOTSUP : r;
	if (!o.any)
		return -1;
	if (d->has_origin && !d->has_any_name) {
		/* scope_name(): an inline function's name once per CU */
		struct name_slot *slot = name_slot(w, d->origin + 1);
		struct dw_die origin;

		if (slot && slot->key) {
			name = slot->name;
		} else {
			r = dw_die_at(s->dw, d->origin, &origin, NULL);
			if (r == 0)
				r = dw_die_name(s->dw, &origin, &name);
			if (r < 0)
				return -ENOTSUP;
			if (slot) {
				*slot = (struct name_slot){ d->origin + 1, name };
				w->nnames++;
			}
		}
	} else if (dw_die_name(s->dw, d, &name) < 0) {
		return -ENOTSUP;
	}
	c->scopes[o.idx] = (struct scope){ .name = name, .parent = inlined ? parent : -1 };
	if (inlined) {
		c->scopes[o.idx].call_file = file_name(c, d->call[0]);
		c->scopes[o.idx].call_line = d->call[1];
		c->scopes[o.idx].call_column = d->call[2];
	}
	c->nscopes++;
	return o.idx;
}

/* walk_dies() over the CU's DIEs in one pass: the lists walk_dies() would
 * descend into are "active" (a stack of their scope and depth); subtrees
 * it would not look at are skipped by counting nesting. */
static int own_walk(struct ll_symbolizer *s, struct walk *w, const struct dw_unit *u)
{
	struct {
		int32_t pscope;
	} stack[MAX_WALK_DEPTH + 2];
	struct dw_cur c = dw_unit_cursor(s->dw, u);
	struct dw_die d;
	int sp = 0, r;
	size_t skip = 0;

	r = dw_die_read(s->dw, u, &c, DW_READ_SKIP, &d); /* the CU DIE */
	if (r != 1)
		return -ENOTSUP;
	if (!d.children)
		return 0;
	stack[0].pscope = -1;
	while (sp >= 0) {
		int depth = sp; /* walk_dies()'s depth of this list */
		int tag;

		if (c.p >= c.end)
			break; /* libdw ends the walk at the end of the unit too */
		r = dw_die_read(s->dw, u, &c, skip ? DW_READ_SKIP : DW_READ_SCOPES, &d);
		if (r < 0)
			return r;
		if (r == 0) { /* end of a list */
			if (skip)
				skip--;
			else
				sp--;
			continue;
		}
		if (skip) {
			if (d.has_sibling) /* jump over the subtree */
				c.p = dw_file_sections(s->dw)->p[DW_SEC_INFO] + d.sibling;
			else
				skip += d.children;
			continue;
		}
		tag = (int)d.tag;
		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine: {
			bool inl = tag == DW_TAG_inlined_subroutine;
			int32_t ps = stack[sp].pscope;

			if (inl && ps < 0)
				break;
			/* without pc attributes: no range, as add_scope() finds */
			r = d.attrs ? own_add_scope(s, w, u, &d, ps, depth, inl) : -1;
			if (r < -1)
				return r;
			if (r >= 0 && d.children && depth + 1 <= MAX_WALK_DEPTH) {
				stack[++sp].pscope = r;
				continue;
			}
			break;
		}
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
			if (d.children && depth + 1 <= MAX_WALK_DEPTH) {
				stack[sp + 1].pscope = stack[sp].pscope;
				sp++;
				continue;
			}
			break;
		default:
			break;
		}
		if (d.has_sibling) /* not descended into: jump over it */
			c.p = dw_file_sections(s->dw)->p[DW_SEC_INFO] + d.sibling;
		else
			skip += d.children;
	}
	return 0;
}

static int load_cu_own(struct ll_symbolizer *s, struct cu *c)
{
	const struct dw_unit *u = dw_unit_of(s->dw, c->off);
	struct walk w = { .cu = c };
	struct dw_die cu;
	int r;

	if (!u)
		return -ENOTSUP;
	r = dw_unit_die(s->dw, (size_t)(u - dw_file_unit(s->dw, 0)), true, &cu);
	if (r == 0 && cu.has_stmt_list) {
		struct dw_line_table t;

		r = dw_line_read(dw_file_sections(s->dw), cu.stmt_list, u->addr_size, cu.comp_dir,
				 MAX_CU_ITEMS, &t);
		if (r == 0) {
			c->rows = t.rows;
			c->nrows = t.nrows;
			c->fnames = t.fnames;
			c->nfnames = t.nfnames;
			c->joined = t.strings;
		}
	}
	if (r == 0)
		r = own_walk(s, &w, u);
	if (r == 0)
		r = flatten(&w);
	free(w.raws);
	free(w.names);
	return r;
}

/* ---------- loading one CU with libdw ---------- */

static int load_cu_libdw(struct ll_symbolizer *s, struct cu *c)
{
	struct walk w = { .cu = c };
	Dwarf_Die cudie;
	int r;

	if (!s->dwarf && !s->dwarf_failed) {
		s->dwarf = dwarf_begin_elf(s->dwarf_elf, DWARF_C_READ, NULL);
		s->dwarf_failed = !s->dwarf;
	}
	if (!s->dwarf || !dwarf_offdie(s->dwarf, c->off, &cudie))
		return -ENODATA;
	if (dwarf_getsrcfiles(&cudie, &w.files, &w.nfiles) != 0)
		w.files = NULL;
	r = load_file_names(c, &cudie, w.files, w.nfiles);
	if (r == 0)
		r = load_lines(c, &cudie);
	if (r == 0)
		r = walk_dies(&w, &cudie, -1, 0);
	if (r == 0)
		r = flatten(&w);
	free(w.raws);
	free(w.names);
	return r;
}

static void cu_reset(struct cu *c, bool failed)
{
	free(c->rows);
	free(c->scopes);
	free(c->segs);
	free(c->fnames);
	free(c->joined);
	*c = (struct cu){ .off = c->off, .loaded = true, .failed = failed };
}

/* Give back what the doubling arrays did not use. */
static void cu_trim(struct cu *c)
{
	struct scope *sc = c->nscopes ? realloc(c->scopes, c->nscopes * sizeof(*sc)) : NULL;
	struct segment *sg = c->nsegs ? realloc(c->segs, c->nsegs * sizeof(*sg)) : NULL;

	if (sc)
		c->scopes = sc;
	if (sg)
		c->segs = sg;
}

static int load_cu(struct ll_symbolizer *s, struct cu *c)
{
	int r = -ENOTSUP;

	c->loaded = true;
	if (s->dw) {
		r = load_cu_own(s, c);
		if (r == -ENOTSUP)
			cu_reset(c, false);
	}
	if (r == -ENOTSUP)
		r = load_cu_libdw(s, c);
	if (r < 0)
		cu_reset(c, true);
	else
		cu_trim(c);
	return r;
}

int dwarf_index_load_cu(struct ll_symbolizer *s, struct cu *c)
{
	if (c->loaded || !s->has_dwarf)
		return 0;
	return load_cu(s, c);
}

/* ---------- lookup ---------- */

/* The last index i in [0, n) with key(i) <= addr, or n when none: a binary
 * search, after trying the hint and the one after it (a batch sorted by
 * address mostly stays in place or moves on by one). */
#define LAST_AT_OR_BELOW(v, n, field, addr, hint)                                   \
	({                                                                           \
		size_t lo_ = 0, hi_ = (n), h_ = (hint), r_;                          \
		if (h_ < (n) && (v)[h_].field <= (addr) &&                           \
		    (h_ + 1 == (n) || (v)[h_ + 1].field > (addr))) {                 \
			r_ = h_;                                                     \
		} else if (h_ + 1 < (n) && (v)[h_ + 1].field <= (addr) &&            \
			   (h_ + 2 == (n) || (v)[h_ + 2].field > (addr))) {          \
			r_ = h_ + 1;                                                 \
		} else {                                                             \
			while (lo_ < hi_) {                                          \
				size_t mid_ = lo_ + (hi_ - lo_) / 2;                 \
				if ((v)[mid_].field <= (addr))                       \
					lo_ = mid_ + 1;                              \
				else                                                 \
					hi_ = mid_;                                  \
			}                                                            \
			r_ = lo_ ? lo_ - 1 : (n);                                    \
		}                                                                    \
		r_;                                                                  \
	})

static struct cu *find_cu(struct ll_symbolizer *s, uint64_t addr)
{
	size_t i = LAST_AT_OR_BELOW(s->cu_ranges, s->ncu_ranges, lo, addr, s->range_hint);

	if (i == s->ncu_ranges)
		return NULL;
	s->range_hint = i;
	/* Ranges of distinct CUs may overlap (e.g. discarded code left at 0):
	 * look back a little for one that contains addr. */
	for (size_t k = 0; k < 8; k++, i--) {
		if (addr < s->cu_ranges[i].hi)
			return &s->cus[s->cu_ranges[i].cu];
		if (i == 0)
			break;
	}
	return NULL;
}

static const struct line_row *find_row(struct cu *c, uint64_t addr)
{
	size_t i = LAST_AT_OR_BELOW(c->rows, c->nrows, addr, addr, c->row_hint);

	if (i == c->nrows)
		return NULL;
	/* Several rows may share an address: the answer is the last of them. */
	c->row_hint = i;
	if (c->rows[i].end_seq)
		return NULL;
	return &c->rows[i];
}

static int32_t find_scope(struct cu *c, uint64_t addr)
{
	size_t i = LAST_AT_OR_BELOW(c->segs, c->nsegs, lo, addr, c->seg_hint);

	if (i == c->nsegs)
		return -1;
	c->seg_hint = i;
	if (addr >= c->segs[i].hi)
		return -1;
	return c->segs[i].scope;
}

size_t dwarf_index_lookup(struct ll_symbolizer *s, uint64_t addr, struct ll_sym_result *out)
{
	struct cu *c;
	const struct line_row *row;
	int32_t sc;
	size_t n = 0;

	if ((!s->has_dwarf && !s->cached) || !(c = find_cu(s, addr)))
		return 0;
	if (!c->loaded)
		load_cu(s, c);
	if (c->failed)
		return 0;
	row = find_row(c, addr);
	sc = find_scope(c, addr);
	if (sc < 0 && !row)
		return 0;
	out->frames[0] = (struct ll_sym_frame){
		.function = sc >= 0 ? c->scopes[sc].name : NULL,
		.file = row ? row->file : NULL,
		.line = row ? row->line : 0,
		.column = row ? row->column : 0,
		.discriminator = row ? row->discriminator : 0,
		.inlined = sc >= 0 && c->scopes[sc].parent >= 0,
	};
	n = 1;
	while (sc >= 0 && c->scopes[sc].parent >= 0) {
		const struct scope *cur = &c->scopes[sc];
		int32_t p = cur->parent;

		if (n == LL_SYM_MAX_FRAMES) {
			out->truncated = true;
			break;
		}
		out->frames[n++] = (struct ll_sym_frame){
			.function = c->scopes[p].name,
			.file = cur->call_file,
			.line = cur->call_line,
			.column = cur->call_column,
			.inlined = c->scopes[p].parent >= 0,
		};
		sc = p;
	}
	return n;
}

/* ---------- checking our readers against libdw ---------- */

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_cu(const struct cu *a, const struct cu *b)
{
	if (a->nrows != b->nrows || a->nscopes != b->nscopes || a->nsegs != b->nsegs ||
	    a->nfnames != b->nfnames)
		return false;
	for (size_t i = 0; i < a->nrows; i++) {
		const struct line_row *x = &a->rows[i], *y = &b->rows[i];

		if (x->addr != y->addr || x->line != y->line || x->column != y->column ||
		    x->end_seq != y->end_seq || x->discriminator != y->discriminator ||
		    !same_str(x->file, y->file))
			return false;
	}
	for (size_t i = 0; i < a->nfnames; i++)
		if (!same_str(a->fnames[i], b->fnames[i]))
			return false;
	for (size_t i = 0; i < a->nscopes; i++) {
		const struct scope *x = &a->scopes[i], *y = &b->scopes[i];

		if (!same_str(x->name, y->name) || !same_str(x->call_file, y->call_file) ||
		    x->call_line != y->call_line || x->call_column != y->call_column || x->parent != y->parent)
			return false;
	}
	for (size_t i = 0; i < a->nsegs; i++)
		if (a->segs[i].lo != b->segs[i].lo || a->segs[i].hi != b->segs[i].hi ||
		    a->segs[i].scope != b->segs[i].scope)
			return false;
	return true;
}

/* The CU list and ranges libdw gives at open, against ours. */
static bool same_units(const struct ll_symbolizer *s)
{
	struct ll_symbolizer t = { .dwarf_elf = s->dwarf_elf };
	bool same = open_libdw(&t) == 0 && t.ncus == s->ncus && t.ncu_ranges == s->ncu_ranges;

	if (t.ncu_ranges)
		qsort(t.cu_ranges, t.ncu_ranges, sizeof(*t.cu_ranges), cmp_cu_range);
	for (size_t i = 0; same && i < t.ncus; i++)
		same = t.cus[i].off == s->cus[i].off;
	for (size_t i = 0; same && i < t.ncu_ranges; i++)
		same = t.cu_ranges[i].lo == s->cu_ranges[i].lo && t.cu_ranges[i].hi == s->cu_ranges[i].hi &&
		       t.cu_ranges[i].cu == s->cu_ranges[i].cu;
	free(t.cus);
	free(t.cu_ranges);
	if (t.dwarf)
		dwarf_end(t.dwarf);
	return same;
}

int dwarf_index_check_readers(struct ll_symbolizer *s, size_t *own, size_t *differ)
{
	*own = *differ = 0;
	if (!s->dw)
		return 0;
	if (!same_units(s)) {
		*differ = 1; /* the units or their ranges */
		return 0;
	}
	for (size_t i = 0; i < s->ncus; i++) {
		struct cu a = { .off = s->cus[i].off }, b = { .off = s->cus[i].off };
		int ra = load_cu_own(s, &a), rb = ra == 0 ? load_cu_libdw(s, &b) : 0;

		if (ra == -ENOTSUP) {
			cu_reset(&a, false);
			continue;
		}
		if (ra < 0 || rb < 0 || !same_cu(&a, &b))
			(*differ)++;
		else
			(*own)++;
		cu_reset(&a, false);
		cu_reset(&b, false);
	}
	return 0;
}
