/* core_sniff.c: the modules of a core found from the core alone.
 *
 * libdwfl's dwfl_core_file_report() opens every path the core names itself
 * (NT_FILE entries, and link_map names read from the process memory) with a
 * plain open(2) and maps it: a FIFO hangs the analysis, a device is opened
 * (/dev/watchdog arms), a file truncated meanwhile kills it with SIGBUS. It
 * has no hook to prevent that, so it is not used. Instead, for each PT_LOAD
 * segment of the core whose first bytes are an ELF header (a file mapped at
 * offset 0, the vdso), the program headers are read from the core's memory:
 * the module spans its PT_LOAD segments, its build-id is the GNU note in its
 * PT_NOTE, its name the NT_FILE path of that address ("[vdso]" for
 * AT_SYSINFO_EHDR, "[exe]"/"[dso]" otherwise). The module is reported with
 * dwfl_report_module(): libdwfl asks our find_elf (core_modules.c) for its
 * file later, which opens it the safe way (core_safefile.c). Everything is
 * bounded: CORE_MAX_MODULES modules, 256 program headers and 64 KiB of notes
 * each. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

#define MAX_PHNUM 256u
#define MAX_NOTE_SEG (64u << 10)
#define MAX_IMAGE (64ull << 20)

static uint64_t rd(const struct core_ctx *c, const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[c->msb ? n - 1 - i : i] << (8 * i);
	return v;
}

/* The GNU build-id in a note segment's bytes (length, 0 if none). */
static size_t note_build_id(const struct core_ctx *c, const unsigned char *d, size_t n,
			    uint64_t align, unsigned char *out, size_t max)
{
	size_t off = 0, a = align == 8 ? 8 : 4;

	while (n - off >= 12) {
		uint64_t namesz = rd(c, d + off, 4), descsz = rd(c, d + off + 4, 4);
		uint64_t type = rd(c, d + off + 8, 4);
		uint64_t name_off = off + 12, desc_off = (name_off + namesz + a - 1) & ~(uint64_t)(a - 1);
		uint64_t next = (desc_off + descsz + a - 1) & ~(uint64_t)(a - 1);

		if (namesz > n || descsz > n || desc_off + descsz > n)
			return 0;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(d + name_off, "GNU", 4) == 0 &&
		    descsz > 0 && descsz <= max) {
			memcpy(out, d + desc_off, (size_t)descsz);
			return (size_t)descsz;
		}
		if (next <= off || next > n)
			return 0;
		off = (size_t)next;
	}
	return 0;
}

static const char *nt_file_at(const struct core_ctx *c, uint64_t addr)
{
	const struct core_nt_file *f = core_nt_file_at(c, addr);

	return f && f->start == addr && f->file_offset == 0 ? f->path : NULL;
}

static bool overlaps(const struct core_ctx *c, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < c->nsniffed; i++)
		if (start < c->sniffed[i].end && c->sniffed[i].start < end)
			return true;
	return false;
}

