/* dyncheck.c: would ld.so trust this shared object's dynamic tables?
 *
 * ld.so believes what the dynamic segment says: it reads the string, symbol,
 * hash and relocation tables at the addresses the DT_* entries give and
 * writes where each relocation points, without bounds checks. A file
 * rewritten in place (rsync --inplace, a resumed copy, a writer that closes
 * between chunks) can be caught as a mix of two versions whose headers are
 * whole but whose tables point into the other version's layout: dlopen then
 * crashes the host in _dl_relocate_object. This checks, over the file's
 * bytes, what ld.so will use: the dynamic segment lies in a loaded segment
 * and ends with DT_NULL; every table it names lies in the file part of a
 * loaded segment; strings are inside DT_STRSZ; the SysV and GNU hash tables
 * are consistent with the symbol table; each symbol's name is inside the
 * string table; each relocation names an existing symbol and targets a
 * writable loaded segment (any loaded segment with DT_TEXTREL); init/fini
 * arrays lie in the loaded image; the section headers (at the end of the
 * file) agree with the segments and tables (at its start). Called by ll_plugin_check_elf() once the
 * headers and segments are known to lie inside the buffer. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "plugin/plugin_private.h"

#if __ELF_NATIVE_CLASS == 64
#define R_SYM(i) ELF64_R_SYM(i)
#define R_TYPE(i) ELF64_R_TYPE(i)
#define ST_TYPE(i) ELF64_ST_TYPE(i)
#else
#define R_SYM(i) ELF32_R_SYM(i)
#define R_TYPE(i) ELF32_R_TYPE(i)
#define ST_TYPE(i) ELF32_ST_TYPE(i)
#endif

struct image {
	const unsigned char *b;
	size_t len;
	const ElfW(Phdr) *ph;
	unsigned phnum;
	char *why;
	size_t why_size;
};

static int bad(struct image *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct image *im, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (im->why && im->why_size)
		snprintf(im->why, im->why_size,
			 "ELF dynamic tables inconsistent: %s (a corrupt file, or a mix of two versions written in "
			 "place: it is retried when the file changes)", what);
	return -ENOEXEC;
}

/* The file offset of [vaddr, vaddr + size) when it lies in the file part of
 * one PT_LOAD segment. */
static bool file_off(const struct image *im, uint64_t vaddr, uint64_t size, uint64_t *off)
{
	for (unsigned i = 0; i < im->phnum; i++) {
		const ElfW(Phdr) *ph = &im->ph[i];

		if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr)
			continue;
		if (vaddr - ph->p_vaddr > ph->p_filesz || size > ph->p_filesz - (vaddr - ph->p_vaddr))
			continue;
		*off = ph->p_offset + (vaddr - ph->p_vaddr);
		return *off <= im->len && size <= im->len - *off;
	}
	return false;
}

/* Whether [vaddr, vaddr + size) lies in the memory image of one PT_LOAD
 * segment (writable ones only when writable). */
static bool in_image(const struct image *im, uint64_t vaddr, uint64_t size, bool writable)
{
	for (unsigned i = 0; i < im->phnum; i++) {
		const ElfW(Phdr) *ph = &im->ph[i];

		if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr || (writable && !(ph->p_flags & PF_W)))
			continue;
		if (vaddr - ph->p_vaddr <= ph->p_memsz && size <= ph->p_memsz - (vaddr - ph->p_vaddr))
			return true;
	}
	return false;
}

/* What the dynamic segment says. */
struct dyn {
	uint64_t strtab, strsz, symtab, syment, hash, gnu_hash, versym;
	uint64_t rela, relasz, relaent, rel, relsz, relent, jmprel, pltrelsz, pltrel, relr, relrsz;
	uint64_t init_array, init_arraysz, fini_array, fini_arraysz, init, fini;
	bool has_strtab, has_symtab, has_hash, has_gnu_hash, has_versym, has_init, has_fini, textrel;
	uint64_t nsyms, dyn_vaddr;
	bool nsyms_guessed;
};

