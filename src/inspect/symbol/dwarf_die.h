/* dwarf_die.h: the DIE reader of dwarf_die.c (not installed). */
#ifndef LL_INSPECT_SYMBOL_DWARF_DIE_H
#define LL_INSPECT_SYMBOL_DWARF_DIE_H

#include "dwarf_read.h"

/* A unit header and, once its CU DIE was read (dw_unit_die), its bases. */
struct dw_unit {
	uint64_t off;        /* the header, in .debug_info */
	uint64_t die_off;    /* its first DIE */
	uint64_t end;
	uint64_t abbrev_off;
	uint8_t version, addr_size, offset_size, unit_type;
	bool bases_read;
	bool has_str_base, has_addr_base, has_rng_base;
	uint64_t str_offsets_base, addr_base, rnglists_base;
	uint64_t base_addr;  /* for range lists: the CU's low pc */
};

/* What the index reads of one DIE (the first of duplicated attributes). */
struct dw_die {
	uint64_t off;
	unsigned tag;
	bool children;
	bool attrs;            /* the attributes below were read */
	bool has_sibling;      /* DW_AT_sibling: where the next sibling starts */
	uint64_t sibling;
	bool has_low, has_high, has_ranges, ranges_index;
	uint64_t low, high, ranges;
	bool has_origin, has_spec, has_any_name;
	uint64_t origin, spec; /* offsets in .debug_info */
	const char *name, *linkage, *mips;
	bool has_call[3];      /* call_file, call_line, call_column */
	uint32_t call[3];      /* 0 when not a constant that fits */
	const char *comp_dir;
	bool entry_read, has_entry; /* DW_AT_entry_pc as an address */
	uint64_t entry;
	bool has_stmt_list;
	uint64_t stmt_list;
};

struct dw_file;

/* Load the sections of elf (dwarf_sections.c) and scan its unit headers.
 * -ENOTSUP: read this file with libdw. */
int dw_file_open(Elf *elf, struct dw_file **out);
void dw_file_free(struct dw_file *f);
size_t dw_file_nunits(const struct dw_file *f);
const struct dw_unit *dw_file_unit(const struct dw_file *f, size_t i);
const struct dw_sections *dw_file_sections(const struct dw_file *f);

/* Read unit i's CU DIE into cu (and its bases into the unit); whole: parse
 * the unit's whole abbreviation table now (a walk of its DIEs follows),
 * else only as far as the CU DIE needs. 0 or -errno. */
int dw_unit_die(struct dw_file *f, size_t i, bool whole, struct dw_die *cu);

/* A cursor over unit u's DIEs, from its CU DIE. */
struct dw_cur dw_unit_cursor(const struct dw_file *f, const struct dw_unit *u);

/* What dw_die_read() decodes: tag, children and sibling only; the
 * attributes too of units and of subprograms and inlined subroutines that
 * can have code (the scopes of the index); or of every DIE. */
enum { DW_READ_SKIP, DW_READ_SCOPES, DW_READ_ALL };

/* Read the DIE at c (of unit u): 1 and d filled, 0 for a null entry (end
 * of a list of siblings), or -errno. Without its attributes, only off,
 * tag, children and sibling are set. */
int dw_die_read(struct dw_file *f, const struct dw_unit *u, struct dw_cur *c, int want, struct dw_die *d);

/* The DIE at an offset of .debug_info, with its attributes. */
int dw_die_at(struct dw_file *f, uint64_t off, struct dw_die *d, const struct dw_unit **unit);

/* The unit holding off, or NULL. */
const struct dw_unit *dw_unit_of(const struct dw_file *f, uint64_t off);

/* The name die_name() in dwarf_index.c gives with libdw: the linkage
 * name, MIPS linkage name or name, following abstract origins and
 * specifications. *out may be NULL (no name); 0 or -ENOTSUP. */
int dw_die_name(struct dw_file *f, const struct dw_die *d, const char **out);

/* Call cb for each address range of d (dwarf_ranges()); 0 or -errno (cb's
 * negative return stops the walk and is returned). */
int dw_die_ranges(const struct dw_file *f, const struct dw_unit *u, const struct dw_die *d,
		  int (*cb)(void *, uint64_t, uint64_t), void *arg);

#endif
