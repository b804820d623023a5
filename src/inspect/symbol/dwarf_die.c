/* dwarf_die.c: unit headers, abbreviation tables and DIEs of .debug_info,
 * read without libdw, for the index (dwarf_index.c).
 *
 * Opening scans the unit headers once (offsets, version, sizes). A DIE is
 * read by its abbreviation (the table parsed once per unit, codes looked
 * up in an array; the tables of the last two units are kept, which covers
 * a CU's walk and a reference into another unit). Attributes whose forms
 * all have a fixed size are skipped in one step; of the others, only what
 * the index needs is decoded: the tag, children, pc range or range list,
 * abstract origin and specification, the three name attributes, call
 * site, and for the CU its comp_dir, stmt_list and table bases. The rules
 * are libdw's (dwarf_attr: the first of duplicated attributes; dwarf_ranges,
 * dwarf_attr_integrate for names); the forms and cases libdw answers in
 * another way are -ENOTSUP (see dwarf_read.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>

#include "dwarf_die.h"

#define MAX_ABBREV_CODE (1u << 20) /* codes are dense from 1: an array */
#define MAX_NAME_CHAIN 16          /* as dwarf_attr_integrate */

struct spec {
	uint16_t at, form;
	int16_t size;         /* fixed size of the value, -1 variable */
	int32_t implicit_idx; /* into implicit[] for DW_FORM_implicit_const */
};

struct abbrev {
	uint32_t tag;
	uint32_t first, n;  /* specs[first, first + n) */
	int32_t fixed;      /* bytes of all attributes when fixed, else -1 */
	int32_t sib_at;     /* where DW_AT_sibling's value is (fixed bytes before it), or -1 */
	uint16_t sib_form;
	bool children;
	bool used;
	bool need;          /* the walk reads its attributes (see abbrev_needed) */
};

struct abbrev_table {
	uint64_t off;       /* in .debug_abbrev; UINT64_MAX: empty slot */
	uint8_t addr_size, offset_size, version;
	struct abbrev *v;   /* by code */
	size_t ncodes;      /* room in v (zeroed beyond maxcode) */
	size_t maxcode;
	uint64_t stop;      /* parsed only up to this code (0: all) */
	struct spec *specs;
	size_t nspecs, scap;
	int64_t *implicit;
	size_t nimplicit, icap;
};

struct dw_file {
	struct dw_sections secs;
	struct dw_unit *units;
	size_t nunits;
	struct abbrev_table tabs[2];
	unsigned next_tab;
};

/* ---------- forms ---------- */

/* The size of a form's value when it does not depend on the bytes; -1 for
 * variable ones, -2 for forms this reader does not know. */
static int form_fixed_size(unsigned form, unsigned addr_size, unsigned offset_size, unsigned version)
{
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1: case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3: case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4: case DW_FORM_ref_sup4:
		return 4;
	case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_addr:
		return (int)addr_size;
	case DW_FORM_ref_addr:
		return version == 2 ? (int)addr_size : (int)offset_size;
	case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt:
		return (int)offset_size;
	case DW_FORM_sdata: case DW_FORM_udata: case DW_FORM_ref_udata: case DW_FORM_strx: case DW_FORM_addrx:
	case DW_FORM_loclistx: case DW_FORM_rnglistx: case DW_FORM_GNU_addr_index: case DW_FORM_GNU_str_index:
	case DW_FORM_string: case DW_FORM_block1: case DW_FORM_block2: case DW_FORM_block4:
	case DW_FORM_block: case DW_FORM_exprloc:
		return -1;
	default:
		return -2; /* DW_FORM_indirect and unknown ones */
	}
}

/* Skip a value of a variable-size form. */
static void skip_form(struct dw_cur *c, unsigned form)
{
	uint64_t n;

	switch (form) {
	case DW_FORM_string:
		dw_cstr(c);
		return;
	case DW_FORM_block1: n = dw_u(c, 1); break;
	case DW_FORM_block2: n = dw_u(c, 2); break;
	case DW_FORM_block4: n = dw_u(c, 4); break;
	case DW_FORM_block: case DW_FORM_exprloc: n = dw_uleb(c); break;
	default:
		dw_uleb(c); /* the LEB128 forms */
		return;
	}
	if (n > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		c->p = c->end;
	} else {
		c->p += n;
	}
}

/* Whether the walk reads a DIE's attributes: units, and subprograms and
 * inlined subroutines that can have code (a pc or range attribute; the
 * others, declarations among them, have no range: add_scope() would drop
 * them). Blocks and namespaces need their tag and children only. */