static int read_dynamic(struct image *im, struct dyn *d)
{
	const ElfW(Phdr) *dp = NULL;
	const ElfW(Dyn) *dyn;
	uint64_t off, n;
	bool ended = false;

	for (unsigned i = 0; i < im->phnum; i++)
		if (im->ph[i].p_type == PT_DYNAMIC)
			dp = &im->ph[i];
	if (!dp)
		return bad(im, "no dynamic segment");
	if (dp->p_filesz > dp->p_memsz || !file_off(im, dp->p_vaddr, dp->p_filesz, &off) ||
	    off % _Alignof(ElfW(Dyn)))
		return bad(im, "the dynamic segment (at 0x%llx, %llu bytes) is not inside a loaded segment",
			   (unsigned long long)dp->p_vaddr, (unsigned long long)dp->p_filesz);
	d->dyn_vaddr = dp->p_vaddr;
	dyn = (const ElfW(Dyn) *)(im->b + off);
	n = dp->p_filesz / sizeof(*dyn);
	for (uint64_t k = 0; k < n && !ended; k++) {
		uint64_t v = dyn[k].d_un.d_val;

		switch (dyn[k].d_tag) {
		case DT_NULL: ended = true; break;
		case DT_STRTAB: d->strtab = v; d->has_strtab = true; break;
		case DT_STRSZ: d->strsz = v; break;
		case DT_SYMTAB: d->symtab = v; d->has_symtab = true; break;
		case DT_SYMENT: d->syment = v; break;
		case DT_HASH: d->hash = v; d->has_hash = true; break;
		case DT_GNU_HASH: d->gnu_hash = v; d->has_gnu_hash = true; break;
		case DT_VERSYM: d->versym = v; d->has_versym = true; break;
		case DT_RELA: d->rela = v; break;
		case DT_RELASZ: d->relasz = v; break;
		case DT_RELAENT: d->relaent = v; break;
		case DT_REL: d->rel = v; break;
		case DT_RELSZ: d->relsz = v; break;
		case DT_RELENT: d->relent = v; break;
		case DT_JMPREL: d->jmprel = v; break;
		case DT_PLTRELSZ: d->pltrelsz = v; break;
		case DT_PLTREL: d->pltrel = v; break;
#ifdef DT_RELR
		case DT_RELR: d->relr = v; break;
		case DT_RELRSZ: d->relrsz = v; break;
#endif
		case DT_INIT_ARRAY: d->init_array = v; break;
		case DT_INIT_ARRAYSZ: d->init_arraysz = v; break;
		case DT_FINI_ARRAY: d->fini_array = v; break;
		case DT_FINI_ARRAYSZ: d->fini_arraysz = v; break;
		case DT_INIT: d->init = v; d->has_init = true; break;
		case DT_FINI: d->fini = v; d->has_fini = true; break;
		case DT_TEXTREL: d->textrel = true; break;
		case DT_FLAGS: if (v & DF_TEXTREL) d->textrel = true; break;
		default: break;
		}
	}
	if (!ended)
		return bad(im, "the dynamic segment has no DT_NULL end");
	if (!d->has_strtab || !d->has_symtab)
		return bad(im, "no DT_STRTAB or DT_SYMTAB");
	if (d->syment && d->syment != sizeof(ElfW(Sym)))
		return bad(im, "DT_SYMENT is %llu, not %zu", (unsigned long long)d->syment, sizeof(ElfW(Sym)));
	return 0;
}

/* The strings must lie in the file and the table end with a NUL. Names in
 * the dynamic segment (DT_NEEDED, DT_SONAME, ...) are checked by ld.so's
 * own use of the table: an offset past DT_STRSZ is checked here. */
static int check_strings(struct image *im, struct dyn *d)
{
	uint64_t off;

	if (!d->strsz || !file_off(im, d->strtab, d->strsz, &off))
		return bad(im, "the string table (0x%llx, %llu bytes) is not inside a loaded segment",
			   (unsigned long long)d->strtab, (unsigned long long)d->strsz);
	if (im->b[off + d->strsz - 1] != '\0')
		return bad(im, "the string table does not end with a NUL");
	return 0;
}

/* The number of symbols, from the SysV hash table (nchain) or by walking
 * the GNU hash table; both tables must lie in the file and stay inside the
 * symbol table. */
