/* core_symbolize.c: frames of a core symbolized and the crashing code
 * disassembled.
 *
 * A pc in a module whose file is known (build-id checked by core_unwind.c)
 * is symbolized by the shared symbolizer (lifeline/inspect/symbolize.h, one
 * ll_symcache per analysis), at its ELF address (pc - the module's load
 * bias), so `lifeline cores info` names frames exactly like `lifeline
 * symbolize`. Modules without a file (the vdso, read from the core) and any
 * address the shared symbolizer cannot answer fall back to libdwfl's own
 * DWARF reading: the line table gives the innermost file:line, each
 * DW_TAG_inlined_subroutine's DW_AT_call_file/DW_AT_call_line the location in
 * the function it was inlined into. The disassembly around the crashing pc
 * uses capstone directly, with the code bytes from the core when it holds
 * them, else from the module's (verified) file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <capstone/capstone.h>

#include "lifeline/inspect/symbolize.h"
#include "core_internal.h"

static int push(struct core_thread *t, struct core_frame *f)
{
	struct core_frame *v = realloc(t->frames, (t->nframes + 1) * sizeof(*v));

	if (!v) {
		core_frame_free(f);
		return -ENOMEM;
	}
	t->frames = v;
	t->frames[t->nframes++] = *f;
	return 0;
}

static const char *call_file(Dwarf_Die *cu, Dwarf_Die *die)
{
	Dwarf_Attribute at;
	Dwarf_Word idx;
	Dwarf_Files *files;
	size_t nfiles;

	if (!dwarf_attr(die, DW_AT_call_file, &at) || dwarf_formudata(&at, &idx) != 0)
		return NULL;
	if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

static int attr_int(Dwarf_Die *die, unsigned name)
{
	Dwarf_Attribute at;
	Dwarf_Word v;

	if (!dwarf_attr(die, name, &at) || dwarf_formudata(&at, &v) != 0)
		return 0;
	return (int)v;
}

static int new_frame(struct core_frame *f, Dwfl_Module *mod, uint64_t pc, bool activation,
		     const char *function, const char *file, int line, int column)
{
	GElf_Addr low;
	const char *name = dwfl_module_info(mod, NULL, &low, NULL, NULL, NULL, NULL, NULL);
	const char *slash = name ? strrchr(name, '/') : NULL;

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	f->activation = activation;
	f->module = core_strdup(slash ? slash + 1 : name ? name : "?");
	f->module_offset = pc - low;
	f->function = core_strdup(function);
	f->file = core_strdup(file);
	f->line = line;
	f->column = column;
	if (!f->module || (function && !f->function) || (file && !f->file)) {
		core_frame_free(f);
		return -ENOMEM;
	}
	return 0;
}

static int dwfl_frames(Dwfl_Module *mod, uint64_t lookup, uint64_t pc, bool activation,
		       struct core_thread *t);

static int hex_bytes(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	if (n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)n;
}

/* Through the shared symbolizer: 1 when it answered, 0 to fall back. */
static int shared_frames(struct core_ctx *c, struct core_module *m, uint64_t lookup, uint64_t pc,
			 bool activation, struct core_thread *t)
{
	struct ll_sym_opts o = { 0 };
	struct ll_symbolizer *s = NULL;
	struct ll_sym_result *res;
	uint8_t bid[64];
	int blen = 0, r = 0, fd;
	GElf_Addr bias;

	if (!m->file || (m->status != CORE_MOD_OK && m->status != CORE_MOD_DEBUG_ONLY &&
			 m->status != CORE_MOD_UNVERIFIED) || !dwfl_module_getelf(m->mod, &bias))
		return 0;
	if (m->build_id && (blen = hex_bytes(m->build_id, bid, sizeof(bid))) < 0)
		return 0;
	/* only the safe copy of the module (core_safefile.c) is handed over:
	 * the symbolizer never opens a path the core names */
	if ((fd = core_safe_copy_known(c, m->file)) < 0)
		return 0;
	if (!c->symcache) {
		c->sym_dirs[0] = c->debug_dir;
		c->sym_dirs[1] = NULL;
		o.debug_dirs = c->sym_dirs;
		o.flags = LL_SYM_ONLY_GIVEN_DIRS; /* not the module's own directory */
		if (ll_symcache_new(&o, &c->symcache) < 0)
			return 0;
	}
	if (ll_symcache_get(c->symcache, m->file, fd, blen > 0 ? bid : NULL, (size_t)blen, &s) < 0)
		return 0;
	res = calloc(1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	if (ll_symbolize(s, lookup - bias, res) < 0 || (res->nframes == 0 && !res->symbol)) {
		free(res);
		return 0;
	}
	if (res->nframes == 0) {
		struct core_frame f;

		r = new_frame(&f, m->mod, pc, activation, res->symbol, NULL, 0, 0);
		if (r == 0) {
			f.function_offset = res->symbol_offset + (pc - lookup);
			f.have_function_offset = true;
			r = push(t, &f);
		}
	}
	for (size_t i = 0; i < res->nframes && r == 0; i++) {
		const struct ll_sym_frame *sf = &res->frames[i];
		struct core_frame f;

		r = new_frame(&f, m->mod, pc, activation, sf->function, sf->file, (int)sf->line,
			      (int)sf->column);
		if (r < 0)
			break;
		f.inlined = i + 1 < res->nframes;
		if (!f.inlined && res->symbol && sf->function && strcmp(res->symbol, sf->function) == 0) {
			f.function_offset = res->symbol_offset + (pc - lookup);
			f.have_function_offset = true;
		}
		r = push(t, &f);
	}
	free(res);
	return r < 0 ? r : 1;
}

void core_symbolize_end(struct core_ctx *c)
{
	ll_symcache_free(c->symcache);
	c->symcache = NULL;
}

int core_symbolize_frames(struct core_ctx *c, struct core_module *m, uint64_t lookup, uint64_t pc,
			  bool activation, struct core_thread *t)
{
	int shared = c->opts->dwfl_symbols ? 0 : shared_frames(c, m, lookup, pc, activation, t);

	if (shared != 0)
		return shared < 0 ? shared : 0;
	return dwfl_frames(m->mod, lookup, pc, activation, t);
}

/* libdwfl's own answer for pc in mod. */
static int dwfl_frames(Dwfl_Module *mod, uint64_t lookup, uint64_t pc, bool activation,
		       struct core_thread *t)
{
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *symname = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
	Dwfl_Line *dl = dwfl_module_getsrc(mod, lookup);
	const char *file = NULL;
	int line = 0, column = 0, nscopes = 0, r = 0;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, lookup, &bias), *scopes = NULL;
	bool done = false;
	struct core_frame f;

	if (dl)
		file = dwfl_lineinfo(dl, NULL, &line, &column, NULL, NULL);
	if (cu)
		nscopes = dwarf_getscopes(cu, lookup - bias, &scopes);
	for (int i = 0; i < nscopes && !done && r == 0; i++) {
		int tag = dwarf_tag(&scopes[i]);
		const char *name;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		name = dwarf_diename(&scopes[i]);
		if (tag == DW_TAG_subprogram) {
			r = new_frame(&f, mod, pc, activation, name ? name : symname, file, line, column);
			if (r == 0 && symname && (!name || strcmp(name, symname) == 0)) {
				f.function_offset = off + (pc - lookup);
				f.have_function_offset = true;
			}
			if (r == 0)
				r = push(t, &f);
			done = true;
			break;
		}
		r = new_frame(&f, mod, pc, activation, name, file, line, column);
		if (r == 0) {
			f.inlined = true;
			r = push(t, &f);
		}
		file = call_file(cu, &scopes[i]);
		line = attr_int(&scopes[i], DW_AT_call_line);
		column = attr_int(&scopes[i], DW_AT_call_column);
	}
	free(scopes);
	if (!done && r == 0 && (symname || file)) {
		r = new_frame(&f, mod, pc, activation, symname, file, line, column);
		if (r == 0 && symname) {
			f.function_offset = off + (pc - lookup);
			f.have_function_offset = true;
		}
		if (r == 0)
			r = push(t, &f);
	}
	return r;
}

