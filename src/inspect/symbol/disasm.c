/* disasm.c: capstone disassembly around an ELF address.
 *
 * The architecture and mode come from the ELF header (machine, class, byte
 * order; ARM's Thumb state from the function symbol's low bit). Code bytes
 * are read from the allocated section holding the address. Variable-length
 * code (x86, Thumb) is decoded from the containing function's start so that
 * instruction boundaries are right (without a symbol: from the furthest
 * point, at most 48 bytes back, whose decoding lands exactly on the address);
 * fixed-length code starts `before` instructions back. A ring buffer keeps
 * the last `before` instructions while decoding up to the address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <capstone/capstone.h>

#include "symbol_internal.h"

#define MAX_CONTEXT 1024             /* most instructions before/after */
#define MAX_FUNC_DECODE (1u << 20)   /* decode at most 1 MiB from a function start */
#define SYNC_BACK 48                 /* bytes tried back without a symbol (x86) */

void disasm_close(struct ll_symbolizer *s)
{
	if (s->cs_open) {
		csh h = s->cs_handle;

		cs_close(&h);
		s->cs_open = false;
	}
}

/* capstone arch/mode for the module; -EOPNOTSUPP when it has none. */
static int cs_params(const GElf_Ehdr *eh, bool thumb, cs_arch *arch, cs_mode *mode, unsigned *width)
{
	bool is64 = eh->e_ident[EI_CLASS] == ELFCLASS64;
	cs_mode endian = eh->e_ident[EI_DATA] == ELFDATA2MSB ? CS_MODE_BIG_ENDIAN : CS_MODE_LITTLE_ENDIAN;

	*width = 4;
	switch (eh->e_machine) {
	case EM_X86_64:
		*arch = CS_ARCH_X86, *mode = CS_MODE_64, *width = 0;
		return 0;
	case EM_386:
		*arch = CS_ARCH_X86, *mode = CS_MODE_32, *width = 0;
		return 0;
	case EM_AARCH64:
		*arch = CS_ARCH_ARM64, *mode = CS_MODE_ARM | endian;
		return 0;
	case EM_ARM:
		*arch = CS_ARCH_ARM, *mode = (thumb ? CS_MODE_THUMB : CS_MODE_ARM) | endian;
		if (thumb)
			*width = 0; /* Thumb-2 mixes 2- and 4-byte instructions */
		return 0;
	case EM_MIPS:
		*arch = CS_ARCH_MIPS, *mode = (is64 ? CS_MODE_MIPS64 : CS_MODE_MIPS32) | endian;
		return 0;
	case EM_PPC:
		*arch = CS_ARCH_PPC, *mode = CS_MODE_32 | endian;
		return 0;
	case EM_PPC64:
		*arch = CS_ARCH_PPC, *mode = CS_MODE_64 | endian;
		return 0;
	case EM_SPARCV9:
		*arch = CS_ARCH_SPARC, *mode = CS_MODE_V9 | CS_MODE_BIG_ENDIAN;
		return 0;
	case EM_SPARC:
		*arch = CS_ARCH_SPARC, *mode = CS_MODE_BIG_ENDIAN;
		return 0;
	case EM_S390:
		*arch = CS_ARCH_SYSZ, *mode = CS_MODE_BIG_ENDIAN, *width = 0;
		return 0;
	default:
		return -EOPNOTSUPP; /* includes RISC-V: capstone 4 has no decoder for it */
	}
}

/* The bytes of the allocated, non-NOBITS section holding addr. */
static int section_bytes(struct ll_symbolizer *s, uint64_t addr, const uint8_t **buf, uint64_t *lo,
			 uint64_t *size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS ||
		    addr < sh.sh_addr || addr - sh.sh_addr >= sh.sh_size)
			continue;
		d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size == 0)
			return -ENODATA;
		*buf = d->d_buf;
		*lo = sh.sh_addr;
		*size = d->d_size < sh.sh_size ? d->d_size : sh.sh_size;
		return 0;
	}
	return -ENODATA;
}

static void copy_insn(struct ll_insn *o, const cs_insn *in)
{
	memset(o, 0, sizeof(*o));
	o->addr = in->address;
	o->size = in->size;
	memcpy(o->bytes, in->bytes, in->size < sizeof(o->bytes) ? in->size : sizeof(o->bytes));
	snprintf(o->mnemonic, sizeof(o->mnemonic), "%s", in->mnemonic);
	snprintf(o->op_str, sizeof(o->op_str), "%s", in->op_str);
}