static int count_symbols(struct image *im, struct dyn *d)
{
	uint64_t off;

	if (d->has_hash) {
		const uint32_t *h;
		uint32_t nbucket, nchain;

		if (!file_off(im, d->hash, 8, &off) || off % 4)
			return bad(im, "the DT_HASH table is not inside a loaded segment");
		h = (const uint32_t *)(im->b + off);
		nbucket = h[0];
		nchain = h[1];
		if (!file_off(im, d->hash, 8 + 4 * ((uint64_t)nbucket + nchain), &off))
			return bad(im, "the DT_HASH table (%u buckets, %u chains) runs past its segment", nbucket,
				   nchain);
		for (uint64_t k = 0; k < (uint64_t)nbucket + nchain; k++)
			if (h[2 + k] >= nchain)
				return bad(im, "DT_HASH entry %llu names symbol %u of %u", (unsigned long long)k,
					   h[2 + k], nchain);
		d->nsyms = nchain;
	}
	if (d->has_gnu_hash) {
		const uint32_t *g, *buckets, *chains;
		uint32_t nbuckets, symoffset, bloom_size;
		uint64_t max = 0, boff, coff, bloom_bytes;

		if (!file_off(im, d->gnu_hash, 16, &off) || off % 4)
			return bad(im, "the DT_GNU_HASH table is not inside a loaded segment");
		g = (const uint32_t *)(im->b + off);
		nbuckets = g[0];
		symoffset = g[1];
		bloom_size = g[2];
		bloom_bytes = (uint64_t)bloom_size * sizeof(ElfW(Addr));
		if (!nbuckets || !bloom_size || (bloom_size & (bloom_size - 1)) ||
		    !file_off(im, d->gnu_hash + 16 + bloom_bytes, 4 * (uint64_t)nbuckets, &boff))
			return bad(im, "the DT_GNU_HASH header (%u buckets, bloom %u) does not fit its segment",
				   nbuckets, bloom_size);
		buckets = (const uint32_t *)(im->b + boff);
		for (uint32_t k = 0; k < nbuckets; k++)
			if (buckets[k] > max)
				max = buckets[k];
		if (max) {
			if (max < symoffset)
				return bad(im, "a DT_GNU_HASH bucket names symbol %llu, below its first (%u)",
					   (unsigned long long)max, symoffset);
			/* Walk the last chain to its end marker. */
			for (;;) {
				if (max - symoffset > (uint64_t)1 << 24 ||
				    !file_off(im, d->gnu_hash + 16 + bloom_bytes + 4 * (uint64_t)nbuckets +
							  4 * (max - symoffset), 4, &coff))
					return bad(im, "a DT_GNU_HASH chain runs past its segment");
				chains = (const uint32_t *)(im->b + coff);
				if (chains[0] & 1)
					break;
				max++;
			}
			max++;
		} else {
			/* Nothing hashed: the table says nothing of the symbols
			 * before symoffset. The symbol table ends where the
			 * string table starts in every linker's layout. */
			max = d->strtab > d->symtab ? (d->strtab - d->symtab) / sizeof(ElfW(Sym)) : symoffset;
			d->nsyms_guessed = true;
		}
		if (d->has_hash && max > d->nsyms)
			return bad(im, "DT_GNU_HASH names %llu symbols, DT_HASH %llu", (unsigned long long)max,
				   (unsigned long long)d->nsyms);
		if (!d->has_hash)
			d->nsyms = max;
	}
	if (!d->has_hash && !d->has_gnu_hash)
		return bad(im, "no DT_HASH or DT_GNU_HASH table");
	return 0;
}

static uint64_t image_end(const struct image *im)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < im->phnum; i++)
		if (im->ph[i].p_type == PT_LOAD && im->ph[i].p_vaddr + im->ph[i].p_memsz > end)
			end = im->ph[i].p_vaddr + im->ph[i].p_memsz;
	return end;
}