static bool abbrev_needed(const struct abbrev_table *t, const struct abbrev *a)
{
	if (a->tag == DW_TAG_compile_unit)
		return true;
	if (a->tag != DW_TAG_subprogram && a->tag != DW_TAG_inlined_subroutine)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		unsigned at = t->specs[a->first + i].at;

		if (at == DW_AT_low_pc || at == DW_AT_high_pc || at == DW_AT_ranges)
			return true;
	}
	return false;
}

/* ---------- abbreviations ---------- */

/* Empty the table, keeping its memory for the next unit's. */
static void table_clear(struct abbrev_table *t)
{
	if (t->v)
		memset(t->v, 0, (t->maxcode + 1) * sizeof(*t->v));
	t->maxcode = 0;
	t->off = UINT64_MAX;
	t->stop = 0;
	t->nspecs = t->nimplicit = 0;
}

static void table_free(struct abbrev_table *t)
{
	free(t->v);
	free(t->specs);
	free(t->implicit);
	*t = (struct abbrev_table){ .off = UINT64_MAX };
}

/* Parse the unit's abbreviations, all of them or (stop) up to that code. */
static int table_parse(const struct dw_file *f, const struct dw_unit *u, uint64_t stop, struct abbrev_table *t)
{
	struct dw_cur c = { f->secs.p[DW_SEC_ABBREV], f->secs.p[DW_SEC_ABBREV] + f->secs.size[DW_SEC_ABBREV],
			    f->secs.big_endian, false };
	if (u->abbrev_off >= f->secs.size[DW_SEC_ABBREV])
		return -ENOTSUP;
	c.p += u->abbrev_off;
	t->off = u->abbrev_off;
	t->addr_size = u->addr_size;
	t->offset_size = u->offset_size;
	t->version = u->version;
	t->stop = stop;
	for (;;) {
		uint64_t code = dw_uleb(&c), tag;
		struct abbrev *a;
		int fixed = 0;

		if (c.bad)
			return -ENOTSUP;
		if (code == 0)
			break;
		tag = dw_uleb(&c);
		if (c.bad || code >= MAX_ABBREV_CODE || tag > UINT32_MAX || c.p >= c.end)
			return -ENOTSUP;
		if (code >= t->ncodes) {
			size_t n = t->ncodes ? t->ncodes : 64;
			struct abbrev *v;

			while (n <= code)
				n *= 2;
			v = realloc(t->v, n * sizeof(*v));
			if (!v)
				return -ENOMEM;
			memset(v + t->ncodes, 0, (n - t->ncodes) * sizeof(*v));
			t->v = v;
			t->ncodes = n;
		}
		a = &t->v[code];
		if (code > t->maxcode)
			t->maxcode = code;
		if (a->used)
			continue; /* libdw keeps the first of a duplicated code */
		*a = (struct abbrev){ .tag = (uint32_t)tag, .first = (uint32_t)t->nspecs, .used = true,
				      .sib_at = -1 };
		a->children = *c.p++ != 0;
		for (;;) {
			uint64_t at = dw_uleb(&c), form = dw_uleb(&c);
			int64_t implicit = 0;
			int size;

			if (form == DW_FORM_implicit_const)
				implicit = dw_sleb(&c);
			if (c.bad || at > 0xffff || form > 0xffff)
				return -ENOTSUP;
			if (at == 0 && form == 0)
				break;
			size = form_fixed_size((unsigned)form, u->addr_size, u->offset_size, u->version);
			if (size == -2)
				return -ENOTSUP;
			if (t->nspecs == t->scap) {
				size_t n = t->scap ? t->scap * 2 : 256;
				struct spec *v = realloc(t->specs, n * sizeof(*v));

				if (!v)
					return -ENOMEM;
				t->specs = v;
				t->scap = n;
			}
			t->specs[t->nspecs] = (struct spec){ (uint16_t)at, (uint16_t)form, (int16_t)size, -1 };
			if (at == DW_AT_sibling && a->sib_at < 0 && fixed >= 0) {
				a->sib_at = fixed;
				a->sib_form = (uint16_t)form;
			}
			if (form == DW_FORM_implicit_const) {
				if (t->nimplicit == t->icap) {
					size_t n = t->icap ? t->icap * 2 : 16;
					int64_t *v = realloc(t->implicit, n * sizeof(*v));

					if (!v)
						return -ENOMEM;
					t->implicit = v;
					t->icap = n;
				}
				t->specs[t->nspecs].implicit_idx = (int32_t)t->nimplicit;
				t->implicit[t->nimplicit++] = implicit;
			}
			t->nspecs++;
			a->n++;
			if (fixed >= 0)
				fixed = size >= 0 ? fixed + size : -1;
		}
		a->fixed = fixed;
		a->need = abbrev_needed(t, a);
		if (stop && code == stop)
			return 0;
	}
	t->stop = 0; /* the whole table, whatever was asked */
	return 0;
}