static void bad_insn(struct ll_insn *o, uint64_t addr, const uint8_t *p, unsigned size)
{
	memset(o, 0, sizeof(*o));
	o->addr = addr;
	o->size = (uint16_t)size;
	memcpy(o->bytes, p, size < sizeof(o->bytes) ? size : sizeof(o->bytes));
	snprintf(o->mnemonic, sizeof(o->mnemonic), "(bad)");
}

/* Whether decoding from start reaches an instruction starting exactly at addr. */
static bool lands_on(csh h, cs_insn *in, const uint8_t *base, uint64_t lo, uint64_t size,
		     uint64_t start, uint64_t addr)
{
	const uint8_t *code = base + (start - lo);
	size_t left = size - (start - lo);
	uint64_t a = start;

	while (a < addr && cs_disasm_iter(h, &code, &left, &a, in))
		;
	return a == addr;
}

int ll_disasm(struct ll_symbolizer *s, uint64_t addr, unsigned before, unsigned after,
	      struct ll_insn **out, size_t *n)
{
	const struct sym_entry *sym = symtab_lookup(s, addr, NULL);
	struct ll_insn *ring = NULL, *res = NULL;
	const uint8_t *base, *code;
	uint64_t lo, size, start, a;
	size_t left, nring = 0, ring_head = 0, nres = 0;
	unsigned width;
	cs_arch arch;
	cs_mode mode;
	cs_insn *in = NULL;
	csh h;
	int r;

	*out = NULL;
	*n = 0;
	if (before > MAX_CONTEXT)
		before = MAX_CONTEXT;
	if (after > MAX_CONTEXT)
		after = MAX_CONTEXT;
	r = cs_params(&s->ehdr, sym && sym->thumb, &arch, &mode, &width);
	if (r < 0)
		return r;
	r = section_bytes(s, addr, &base, &lo, &size);
	if (r < 0)
		return r;
	if (!s->cs_open) {
		if (cs_open(arch, mode, &h) != CS_ERR_OK)
			return -EOPNOTSUPP;
		s->cs_handle = h;
		s->cs_open = true;
	}
	h = s->cs_handle;
	cs_option(h, CS_OPT_MODE, mode);
	in = cs_malloc(h);
	ring = calloc(before ? before : 1, sizeof(*ring));
	res = calloc((size_t)before + 1 + after, sizeof(*res));
	if (!in || !ring || !res) {
		r = -ENOMEM;
		goto out;
	}

	if (width) { /* fixed length: step back `before` aligned instructions */
		uint64_t al = addr - (addr - lo) % width;
		uint64_t back = (uint64_t)before * width;

		start = al - lo >= back ? al - back : lo;
	} else if (sym && sym->addr >= lo && sym->addr <= addr && addr - sym->addr <= MAX_FUNC_DECODE) {
		start = sym->addr;
	} else {
		start = addr;
		for (uint64_t k = SYNC_BACK; k > 0; k--)
			if (addr - lo >= k && lands_on(h, in, base, lo, size, addr - k, addr)) {
				start = addr - k;
				break;
			}
	}

	code = base + (start - lo);
	left = size - (start - lo);
	a = start;
	while (left > 0 && nres < (size_t)before + 1 + after) {
		struct ll_insn cur;
		uint64_t at = a;

		if (cs_disasm_iter(h, &code, &left, &a, in)) {
			copy_insn(&cur, in);
		} else { /* undecodable: skip one unit */
			unsigned step = width ? width : 1;

			if (step > left)
				step = (unsigned)left;
			bad_insn(&cur, at, code, step);
			code += step;
			left -= step;
			a += step;
		}
		if (nres == 0 && cur.addr + cur.size <= addr) { /* still before addr */
			if (before) {
				ring[ring_head] = cur;
				ring_head = (ring_head + 1) % before;
				if (nring < before)
					nring++;
			}
			continue;
		}
		if (nres == 0) { /* the instruction holding addr: flush the ring first */
			for (size_t i = 0; i < nring; i++)
				res[nres++] = ring[(ring_head + before - nring + i) % before];
			cur.marked = cur.addr <= addr;
		}
		res[nres++] = cur;
		if (nres >= nring + 1 + after)
			break;
	}
	if (nres == 0) {
		r = -ENODATA;
		goto out;
	}
	*out = res;
	*n = nres;
	res = NULL;
	r = 0;
out:
	if (in)
		cs_free(in, 1);
	free(ring);
	free(res);
	return r;
}