static int check_symbols(struct image *im, struct dyn *d)
{
	const ElfW(Sym) *sym;
	uint64_t off, end = image_end(im);

	if (d->nsyms > ((uint64_t)1 << 24) ||
	    !file_off(im, d->symtab, d->nsyms * sizeof(ElfW(Sym)), &off) || off % _Alignof(ElfW(Sym)))
		return bad(im, "the symbol table (%llu symbols at 0x%llx) is not inside a loaded segment",
			   (unsigned long long)d->nsyms, (unsigned long long)d->symtab);
	sym = (const ElfW(Sym) *)(im->b + off);
	for (uint64_t k = 0; k < d->nsyms; k++) {
		if (sym[k].st_name >= d->strsz)
			return bad(im, "symbol %llu's name is at %u, past the string table's %llu bytes",
				   (unsigned long long)k, sym[k].st_name, (unsigned long long)d->strsz);
		if (sym[k].st_shndx != SHN_UNDEF && sym[k].st_shndx != SHN_ABS &&
		    ST_TYPE(sym[k].st_info) != STT_TLS && sym[k].st_value > end)
			return bad(im, "symbol %llu's address 0x%llx is past the loaded image", (unsigned long long)k,
				   (unsigned long long)sym[k].st_value);
	}
	if (d->has_versym && !file_off(im, d->versym, d->nsyms * sizeof(ElfW(Half)), &off))
		return bad(im, "the DT_VERSYM table is not inside a loaded segment");
	return 0;
}

/* One table of ElfW(Rela) (rela) or ElfW(Rel). */
static int check_relocs(struct image *im, const struct dyn *d, const char *name, uint64_t addr, uint64_t size,
			bool rela)
{
	size_t ent = rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel));
	uint64_t off;

	if (!size)
		return 0;
	if (size % ent || !file_off(im, addr, size, &off) || off % _Alignof(ElfW(Rel)))
		return bad(im, "the %s table (0x%llx, %llu bytes) is not inside a loaded segment", name,
			   (unsigned long long)addr, (unsigned long long)size);
	for (uint64_t k = 0; k < size / ent; k++) {
		const ElfW(Rel) *r = (const ElfW(Rel) *)(im->b + off + k * ent);
		uint64_t symi = R_SYM(r->r_info);

		if (R_TYPE(r->r_info) == 0)
			continue; /* R_*_NONE */

		if (symi >= d->nsyms)
			return bad(im, "%s relocation %llu names symbol %llu of %llu", name, (unsigned long long)k,
				   (unsigned long long)symi, (unsigned long long)d->nsyms);
		if (!in_image(im, r->r_offset, sizeof(ElfW(Addr)), !d->textrel))
			return bad(im, "%s relocation %llu writes at 0x%llx, outside any writable segment", name,
				   (unsigned long long)k, (unsigned long long)r->r_offset);
	}
	return 0;
}

static int check_relr(struct image *im, const struct dyn *d)
{
	const ElfW(Addr) *e;
	uint64_t off, where = 0;

	if (!d->relrsz)
		return 0;
	if (d->relrsz % sizeof(ElfW(Addr)) || !file_off(im, d->relr, d->relrsz, &off) ||
	    off % _Alignof(ElfW(Addr)))
		return bad(im, "the DT_RELR table is not inside a loaded segment");
	e = (const ElfW(Addr) *)(im->b + off);
	for (uint64_t k = 0; k < d->relrsz / sizeof(*e); k++) {
		if (!(e[k] & 1)) {
			where = e[k];
			if (!in_image(im, where, sizeof(ElfW(Addr)), true))
				return bad(im, "DT_RELR entry %llu writes at 0x%llx, outside any writable segment",
					   (unsigned long long)k, (unsigned long long)where);
			where += sizeof(ElfW(Addr));
		} else {
			for (unsigned bit = 1; bit < 8 * sizeof(ElfW(Addr)); bit++)
				if (((uint64_t)e[k] >> bit) & 1 &&
				    !in_image(im, where + (bit - 1) * sizeof(ElfW(Addr)), sizeof(ElfW(Addr)), true))
					return bad(im, "DT_RELR bitmap %llu writes at 0x%llx, outside any writable segment",
						   (unsigned long long)k,
						   (unsigned long long)(where + (bit - 1) * sizeof(ElfW(Addr))));
			where += (8 * sizeof(ElfW(Addr)) - 1) * sizeof(ElfW(Addr));
		}
	}
	return 0;
}