/* The unit's abbreviation table: whole (code 0), or at least up to code
 * (enough for a CU DIE: opening reads only those). */
static int unit_table(struct dw_file *f, const struct dw_unit *u, uint64_t code, const struct abbrev_table **out)
{
	struct abbrev_table *t = NULL;
	int r;

	for (int i = 0; i < 2 && !t; i++) {
		struct abbrev_table *x = &f->tabs[i];

		if (x->off != u->abbrev_off || x->addr_size != u->addr_size ||
		    x->offset_size != u->offset_size || x->version != u->version)
			continue;
		if (!x->stop || (code && code < x->ncodes && x->v[code].used)) {
			*out = x;
			return 0;
		}
		t = x;    /* a part of this table: parse it whole */
		code = 0;
	}
	if (!t) {
		t = &f->tabs[f->next_tab];
		f->next_tab ^= 1;
	}
	table_clear(t);
	r = table_parse(f, u, code, t);
	if (r < 0) {
		table_clear(t);
		return r;
	}
	*out = t;
	return 0;
}

/* ---------- values ---------- */

/* A cursor on entry idx (of size bytes) of an index section (DW_AT_str_offsets_base,
 * DW_AT_addr_base tables of DWARF 5), bounds-checked. */
static int index_entry(const struct dw_file *f, int sec, bool has_base, uint64_t base, uint64_t idx,
		       unsigned size, struct dw_cur *c)
{
	uint64_t at;

	if (!has_base || !f->secs.p[sec])
		return -ENOTSUP;
	at = base + idx * size;
	if (idx > f->secs.size[sec] || at + size > f->secs.size[sec])
		return -ENOTSUP;
	*c = (struct dw_cur){ f->secs.p[sec] + at, f->secs.p[sec] + at + size, f->secs.big_endian, false };
	return 0;
}

static int read_str_offset(const struct dw_file *f, const struct dw_unit *u, uint64_t idx, const char **out)
{
	struct dw_cur c;

	if (index_entry(f, DW_SEC_STR_OFFSETS, u->has_str_base, u->str_offsets_base, idx, u->offset_size,
			&c) < 0)
		return -ENOTSUP;
	*out = dw_sec_str(&f->secs, DW_SEC_STR, dw_u(&c, u->offset_size));
	return *out ? 0 : -ENOTSUP;
}

static int read_addrx(const struct dw_file *f, const struct dw_unit *u, uint64_t idx, uint64_t *out)
{
	struct dw_cur c;

	if (index_entry(f, DW_SEC_ADDR, u->has_addr_base, u->addr_base, idx, u->addr_size, &c) < 0)
		return -ENOTSUP;
	*out = dw_u(&c, u->addr_size);
	return 0;
}

/* A string-class value. */
static int value_str(const struct dw_file *f, const struct dw_unit *u, struct dw_cur *c, unsigned form,
		     const char **out)
{
	switch (form) {
	case DW_FORM_string:
		*out = dw_cstr(c);
		return c->bad ? -ENOTSUP : 0;
	case DW_FORM_strp:
		*out = dw_sec_str(&f->secs, DW_SEC_STR, dw_u(c, u->offset_size));
		return *out ? 0 : -ENOTSUP;
	case DW_FORM_line_strp:
		*out = dw_sec_str(&f->secs, DW_SEC_LINE_STR, dw_u(c, u->offset_size));
		return *out ? 0 : -ENOTSUP;
	case DW_FORM_strx: return read_str_offset(f, u, dw_uleb(c), out);
	case DW_FORM_strx1: return read_str_offset(f, u, dw_u(c, 1), out);
	case DW_FORM_strx2: return read_str_offset(f, u, dw_u(c, 2), out);
	case DW_FORM_strx3: return read_str_offset(f, u, dw_u(c, 3), out);
	case DW_FORM_strx4: return read_str_offset(f, u, dw_u(c, 4), out);
	default:
		return -ENOTSUP;
	}
}

/* An address-class value (dwarf_formaddr); -EINVAL when the form is of
 * another class (dwarf_highpc then reads a constant). */
static int value_addr(const struct dw_file *f, const struct dw_unit *u, struct dw_cur *c, unsigned form,
		      uint64_t *out)
{
	switch (form) {
	case DW_FORM_addr: *out = dw_u(c, u->addr_size); return 0;
	case DW_FORM_addrx: return read_addrx(f, u, dw_uleb(c), out);
	case DW_FORM_addrx1: return read_addrx(f, u, dw_u(c, 1), out);
	case DW_FORM_addrx2: return read_addrx(f, u, dw_u(c, 2), out);
	case DW_FORM_addrx3: return read_addrx(f, u, dw_u(c, 3), out);
	case DW_FORM_addrx4: return read_addrx(f, u, dw_u(c, 4), out);
	default: return -EINVAL;
	}
}