uint64_t core_symbol_address(Dwfl_Module *mod, const char *name)
{
	int n = dwfl_module_getsymtab(mod);

	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);

		if (s && sym.st_shndx != SHN_UNDEF && strcmp(s, name) == 0)
			return addr;
	}
	return 0;
}

/* Code bytes at addr from the module's (build-id verified) file. */
static size_t read_module_code(struct core_ctx *c, uint64_t addr, unsigned char *buf, size_t n)
{
	struct core_module *m = core_module_at(c->a, addr);
	GElf_Addr bias;
	Elf *e;
	Elf_Scn *scn = NULL;

	if (!m || m->status == CORE_MOD_REPLACED || m->status == CORE_MOD_MISSING ||
	    m->status == CORE_MOD_MODIFIED)
		return 0;
	e = dwfl_module_getelf(m->mod, &bias);
	if (!e)
		return 0;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		uint64_t rel, avail;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS)
			continue;
		if (addr - bias < sh.sh_addr || addr - bias >= sh.sh_addr + sh.sh_size)
			continue;
		d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf)
			return 0;
		rel = addr - bias - sh.sh_addr;
		if (rel >= d->d_size)
			return 0;
		avail = d->d_size - rel;
		if (n > avail)
			n = (size_t)avail;
		memcpy(buf, (const char *)d->d_buf + rel, n);
		return n;
	}
	return 0;
}

