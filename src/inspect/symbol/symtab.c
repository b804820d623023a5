/* symtab.c: the module's function symbols as one array sorted by address.
 *
 * Symbols come from .symtab (the module's, else the debug file's) and from
 * .dynsym; only functions (STT_FUNC, STT_GNU_IFUNC) with an address are
 * kept. At one address the best name wins (global over weak over local, then
 * the larger size; a copy keeps every alias for lookups by name). A lookup is a binary search for the last symbol at or
 * below the address, then a short walk back for an enclosing larger symbol. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbol_internal.h"

/* How far back a lookup looks for an enclosing symbol when the nearest one
 * below the address is too small to contain it. */
#define ENCLOSING_WALK 16
/* How far past the last symbol an unsized last symbol still covers. */
#define UNSIZED_TAIL 4096

static int bind_rank(uint8_t bind)
{
	return bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym_entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (bind_rank(x->bind) != bind_rank(y->bind))
		return bind_rank(x->bind) - bind_rank(y->bind);
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Append the function symbols of every section of type `type` in elf. */
static int add_symbols(struct ll_symbolizer *s, Elf *elf, GElf_Word type, size_t *cap)
{
	bool arm = s->ehdr.e_machine == EM_ARM;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		count = data->d_size / sh.sh_entsize;
		/* STT_FILE symbols name the source of the local symbols after them;
		 * a global one keeps it only while no file followed another symbol
		 * (binutils' rule, so --addr2line prints what addr2line does). */
		const char *file = NULL;
		int state = 0; /* 0 nothing seen, 1 symbol seen, 2 file after a symbol */

		for (size_t i = 1; i < count; i++) {
			GElf_Sym sym;
			const char *name;
			int t;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			t = GELF_ST_TYPE(sym.st_info);
			if (t == STT_FILE) {
				file = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (state == 1)
					state = 2;
				continue;
			}
			if (state == 0)
				state = 1;
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
			    sym.st_value == 0)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (s->nsyms == *cap) {
				size_t ncap = *cap ? *cap * 2 : 1024;
				struct sym_entry *v = realloc(s->syms, ncap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				s->syms = v;
				*cap = ncap;
			}
			s->syms[s->nsyms++] = (struct sym_entry){
				.addr = arm ? (sym.st_value & ~(GElf_Addr)1) : sym.st_value,
				.size = sym.st_size,
				.name = name,
				.file = GELF_ST_BIND(sym.st_info) == STB_LOCAL || state != 2 ? file : NULL,
				.bind = (uint8_t)GELF_ST_BIND(sym.st_info),
				.thumb = arm && (sym.st_value & 1),
			};
		}
	}
	return 0;
}

static bool has_section_type(Elf *elf, GElf_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return true;
	return false;
}

int symtab_build(struct ll_symbolizer *s)
{
	size_t cap = 0, w = 0;
	int r = 0;

	if (has_section_type(s->elf, SHT_SYMTAB)) {
		s->has_symtab = true;
		r = add_symbols(s, s->elf, SHT_SYMTAB, &cap);
	} else if (s->debug_elf && has_section_type(s->debug_elf, SHT_SYMTAB)) {
		s->has_symtab = true;
		r = add_symbols(s, s->debug_elf, SHT_SYMTAB, &cap);
	}
	if (r == 0)
		r = add_symbols(s, s->elf, SHT_DYNSYM, &cap);
	if (r < 0)
		return r;
	if (s->nsyms == 0)
		return 0;
	qsort(s->syms, s->nsyms, sizeof(*s->syms), cmp_sym);
	/* Every name stays findable (aliases included) in a copy. */
	s->all_syms = malloc(s->nsyms * sizeof(*s->all_syms));
	if (!s->all_syms)
		return -ENOMEM;
	memcpy(s->all_syms, s->syms, s->nsyms * sizeof(*s->all_syms));
	s->nall_syms = s->nsyms;
	/* Keep the best-ranked symbol at each address. */
	for (size_t i = 0; i < s->nsyms; i++)
		if (w == 0 || s->syms[w - 1].addr != s->syms[i].addr)
			s->syms[w++] = s->syms[i];
	s->nsyms = w;
	return 0;
}

const struct sym_entry *symtab_lookup(const struct ll_symbolizer *s, uint64_t addr,
				     const struct sym_entry **nearest)
{
	size_t lo = 0, hi = s->nsyms;

	while (lo < hi) { /* first symbol above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (nearest)
		*nearest = lo ? &s->syms[lo - 1] : NULL;
	if (lo == 0)
		return NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < ENCLOSING_WALK; k++) {
		const struct sym_entry *e = &s->syms[i];

		if (addr - e->addr < e->size)
			return e;
		/* An unsized symbol (assembly) covers up to the next symbol; past
		 * the last one, only its page. */
		if (k == 0 && e->size == 0 && (lo < s->nsyms || addr - e->addr < UNSIZED_TAIL))
			return e;
	}
	return NULL;
}

int ll_symbolizer_find_symbol(const struct ll_symbolizer *s, const char *name, uint64_t *addr)
{
	for (size_t i = 0; i < s->nall_syms; i++)
		if (!strcmp(s->all_syms[i].name, name)) {
			*addr = s->all_syms[i].addr;
			return 0;
		}
	return -ENOENT;
}