/* A constant (dwarf_formudata for an attribute that is no section
 * pointer); -EINVAL when the form is no constant. */
static int value_const(const struct dw_unit *u, struct dw_cur *c, const struct abbrev_table *t,
		       const struct spec *sp, uint64_t *out)
{
	switch (sp->form) {
	case DW_FORM_data1: *out = dw_u(c, 1); return 0;
	case DW_FORM_data2: *out = dw_u(c, 2); return 0;
	case DW_FORM_data4:
	case DW_FORM_data8:
		if (u->version < 4)
			return -ENOTSUP; /* may be a section offset there: libdw's rules */
		*out = dw_u(c, sp->form == DW_FORM_data4 ? 4 : 8);
		return 0;
	case DW_FORM_udata: *out = dw_uleb(c); return 0;
	case DW_FORM_sdata: *out = (uint64_t)dw_sleb(c); return 0;
	case DW_FORM_implicit_const: *out = (uint64_t)t->implicit[sp->implicit_idx]; return 0;
	default: return -EINVAL;
	}
}

/* A reference as an offset in .debug_info. */
static int value_ref(const struct dw_unit *u, struct dw_cur *c, unsigned form, uint64_t *out)
{
	uint64_t v;

	switch (form) {
	case DW_FORM_ref1: v = dw_u(c, 1); break;
	case DW_FORM_ref2: v = dw_u(c, 2); break;
	case DW_FORM_ref4: v = dw_u(c, 4); break;
	case DW_FORM_ref8: v = dw_u(c, 8); break;
	case DW_FORM_ref_udata: v = dw_uleb(c); break;
	case DW_FORM_ref_addr:
		*out = dw_u(c, u->version == 2 ? u->addr_size : u->offset_size);
		return 0;
	default:
		return -ENOTSUP; /* type signatures, supplementary files */
	}
	if (v >= u->end - u->off)
		return -ENOTSUP;
	*out = u->off + v;
	return 0;
}

/* ---------- DIEs ---------- */