static int check_code(struct image *im, const struct dyn *d)
{
	if (d->init_arraysz && (d->init_arraysz % sizeof(ElfW(Addr)) ||
				!in_image(im, d->init_array, d->init_arraysz, false)))
		return bad(im, "DT_INIT_ARRAY is outside the loaded image");
	if (d->fini_arraysz && (d->fini_arraysz % sizeof(ElfW(Addr)) ||
				!in_image(im, d->fini_array, d->fini_arraysz, false)))
		return bad(im, "DT_FINI_ARRAY is outside the loaded image");
	if ((d->has_init && !in_image(im, d->init, 1, false)) || (d->has_fini && !in_image(im, d->fini, 1, false)))
		return bad(im, "DT_INIT or DT_FINI is outside the loaded image");
	return 0;
}

/* The section headers (written last, at the end of the file) must agree
 * with the program headers and the dynamic segment (at its start): in a
 * file rewritten in place, one end may come from another version. */
static int check_sections(struct image *im, const struct dyn *d)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)im->b;
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(im->b + eh->e_shoff);
	bool dynamic = false, dynsym = false;

	if (!eh->e_shnum)
		return 0; /* stripped of its section headers (sstrip): nothing to compare */
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const ElfW(Shdr) *s = &sh[i];
		uint64_t off;

		if (!(s->sh_flags & SHF_ALLOC) || s->sh_type == SHT_NOBITS || !s->sh_size)
			continue;
		if (!file_off(im, s->sh_addr, s->sh_size, &off) || off != s->sh_offset)
			return bad(im, "section %u (0x%llx at offset %llu) does not match the loaded segments", i,
				   (unsigned long long)s->sh_addr, (unsigned long long)s->sh_offset);
		if ((s->sh_type == SHT_DYNSYM && (s->sh_addr != d->symtab ||
						   (!d->nsyms_guessed && s->sh_size != d->nsyms * sizeof(ElfW(Sym))))) ||
		    (s->sh_type == SHT_GNU_HASH && s->sh_addr != d->gnu_hash) ||
		    (s->sh_type == SHT_HASH && s->sh_addr != d->hash))
			return bad(im, "section %u disagrees with the dynamic segment's symbol or hash table", i);
		if (s->sh_type == SHT_DYNSYM && s->sh_link < eh->e_shnum &&
		    (sh[s->sh_link].sh_addr != d->strtab || sh[s->sh_link].sh_size != d->strsz))
			return bad(im, "the dynamic string section disagrees with DT_STRTAB/DT_STRSZ");
		if (s->sh_type == SHT_RELA && !((s->sh_addr == d->rela && s->sh_size == d->relasz) ||
						 (s->sh_addr == d->jmprel && s->sh_size == d->pltrelsz)))
			return bad(im, "relocation section %u disagrees with DT_RELA or DT_JMPREL", i);
		if (s->sh_type == SHT_DYNAMIC)
			dynamic = s->sh_addr == d->dyn_vaddr;
		dynsym |= s->sh_type == SHT_DYNSYM;
	}
	if (!dynamic || !dynsym)
		return bad(im, "the section headers have no .dynamic matching the dynamic segment, or no .dynsym");
	return 0;
}

int ll_plugin_check_dynamic(const void *buf, size_t len, char *why, size_t why_size)
{
	const ElfW(Ehdr) *eh = buf;
	struct image im = {
		.b = buf, .len = len, .ph = (const ElfW(Phdr) *)((const unsigned char *)buf + eh->e_phoff),
		.phnum = eh->e_phnum, .why = why, .why_size = why_size,
	};
	struct dyn d = { 0 };
	int r;

	r = read_dynamic(&im, &d);
	if (r == 0)
		r = check_strings(&im, &d);
	if (r == 0)
		r = count_symbols(&im, &d);
	if (r == 0)
		r = check_symbols(&im, &d);
	if (r == 0)
		r = check_relocs(&im, &d, "DT_RELA", d.rela, d.relasz, true);
	if (r == 0)
		r = check_relocs(&im, &d, "DT_REL", d.rel, d.relsz, false);
	if (r == 0)
		r = check_relocs(&im, &d, "DT_JMPREL", d.jmprel, d.pltrelsz, d.pltrel != DT_REL);
	if (r == 0)
		r = check_relr(&im, &d);
	if (r == 0)
		r = check_code(&im, &d);
	if (r == 0)
		r = check_sections(&im, &d);
	return r;
}