/* The module whose ELF header is at addr, reported; 1 if one was. */
static int sniff_at(struct core_ctx *c, uint64_t addr, uint64_t pagesz)
{
	bool is64 = c->a->elfclass == ELFCLASS64;
	unsigned w = is64 ? 8 : 4;
	unsigned char eh[64], bid[64], *ph = NULL, *notes = NULL;
	uint64_t phoff, shoff, phnum, phent, shnum, shent, type;
	uint64_t lo = UINT64_MAX, hi = 0, bias = 0, image = 0, mask = ~(pagesz - 1);
	bool found_bias = false;
	size_t bidlen = 0;
	const char *name;
	struct core_sniffed *v;
	Dwfl_Module *mod;
	int r = 0;

	if (core_read_mem(c, addr, eh, is64 ? 64 : 52) != (is64 ? 64u : 52u) ||
	    memcmp(eh, ELFMAG, SELFMAG) != 0 || eh[EI_CLASS] != c->a->elfclass ||
	    eh[EI_DATA] != (c->msb ? ELFDATA2MSB : ELFDATA2LSB))
		return 0;
	type = rd(c, eh + 16, 2);
	phoff = rd(c, eh + (is64 ? 32 : 28), w);
	shoff = rd(c, eh + (is64 ? 40 : 32), w);
	phent = rd(c, eh + (is64 ? 54 : 42), 2);
	phnum = rd(c, eh + (is64 ? 56 : 44), 2);
	shent = rd(c, eh + (is64 ? 58 : 46), 2);
	shnum = rd(c, eh + (is64 ? 60 : 48), 2);
	if (phent != (is64 ? 56u : 32u) || phnum == 0 || phnum > MAX_PHNUM || phoff > MAX_IMAGE)
		return 0;
	ph = malloc(phnum * phent);
	if (!ph)
		return -ENOMEM;
	if (core_read_mem(c, addr + phoff, ph, phnum * phent) != phnum * phent)
		goto out;
	for (uint64_t i = 0; i < phnum; i++) {
		const unsigned char *p = ph + i * phent;
		uint64_t pt = rd(c, p, 4);
		uint64_t off = rd(c, p + (is64 ? 8 : 4), w), va = rd(c, p + (is64 ? 16 : 8), w);
		uint64_t fsz = rd(c, p + (is64 ? 32 : 16), w), msz = rd(c, p + (is64 ? 40 : 20), w);

		if (pt != PT_LOAD)
			continue;
		if (va + msz < va || off + fsz < off)
			goto out; /* nonsense headers */
		if (!found_bias && (off & mask) == 0) {
			bias = addr - (va & mask);
			found_bias = true;
		}
		if ((va & mask) < lo)
			lo = va & mask;
		if (va + msz > hi)
			hi = va + msz;
		if (off + fsz > image)
			image = off + fsz;
	}
	hi = (hi + pagesz - 1) & mask; /* the module spans whole pages */
	if (!found_bias || lo >= hi || hi - lo > (1ull << 40) || lo + bias < lo || hi + bias < hi ||
	    overlaps(c, lo + bias, hi + bias))
		goto out;
	for (uint64_t i = 0; i < phnum && bidlen == 0; i++) {
		const unsigned char *p = ph + i * phent;
		uint64_t va = rd(c, p + (is64 ? 16 : 8), w), fsz = rd(c, p + (is64 ? 32 : 16), w);
		uint64_t al = rd(c, p + (is64 ? 48 : 28), w);
		size_t n;

		if (rd(c, p, 4) != PT_NOTE || fsz == 0 || fsz > MAX_NOTE_SEG)
			continue;
		free(notes);
		notes = malloc((size_t)fsz);
		if (!notes) {
			r = -ENOMEM;
			goto out;
		}
		n = core_read_mem(c, va + bias, notes, (size_t)fsz);
		bidlen = note_build_id(c, notes, n, al, bid, sizeof(bid));
	}
	if (shnum && shent && shoff + shnum * shent > image && shoff + shnum * shent <= MAX_IMAGE)
		image = shoff + shnum * shent;
	name = nt_file_at(c, addr);
	if (!name)
		name = addr == core_auxv(c, AT_SYSINFO_EHDR) ? "[vdso]" : type == ET_EXEC ? "[exe]" : "[dso]";
	mod = dwfl_report_module(c->dwfl, name, lo + bias, hi + bias);
	if (!mod)
		goto out;
	if (bidlen)
		dwfl_module_report_build_id(mod, bid, bidlen, 0);
	v = realloc(c->sniffed, (c->nsniffed + 1) * sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	c->sniffed = v;
	v[c->nsniffed++] = (struct core_sniffed){ .start = lo + bias, .end = hi + bias, .image = addr,
						  .image_size = image <= MAX_IMAGE ? image : 0 };
	r = 1;
out:
	free(ph);
	free(notes);
	return r;
}

int core_sniff_report(struct core_ctx *c)
{
	uint64_t pagesz = core_auxv(c, AT_PAGESZ);
	int n = 0;

	if (pagesz < 512 || pagesz > (1u << 20) || (pagesz & (pagesz - 1)))
		pagesz = 4096;
	for (size_t i = 0; i < c->nsegs; i++) {
		int r;

		if (c->nsniffed >= CORE_MAX_MODULES) {
			core_strv_pushf(&c->a->notes, "more than %u modules in the core: the others "
					"were not looked at", CORE_MAX_MODULES);
			break;
		}
		if (c->segs[i].filesz == 0 || c->segs[i].avail == 0)
			continue;
		r = sniff_at(c, c->segs[i].vaddr, pagesz);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

const struct core_sniffed *core_sniffed_at(const struct core_ctx *c, uint64_t start)
{
	for (size_t i = 0; i < c->nsniffed; i++)
		if (c->sniffed[i].start == start)
			return &c->sniffed[i];
	return NULL;
}