static int read_attrs(const struct dw_file *f, const struct dw_unit *u, const struct abbrev_table *t,
		      const struct abbrev *a, struct dw_cur *c, struct dw_die *d)
{
	const uint8_t *high_at = NULL, *low_at = NULL;
	const struct spec *high_sp = NULL, *low_sp = NULL;
	int r = 0;

	for (uint32_t i = 0; i < a->n && r == 0 && !c->bad; i++) {
		const struct spec *sp = &t->specs[a->first + i];
		int size;

		switch (sp->at) {
		case DW_AT_low_pc:
			if (!low_at) {
				low_at = c->p;
				low_sp = sp;
			}
			break;
		case DW_AT_high_pc:
			if (!high_at) {
				high_at = c->p;
				high_sp = sp;
			}
			break;
		case DW_AT_ranges:
			if (d->has_ranges)
				break;
			d->has_ranges = true;
			if (sp->form == DW_FORM_rnglistx) {
				d->ranges_index = true;
				d->ranges = dw_uleb(c);
				continue;
			}
			if (sp->form == DW_FORM_sec_offset ||
			    (u->version < 4 && (sp->form == DW_FORM_data4 || sp->form == DW_FORM_data8))) {
				d->ranges = dw_u(c, sp->form == DW_FORM_data8 ? 8
						  : sp->form == DW_FORM_data4 ? 4 : u->offset_size);
				continue;
			}
			return -ENOTSUP;
		case DW_AT_abstract_origin:
		case DW_AT_specification: {
			bool origin = sp->at == DW_AT_abstract_origin;

			if (origin ? d->has_origin : d->has_spec)
				break;
			r = value_ref(u, c, sp->form, origin ? &d->origin : &d->spec);
			if (origin)
				d->has_origin = true;
			else
				d->has_spec = true;
			continue;
		}
		case DW_AT_name:
		case DW_AT_linkage_name:
		case DW_AT_MIPS_linkage_name:
		case DW_AT_comp_dir: {
			const char **slot = sp->at == DW_AT_name ? &d->name
					  : sp->at == DW_AT_linkage_name ? &d->linkage
					  : sp->at == DW_AT_MIPS_linkage_name ? &d->mips : &d->comp_dir;

			if (sp->at != DW_AT_comp_dir)
				d->has_any_name = true;
			if (*slot)
				break;
			r = value_str(f, u, c, sp->form, slot);
			continue;
		}
		case DW_AT_call_file:
		case DW_AT_call_line:
		case DW_AT_call_column: {
			unsigned k = sp->at == DW_AT_call_file ? 0 : sp->at == DW_AT_call_line ? 1 : 2;
			uint64_t v;

			if (d->has_call[k])
				break;
			d->has_call[k] = true;
			r = value_const(u, c, t, sp, &v);
			if (r == -EINVAL)
				return -ENOTSUP;
			d->call[k] = v > UINT32_MAX ? 0 : (uint32_t)v;
			continue;
		}
		case DW_AT_sibling:
			if (d->has_sibling)
				break;
			r = value_ref(u, c, sp->form, &d->sibling);
			d->has_sibling = r == 0;
			continue;
		case DW_AT_entry_pc: {
			uint64_t v;

			if (d->entry_read)
				break;
			d->entry_read = true;
			r = value_addr(f, u, c, sp->form, &v);
			if (r == 0) {
				d->has_entry = true;
				d->entry = v;
			} else if (r == -EINVAL) {
				r = 0;
				break; /* a constant: no address (libdw: dwarf_formaddr fails) */
			}
			continue;
		}
		case DW_AT_stmt_list:
			if (d->has_stmt_list)
				break;
			if (sp->form != DW_FORM_sec_offset &&
			    !(u->version < 4 && (sp->form == DW_FORM_data4 || sp->form == DW_FORM_data8)))
				return -ENOTSUP;
			d->has_stmt_list = true;
			d->stmt_list = dw_u(c, sp->form == DW_FORM_data8 ? 8
					   : sp->form == DW_FORM_data4 ? 4 : u->offset_size);
			continue;
		case DW_AT_GNU_dwo_id:
		case DW_AT_dwo_name:
		case DW_AT_GNU_dwo_name:
			return -ENOTSUP; /* split DWARF */
		default:
			break;
		}
		size = sp->size;
		if (size >= 0) {
			if ((size_t)(c->end - c->p) < (size_t)size)
				c->bad = true;
			else
				c->p += size;
		} else {
			skip_form(c, sp->form);
		}
	}
	if (r < 0 || c->bad)
		return r < 0 ? r : -ENOTSUP;
	/* dwarf_lowpc, dwarf_highpc: an address, or for high pc a constant
	 * added to the low pc */
	if (low_at) {
		struct dw_cur lc = { low_at, c->end, c->be, false };

		r = value_addr(f, u, &lc, low_sp->form, &d->low);
		if ((r < 0 && r != -EINVAL) || lc.bad)
			return -ENOTSUP;
		d->has_low = r == 0;
	}
	if (high_at) {
		struct dw_cur hc = { high_at, c->end, c->be, false };
		uint64_t v;

		r = value_addr(f, u, &hc, high_sp->form, &d->high);
		if (r == -EINVAL) {
			r = value_const(u, &hc, t, high_sp, &v);
			if (r == 0 && d->has_low) {
				d->high = d->low + v;
				d->has_high = true;
			} else if (r == -EINVAL) {
				r = 0; /* neither: no high pc */
			}
		} else if (r == 0) {
			d->has_high = true;
		}
		if (r < 0 || hc.bad)
			return -ENOTSUP;
	}
	return 0;
}

/* Skip the attributes of a at c. */
static void skip_attrs(const struct abbrev_table *t, const struct abbrev *a, struct dw_cur *c)
{
	if (a->fixed >= 0) {
		if ((size_t)(c->end - c->p) < (size_t)a->fixed)
			c->bad = true;
		else
			c->p += a->fixed;
		return;
	}
	for (uint32_t i = 0; i < a->n && !c->bad; i++) {
		const struct spec *sp = &t->specs[a->first + i];

		if (sp->size < 0)
			skip_form(c, sp->form);
		else if ((size_t)(c->end - c->p) < (size_t)sp->size)
			c->bad = true;
		else
			c->p += sp->size;
	}
}

int dw_die_read(struct dw_file *f, const struct dw_unit *u, struct dw_cur *c, int want, struct dw_die *d)
{
	const struct abbrev_table *t;
	const struct abbrev *a;
	const uint8_t *attrs;
	uint64_t code, off = (uint64_t)(c->p - f->secs.p[DW_SEC_INFO]);
	int r;

	code = dw_uleb(c);
	if (c->bad)
		return -ENOTSUP;
	if (code == 0)
		return 0;
	r = unit_table(f, u, code, &t);
	if (r < 0)
		return r;
	if (code >= t->ncodes || !t->v[code].used)
		return -ENOTSUP;
	a = &t->v[code];
	if (want == DW_READ_ALL || (want == DW_READ_SCOPES && a->need)) {
		memset(d, 0, sizeof(*d));
		d->off = off;
		d->tag = a->tag;
		d->children = a->children;
		d->attrs = true;
		r = read_attrs(f, u, t, a, c, d);
		if (r == 0 && d->has_sibling &&
		    (d->sibling <= (uint64_t)(c->p - f->secs.p[DW_SEC_INFO]) || d->sibling >= u->end))
			d->has_sibling = false;
		return r < 0 ? r : 1;
	}
	d->off = off;
	d->tag = a->tag;
	d->children = a->children;
	d->attrs = false;
	d->has_sibling = false;
	attrs = c->p;
	skip_attrs(t, a, c);
	if (c->bad)
		return -ENOTSUP;
	if (a->children && a->sib_at >= 0) {
		struct dw_cur sc = { attrs + a->sib_at, c->p, c->be, false };

		if (value_ref(u, &sc, a->sib_form, &d->sibling) == 0 && !sc.bad &&
		    d->sibling > (uint64_t)(c->p - f->secs.p[DW_SEC_INFO]) && d->sibling < u->end)
			d->has_sibling = true;
	}
	return 1;
}

