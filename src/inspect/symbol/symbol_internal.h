/* symbol_internal.h: private structures shared by the files of the
 * symbolizer (src/inspect/symbol/). Not installed.
 *
 *   elf_open.c   opening the module, build-id, finding the debug file
 *   symtab.c     sorted function-symbol table (.symtab / .dynsym)
 *   dwarf_index.c per-CU line tables and inline-scope segments, lazily built
 *   symbolizer.c the public ll_symbolizer_* / ll_symbolize / cache API
 *   disasm.c     capstone disassembly */
#ifndef LL_INSPECT_SYMBOL_INTERNAL_H
#define LL_INSPECT_SYMBOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>
#include <elfutils/libdw.h>

#include "lifeline/inspect/symbolize.h"

/* One function symbol. */
struct sym_entry {
	uint64_t addr;
	uint64_t size;
	const char *name;   /* points into the ELF string table */
	const char *file;   /* the STT_FILE naming its source (as binutils tells it), or NULL */
	uint8_t bind;       /* STB_* */
	bool thumb;         /* ARM: bit 0 was set */
};

/* A line-table row of one CU. */
struct line_row {
	uint64_t addr;
	const char *file;   /* from libdw, valid while the Dwarf is open */
	uint32_t line;
	uint16_t column;
	uint8_t end_seq;
	uint8_t pad;
	uint32_t discriminator;
};

/* A scope: a subprogram (parent -1) or an inlined subroutine. */
struct scope {
	const char *name;
	const char *call_file;
	uint32_t call_line;
	uint32_t call_column;
	int32_t parent;     /* index in the CU's scope array, -1 for a subprogram */
};

/* A piece of address space whose innermost scope is `scope`. Segments of one
 * CU are sorted and do not overlap. */
struct segment {
	uint64_t lo, hi;
	int32_t scope;
};

/* One DWARF compile unit. */
struct cu {
	Dwarf_Off off;           /* offset of the CU DIE in .debug_info */
	bool loaded;
	bool failed;
	size_t row_hint, seg_hint; /* last answers: batches ask in address order */
	struct line_row *rows;
	size_t nrows;
	struct scope *scopes;
	size_t nscopes;
	struct segment *segs;
	size_t nsegs;
	/* Source file names by file-table index, relative ones joined to the
	 * CU's comp_dir (as addr2line, llvm-symbolizer and eu-addr2line show
	 * them); joined[] holds the strings this CU allocated. */
	const char **fnames;
	size_t nfnames;
	char *joined;
};

/* Address range -> CU. */
struct cu_range {
	uint64_t lo, hi;
	uint32_t cu;
};

struct dw_file;

struct ll_symbolizer {
	char *path;
	int fd;
	Elf *elf;
	/* Separate debug file, when used. */
	char *debug_path;
	const char *debug_how;
	int debug_fd;
	Elf *debug_elf;

	GElf_Ehdr ehdr;
	uint8_t build_id[64];
	size_t build_id_len;

	struct sym_entry *syms;
	size_t nsyms;
	struct sym_entry *all_syms; /* every symbol, aliases too (by-name lookup) */
	size_t nall_syms;
	bool has_symtab;

	/* DWARF: read by our own readers (dwarf_die.c, dwarf_line.c) when
	 * they can, by libdw otherwise: for the whole file when dw is NULL, or
	 * for the compile units ours leave to it (opened on first need). */
	bool has_dwarf;
	struct dw_file *dw;
	Elf *dwarf_elf;          /* the ELF the DWARF is in */
	Dwarf *dwarf;            /* libdw, or NULL until needed */
	bool dwarf_failed;       /* dwarf_begin_elf() was tried and failed */
	struct cu *cus;
	size_t ncus;
	struct cu_range *cu_ranges;
	size_t ncu_ranges;
	size_t range_hint;       /* last CU range answered */

	/* Loaded from the index cache (index_cache.c): no Dwarf, every CU
	 * loaded, strings in the mapped cache file. */
	bool cached;
	void *cache_map;
	size_t cache_map_size;

	/* capstone handle, opened on first ll_disasm(). */
	size_t cs_handle;
	bool cs_open;
};

/* elf_open.c */
int sym_open_elf(struct ll_symbolizer *s, int fd, const char *name, const struct ll_sym_opts *opts);
int sym_read_build_id(Elf *elf, uint8_t *buf, size_t size, size_t *len);

/* symtab.c */
int symtab_build(struct ll_symbolizer *s);
/* The symbol containing addr (or NULL); *nearest (when not NULL) gets the
 * last symbol at or below addr, whatever its size. */
const struct sym_entry *symtab_lookup(const struct ll_symbolizer *s, uint64_t addr,
				     const struct sym_entry **nearest);

/* dwarf_index.c */
int dwarf_index_open(struct ll_symbolizer *s);
void dwarf_index_free(struct ll_symbolizer *s);
/* Fill out->frames for addr; returns the number of frames (0 when no DWARF
 * covers addr). */
size_t dwarf_index_lookup(struct ll_symbolizer *s, uint64_t addr, struct ll_sym_result *out);

/* For tests: compare the units and ranges found at open, then load each
 * CU with our readers and with libdw and compare; *own counts the CUs ours
 * read alike, *differ the ones they did not (1 when the units differ). */
int dwarf_index_check_readers(struct ll_symbolizer *s, size_t *own, size_t *differ);

/* Load one CU now (index_cache.c saves whole indexes); 0 or -errno. */
int dwarf_index_load_cu(struct ll_symbolizer *s, struct cu *c);

/* index_cache.c: fill s from its cached index; 0, or -errno (nothing
 * changed) when there is none, it is stale or damaged. */
int index_cache_load(struct ll_symbolizer *s, const struct ll_sym_opts *opts);

/* disasm.c: release the capstone handle, if one was opened. */
void disasm_close(struct ll_symbolizer *s);

#endif