static size_t read_code(struct core_ctx *c, uint64_t addr, unsigned char *buf, size_t n)
{
	size_t got = core_read_mem(c, addr, buf, n);

	if (got == n)
		return got;
	return read_module_code(c, addr, buf, n);
}

static bool cs_arch_of(const struct ll_core_analysis *a, cs_arch *arch, cs_mode *mode,
		       unsigned *width)
{
	*width = 0;
	switch (a->machine) {
	case EM_X86_64: *arch = CS_ARCH_X86; *mode = CS_MODE_64; return true;
	case EM_386: *arch = CS_ARCH_X86; *mode = CS_MODE_32; return true;
	case EM_AARCH64: *arch = CS_ARCH_ARM64; *mode = CS_MODE_ARM; *width = 4; return true;
	case EM_ARM: *arch = CS_ARCH_ARM; *mode = CS_MODE_ARM; *width = 4; return true;
	case EM_MIPS:
		*arch = CS_ARCH_MIPS;
		*mode = (a->elfclass == ELFCLASS64 ? CS_MODE_MIPS64 : CS_MODE_MIPS32);
		*width = 4;
		return true;
	default: return false;
	}
}

static int store_insns(struct core_ctx *c, const cs_insn *insn, size_t count, size_t cur,
		       unsigned before, unsigned after)
{
	struct ll_core_analysis *a = c->a;
	size_t first = cur > before ? cur - before : 0, last = cur + after;

	if (last > count)
		last = count;
	a->insns = calloc(last - first, sizeof(*a->insns));
	if (!a->insns)
		return -ENOMEM;
	for (size_t i = first; i < last; i++) {
		struct core_insn *o = &a->insns[a->ninsns++];
		size_t k = 0;

		o->addr = insn[i].address;
		o->current = i == cur;
		for (size_t b = 0; b < insn[i].size && k + 3 < sizeof(o->bytes); b++)
			k += (size_t)snprintf(o->bytes + k, sizeof(o->bytes) - k, "%s%02x", b ? " " : "",
					      insn[i].bytes[b]);
		snprintf(o->text, sizeof(o->text), "%s%s%s", insn[i].mnemonic,
			 insn[i].op_str[0] ? " " : "", insn[i].op_str);
	}
	return 0;
}