const struct dw_unit *dw_unit_of(const struct dw_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->units[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || off >= f->units[lo - 1].end || off < f->units[lo - 1].die_off)
		return NULL;
	return &f->units[lo - 1];
}

int dw_die_at(struct dw_file *f, uint64_t off, struct dw_die *d, const struct dw_unit **unit)
{
	const struct dw_unit *u = dw_unit_of(f, off);
	struct dw_cur c;
	int r;

	if (!u)
		return -ENOTSUP;
	c = dw_unit_cursor(f, u);
	c.p = f->secs.p[DW_SEC_INFO] + off;
	r = dw_die_read(f, u, &c, DW_READ_ALL, d);
	if (unit)
		*unit = u;
	return r == 1 ? 0 : -ENOTSUP;
}

struct dw_cur dw_unit_cursor(const struct dw_file *f, const struct dw_unit *u)
{
	return (struct dw_cur){ f->secs.p[DW_SEC_INFO] + u->die_off, f->secs.p[DW_SEC_INFO] + u->end,
				f->secs.big_endian, false };
}

/* dwarf_attr_integrate for the three name attributes at once, then
 * die_name()'s order: linkage name, MIPS linkage name, name. */
int dw_die_name(struct dw_file *f, const struct dw_die *d, const char **out)
{
	const char *found[3] = { NULL, NULL, NULL };
	bool done[3] = { false, false, false };
	struct dw_die cur = *d;

	*out = NULL;
	for (int hop = 0; hop < MAX_NAME_CHAIN; hop++) {
		const char *v[3] = { cur.linkage, cur.mips, cur.name };
		uint64_t next;

		for (int k = 0; k < 3; k++)
			if (!done[k] && v[k]) {
				found[k] = v[k];
				done[k] = true;
			}
		if (done[0])
			break;
		if (cur.has_origin)
			next = cur.origin;
		else if (cur.has_spec)
			next = cur.spec;
		else
			break;
		if (hop + 1 == MAX_NAME_CHAIN)
			break;
		if (dw_die_at(f, next, &cur, NULL) < 0)
			return -ENOTSUP;
	}
	*out = found[0] ? found[0] : found[1] ? found[1] : found[2];
	return 0;
}

/* ---------- ranges ---------- */

static int rnglist(const struct dw_file *f, const struct dw_unit *u, uint64_t off, uint64_t base,
		   int (*cb)(void *, uint64_t, uint64_t), void *arg)
{
	struct dw_cur c;
	int r = 0;

	if (!f->secs.p[DW_SEC_RNGLISTS] || off >= f->secs.size[DW_SEC_RNGLISTS])
		return -ENOTSUP;
	c = (struct dw_cur){ f->secs.p[DW_SEC_RNGLISTS] + off,
			     f->secs.p[DW_SEC_RNGLISTS] + f->secs.size[DW_SEC_RNGLISTS], f->secs.big_endian, false };
	for (;;) {
		unsigned kind = (unsigned)dw_u(&c, 1);
		uint64_t a, b;

		if (c.bad)
			return -ENOTSUP;
		switch (kind) {
		case DW_RLE_end_of_list:
			return 0;
		case DW_RLE_base_addressx:
			r = read_addrx(f, u, dw_uleb(&c), &base);
			break;
		case DW_RLE_startx_endx:
			a = dw_uleb(&c);
			b = dw_uleb(&c);
			r = read_addrx(f, u, a, &a);
			if (r == 0)
				r = read_addrx(f, u, b, &b);
			if (r == 0 && !c.bad)
				r = cb(arg, a, b);
			break;
		case DW_RLE_startx_length:
			a = dw_uleb(&c);
			b = dw_uleb(&c);
			r = read_addrx(f, u, a, &a);
			if (r == 0 && !c.bad)
				r = cb(arg, a, a + b);
			break;
		case DW_RLE_offset_pair:
			a = dw_uleb(&c);
			b = dw_uleb(&c);
			if (!c.bad)
				r = cb(arg, base + a, base + b);
			break;
		case DW_RLE_base_address:
			base = dw_u(&c, u->addr_size);
			break;
		case DW_RLE_start_end:
			a = dw_u(&c, u->addr_size);
			b = dw_u(&c, u->addr_size);
			if (!c.bad)
				r = cb(arg, a, b);
			break;
		case DW_RLE_start_length:
			a = dw_u(&c, u->addr_size);
			b = dw_uleb(&c);
			if (!c.bad)
				r = cb(arg, a, a + b);
			break;
		default:
			return -ENOTSUP;
		}
		if (r < 0 || c.bad)
			return r < 0 ? r : -ENOTSUP;
	}
}