/* Decode from start; the index of the instruction at pc, or -1. */
static ssize_t decode(csh h, const unsigned char *buf, size_t n, uint64_t start, uint64_t pc,
		      cs_insn **insn, size_t *count)
{
	*count = cs_disasm(h, buf, n, start, 0, insn);
	for (size_t i = 0; i < *count; i++)
		if ((*insn)[i].address == pc)
			return (ssize_t)i;
	if (*count)
		cs_free(*insn, *count);
	*insn = NULL;
	*count = 0;
	return -1;
}

int core_disassemble(struct core_ctx *c, uint64_t pc, bool return_address)
{
	struct ll_core_analysis *a = c->a;
	unsigned n = c->opts->disasm_insns ? c->opts->disasm_insns : 8;
	unsigned before = n / 2, after = n - before, width;
	enum { BACK = 96, AHEAD = 16 * 16 };
	unsigned char buf[BACK + AHEAD];
	size_t got, back = 0, count = 0;
	cs_insn *insn = NULL;
	ssize_t cur = -1;
	cs_arch arch;
	cs_mode mode;
	csh h;
	int r = 0;

	if (!cs_arch_of(a, &arch, &mode, &width)) {
		a->disasm_note = core_printf("no disassembler for %s", a->arch);
		return a->disasm_note ? 0 : -ENOMEM;
	}
	if (read_code(c, pc, buf, 1) != 1) {
		struct core_module *m = core_module_at(a, pc);

		a->disasm_note = m && (m->status == CORE_MOD_REPLACED || m->status == CORE_MOD_MODIFIED)
			? core_printf("the code at 0x%llx is not in the core and %s was %s", (unsigned long long)pc,
				      m->name, m->status == CORE_MOD_REPLACED ? "replaced since the crash"
									    : "modified in place while mapped")
			: core_printf("no code at pc 0x%llx: not in the core, not in a module file%s",
				      (unsigned long long)pc,
				      core_region_find(a, pc) ? "" : " (the address is not mapped)");
		return a->disasm_note ? 0 : -ENOMEM;
	}
	if (cs_open(arch, mode, &h) != CS_ERR_OK) {
		a->disasm_note = core_printf("capstone cannot disassemble %s", a->arch);
		return a->disasm_note ? 0 : -ENOMEM;
	}
	if (width) { /* fixed width: start a few instructions back */
		back = (size_t)before * width;
		if (back > pc || read_code(c, pc - back, buf, back + (size_t)after * width) == 0)
			back = 0;
		got = read_code(c, pc - back, buf, back + (size_t)after * width);
		cur = decode(h, buf, got, pc - back, pc, &insn, &count);
	} else { /* variable length: from the function's start when it is near,
		  * else from the farthest start that decodes onto pc */
		struct core_module *m = core_module_at(a, pc);
		GElf_Off off = 0;
		GElf_Sym sym;

		if (m && m->status != CORE_MOD_REPLACED && m->status != CORE_MOD_MISSING &&
		    m->status != CORE_MOD_MODIFIED &&
		    dwfl_module_addrinfo(m->mod, pc, &off, &sym, NULL, NULL, NULL) && off > 0 &&
		    off <= BACK) {
			got = read_code(c, pc - off, buf, off + AHEAD);
			if (got > off)
				cur = decode(h, buf, got, pc - off, pc, &insn, &count);
		}
		for (back = BACK; back > 0 && cur < 0; back--) {
			if (back > pc)
				continue;
			got = read_code(c, pc - back, buf, back + AHEAD);
			if (got <= back)
				continue;
			cur = decode(h, buf, got, pc - back, pc, &insn, &count);
		}
		if (cur < 0) {
			got = read_code(c, pc, buf, AHEAD);
			cur = decode(h, buf, got, pc, pc, &insn, &count);
		}
	}
	if (cur > 0 && return_address)
		cur--; /* the call that pushed the return address */
	if (cur >= 0)
		r = store_insns(c, insn, count, (size_t)cur, before, after);
	else
		a->disasm_note = core_printf("the bytes at pc 0x%llx do not decode as %s instructions",
					     (unsigned long long)pc, a->arch);
	if (count)
		cs_free(insn, count);
	cs_close(&h);
	return r;
}