static int ranges_v4(const struct dw_file *f, const struct dw_unit *u, uint64_t off, uint64_t base,
		     int (*cb)(void *, uint64_t, uint64_t), void *arg)
{
	uint64_t maxa = u->addr_size == 8 ? UINT64_MAX : UINT32_MAX;
	struct dw_cur c;

	if (!f->secs.p[DW_SEC_RANGES] || off >= f->secs.size[DW_SEC_RANGES])
		return -ENOTSUP;
	c = (struct dw_cur){ f->secs.p[DW_SEC_RANGES] + off, f->secs.p[DW_SEC_RANGES] + f->secs.size[DW_SEC_RANGES],
			     f->secs.big_endian, false };
	for (;;) {
		uint64_t a = dw_u(&c, u->addr_size), b = dw_u(&c, u->addr_size);
		int r;

		if (c.bad)
			return -ENOTSUP;
		if (a == 0 && b == 0)
			return 0;
		if (a == maxa) {
			base = b;
			continue;
		}
		r = cb(arg, base + a, base + b);
		if (r < 0)
			return r;
	}
}

int dw_die_ranges(const struct dw_file *f, const struct dw_unit *u, const struct dw_die *d,
		  int (*cb)(void *, uint64_t, uint64_t), void *arg)
{
	uint64_t off = d->ranges;

	if (d->has_low && d->has_high)
		return cb(arg, d->low, d->high);
	if (!d->has_ranges)
		return 0;
	if (u->version < 5)
		return d->ranges_index ? -ENOTSUP : ranges_v4(f, u, off, u->base_addr, cb, arg);
	if (d->ranges_index) {
		struct dw_cur c;
		uint64_t at;

		if (!u->has_rng_base || !f->secs.p[DW_SEC_RNGLISTS])
			return -ENOTSUP;
		at = u->rnglists_base + off * u->offset_size;
		if (off > f->secs.size[DW_SEC_RNGLISTS] || at + u->offset_size > f->secs.size[DW_SEC_RNGLISTS])
			return -ENOTSUP;
		c = (struct dw_cur){ f->secs.p[DW_SEC_RNGLISTS] + at, f->secs.p[DW_SEC_RNGLISTS] + at + u->offset_size,
				     f->secs.big_endian, false };
		off = u->rnglists_base + dw_u(&c, u->offset_size);
	}
	return rnglist(f, u, off, u->base_addr, cb, arg);
}

/* ---------- units ---------- */

/* The CU DIE's table bases and base address, before any of its values
 * that need them is read. */
static int unit_bases(struct dw_file *f, struct dw_unit *u, struct dw_die *cu)
{
	const struct abbrev_table *t;
	struct dw_cur c = dw_unit_cursor(f, u);
	uint64_t code = dw_uleb(&c);
	const struct abbrev *a;
	int r;

	if (c.bad || code == 0)
		return -ENOTSUP;
	r = unit_table(f, u, code, &t);
	if (r < 0)
		return r;
	if (code >= t->ncodes || !t->v[code].used)
		return -ENOTSUP;
	a = &t->v[code];
	for (uint32_t i = 0; i < a->n && !c.bad; i++) {
		const struct spec *sp = &t->specs[a->first + i];
		uint64_t *slot = NULL;
		bool *has = NULL;
		int size;

		if (sp->at == DW_AT_str_offsets_base) {
			slot = &u->str_offsets_base;
			has = &u->has_str_base;
		} else if (sp->at == DW_AT_addr_base || sp->at == DW_AT_GNU_addr_base) {
			slot = &u->addr_base;
			has = &u->has_addr_base;
		} else if (sp->at == DW_AT_rnglists_base) {
			slot = &u->rnglists_base;
			has = &u->has_rng_base;
		}
		if (slot && !*has && sp->form == DW_FORM_sec_offset) {
			*slot = dw_u(&c, u->offset_size);
			*has = true;
			continue;
		}
		if (slot && !*has)
			return -ENOTSUP;
		size = sp->size;
		if (size < 0)
			skip_form(&c, sp->form);
		else if ((size_t)(c.end - c.p) < (size_t)size)
			c.bad = true;
		else
			c.p += size;
	}
	if (c.bad)
		return -ENOTSUP;
	c = dw_unit_cursor(f, u);
	r = dw_die_read(f, u, &c, DW_READ_ALL, cu);
	if (r != 1)
		return r < 0 ? r : -ENOTSUP;
	/* libdw's base address: DW_AT_low_pc, else DW_AT_entry_pc, else 0 */
	u->base_addr = cu->has_low ? cu->low : cu->has_entry ? cu->entry : 0;
	u->bases_read = true;
	return 0;
}

int dw_unit_die(struct dw_file *f, size_t i, bool whole, struct dw_die *cu)
{
	const struct abbrev_table *t;

	if (whole) { /* the walk of the unit follows: its whole table at once */
		int r = unit_table(f, &f->units[i], 0, &t);

		if (r < 0)
			return r;
	}
	return unit_bases(f, &f->units[i], cu);
}

static int scan_units(struct dw_file *f)
{
	struct dw_cur c = { f->secs.p[DW_SEC_INFO], f->secs.p[DW_SEC_INFO] + f->secs.size[DW_SEC_INFO],
			    f->secs.big_endian, false };
	size_t cap = 0;

	while (c.p < c.end) {
		struct dw_unit u = { .off = (uint64_t)(c.p - f->secs.p[DW_SEC_INFO]) };
		uint64_t len = dw_u(&c, 4);
		const uint8_t *start;

		u.offset_size = 4;
		if (len == 0xffffffffu) {
			len = dw_u(&c, 8);
			u.offset_size = 8;
		} else if (len >= 0xfffffff0u) {
			return -ENOTSUP;
		}
		if (c.bad || len > (uint64_t)(c.end - c.p) || len < 2)
			return -ENOTSUP;
		start = c.p;
		u.end = (uint64_t)(start + len - f->secs.p[DW_SEC_INFO]);
		u.version = (uint8_t)dw_u(&c, 2);
		if (u.version < 2 || u.version > 5)
			return -ENOTSUP;
		if (u.version >= 5) {
			u.unit_type = (uint8_t)dw_u(&c, 1);
			u.addr_size = (uint8_t)dw_u(&c, 1);
			u.abbrev_off = dw_u(&c, u.offset_size);
			if (u.unit_type == DW_UT_skeleton || u.unit_type == DW_UT_split_compile ||
			    u.unit_type == DW_UT_split_type)
				return -ENOTSUP; /* split DWARF: libdw */
			if (u.unit_type == DW_UT_type) {
				dw_u(&c, 8); /* signature, type offset */
				dw_u(&c, u.offset_size);
			} else if (u.unit_type != DW_UT_compile && u.unit_type != DW_UT_partial)
				return -ENOTSUP;
		} else {
			u.abbrev_off = dw_u(&c, u.offset_size);
			u.addr_size = (uint8_t)dw_u(&c, 1);
			u.unit_type = DW_UT_compile; /* the tag tells partial units apart */
		}
		if (c.bad || (u.addr_size != 4 && u.addr_size != 8) || c.p > start + len)
			return -ENOTSUP;
		u.die_off = (uint64_t)(c.p - f->secs.p[DW_SEC_INFO]);
		if (f->nunits == cap) {
			size_t n = cap ? cap * 2 : 256;
			struct dw_unit *v = realloc(f->units, n * sizeof(*v));

			if (!v)
				return -ENOMEM;
			f->units = v;
			cap = n;
		}
		f->units[f->nunits++] = u;
		c.p = start + len;
	}
	return 0;
}

int dw_file_open(Elf *elf, struct dw_file **out)
{
	struct dw_file *f = calloc(1, sizeof(*f));
	int r;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->tabs[0].off = f->tabs[1].off = UINT64_MAX;
	r = dw_sections_load(elf, &f->secs);
	if (r == 0 && (f->secs.unsupported || !f->secs.p[DW_SEC_ABBREV]))
		r = -ENOTSUP;
	if (r == 0)
		r = scan_units(f);
	if (r < 0) {
		dw_file_free(f);
		return r;
	}
	*out = f;
	return 0;
}

void dw_file_free(struct dw_file *f)
{
	if (!f)
		return;
	table_free(&f->tabs[0]);
	table_free(&f->tabs[1]);
	dw_sections_free(&f->secs);
	free(f->units);
	free(f);
}

size_t dw_file_nunits(const struct dw_file *f)
{
	return f->nunits;
}

const struct dw_unit *dw_file_unit(const struct dw_file *f, size_t i)
{
	return &f->units[i];
}

const struct dw_sections *dw_file_sections(const struct dw_file *f)
{
	return &f->secs;
}
