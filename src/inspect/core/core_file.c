/* core_file.c: the ELF core file itself, read with libelf.
 *
 * Validates the file (an ELF of type ET_CORE), reads the PT_LOAD segments
 * (process memory; a segment whose bytes run past the end of the file marks
 * the core truncated) and the notes: NT_PRSTATUS per thread (signal, pid,
 * registers), NT_SIGINFO, NT_FILE (the file mappings), NT_AUXV and
 * NT_PRPSINFO. Memory is read back with pread on the core's descriptor,
 * bounded by what the file really holds. Register layouts are the kernel's
 * elf_gregset_t for x86_64, aarch64, i386 and arm. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <elf.h>
#include <gelf.h>

#include "common/common.h"
#include "core_internal.h"


struct arch_regs {
	unsigned machine, elfclass;
	const char *arch;
	unsigned nregs, pc, sp;
	const char *const *names;
};

static const char *const x86_64_names[] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
	"rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};
static const char *const aarch64_names[] = {
	"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
	"x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20",
	"x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
	"sp", "pc", "pstate",
};
static const char *const i386_names[] = {
	"ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "ds", "es", "fs",
	"gs", "orig_eax", "eip", "cs", "eflags", "esp", "ss",
};
static const char *const arm_names[] = {
	"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
	"fp", "ip", "sp", "lr", "pc", "cpsr", "orig_r0",
};

static const struct arch_regs arches[] = {
	{ EM_X86_64, ELFCLASS64, "x86_64", 27, 16, 19, x86_64_names },
	{ EM_AARCH64, ELFCLASS64, "aarch64", 34, 32, 31, aarch64_names },
	{ EM_386, ELFCLASS32, "i386", 17, 12, 15, i386_names },
	{ EM_ARM, ELFCLASS32, "arm", 18, 15, 13, arm_names },
};

static const struct arch_regs *arch_of(unsigned machine, unsigned elfclass)
{
	for (size_t i = 0; i < LL_ARRAY_SIZE(arches); i++)
		if (arches[i].machine == machine && arches[i].elfclass == elfclass)
			return &arches[i];
	return NULL;
}

static const char *machine_name(unsigned machine)
{
	switch (machine) {
	case EM_X86_64: return "x86_64";
	case EM_AARCH64: return "aarch64";
	case EM_386: return "i386";
	case EM_ARM: return "arm";
	case EM_MIPS: return "mips";
	case EM_PPC64: return "ppc64";
	case EM_PPC: return "ppc";
	case EM_RISCV: return "riscv";
	case EM_S390: return "s390";
	default: return "unknown";
	}
}

static uint64_t get_word(const unsigned char *p, unsigned elfclass, bool msb)
{
	unsigned n = elfclass == ELFCLASS64 ? 8 : 4;
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[msb ? n - 1 - i : i] << (8 * i);
	return v;
}

static uint32_t get_u32(const unsigned char *p, bool msb)
{
	return msb ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get_u16(const unsigned char *p, bool msb)
{
	return msb ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static int parse_prstatus(struct core_ctx *c, const unsigned char *d, size_t n, bool msb)
{
	struct ll_core_analysis *a = c->a;
	bool is64 = a->elfclass == ELFCLASS64;
	size_t pid_off = is64 ? 32 : 24, reg_off = is64 ? 112 : 72;
	size_t w = is64 ? 8 : 4;
	const struct arch_regs *ar = arch_of(a->machine, a->elfclass);
	struct core_prstatus *p, *v;

	if (n < pid_off + 4)
		return 0;
	if (c->nprs_total++ >= CORE_MAX_THREADS)
		return 0; /* counted, not kept: the analysis is bounded */
	v = realloc(c->prs, (c->nprs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->prs = v;
	p = &v[c->nprs++];
	memset(p, 0, sizeof(*p));
	p->cursig = get_u16(d + 12, msb);
	p->tid = (int)get_u32(d + pid_off, msb);
	if (ar && n >= reg_off + ar->nregs * w) {
		p->nregs = ar->nregs;
		for (unsigned i = 0; i < ar->nregs; i++)
			p->regs[i] = get_word(d + reg_off + i * w, a->elfclass, msb);
	}
	return 0;
}

static void parse_siginfo(struct core_ctx *c, const unsigned char *d, size_t n, bool msb)
{
	struct ll_core_analysis *a = c->a;
	bool is64 = a->elfclass == ELFCLASS64;
	size_t u = is64 ? 16 : 12; /* the union after signo, errno, code (+pad) */

	if (a->have_siginfo || n < u + 8)
		return;
	a->have_siginfo = true;
	a->signo = (int)get_u32(d, msb);
	a->si_errno = (int)get_u32(d + 4, msb);
	a->si_code = (int)get_u32(d + 8, msb);
	switch (a->signo) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
		if (a->si_code > 0) {
			a->fault_addr = get_word(d + u, a->elfclass, msb);
			a->have_fault_addr = true;
		}
		break;
	default:
		break;
	}
	if (a->si_code <= 0) { /* SI_USER, SI_QUEUE, SI_TKILL...: sender pid, uid */
		a->sender_pid = (int)get_u32(d + u, msb);
		a->sender_uid = (int)get_u32(d + u + 4, msb);
	}
}

static int cmp_nt_file(const void *x, const void *y)
{
	const struct core_nt_file *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

const struct core_nt_file *core_nt_file_at(const struct core_ctx *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < c->files[mid].start)
			hi = mid;
		else if (addr >= c->files[mid].end)
			lo = mid + 1;
		else
			return &c->files[mid];
	}
	return NULL;
}

static int parse_nt_file(struct core_ctx *c, const unsigned char *d, size_t n, bool msb)
{
	unsigned ec = c->a->elfclass;
	size_t w = ec == ELFCLASS64 ? 8 : 4;
	uint64_t count, page;
	const char *names, *end = (const char *)d + n;

	if (n < 2 * w)
		return 0;
	count = get_word(d, ec, msb);
	page = get_word(d + w, ec, msb);
	if (count > (n - 2 * w) / (3 * w))
		return 0;
	c->nfiles_total = (size_t)count;
	c->files = calloc(count ? (count < CORE_MAX_NT_FILE ? count : CORE_MAX_NT_FILE) : 1,
			  sizeof(*c->files));
	if (!c->files)
		return -ENOMEM;
	names = (const char *)d + 2 * w + count * 3 * w;
	for (uint64_t i = 0; i < count && i < CORE_MAX_NT_FILE; i++) {
		const unsigned char *e = d + 2 * w + i * 3 * w;
		struct core_nt_file *f = &c->files[c->nfiles];
		const char *z;

		if (names >= end)
			break;
		z = memchr(names, '\0', (size_t)(end - names));
		if (!z)
			break;
		f->start = get_word(e, ec, msb);
		f->end = get_word(e + w, ec, msb);
		f->file_offset = get_word(e + 2 * w, ec, msb) * page;
		f->path = core_strdup(names);
		if (!f->path)
			return -ENOMEM;
		c->nfiles++;
		names = z + 1;
	}
	/* in address order (the kernel's already), for core_nt_file_at() */
	qsort(c->files, c->nfiles, sizeof(*c->files), cmp_nt_file);
	return 0;
}

static int parse_auxv(struct core_ctx *c, const unsigned char *d, size_t n, bool msb)
{
	unsigned ec = c->a->elfclass;
	size_t w = ec == ELFCLASS64 ? 8 : 4, cnt = n / (2 * w);

	free(c->auxv);
	c->auxv = calloc(cnt ? 2 * cnt : 1, sizeof(uint64_t));
	if (!c->auxv)
		return -ENOMEM;
	c->nauxv = cnt;
	for (size_t i = 0; i < cnt; i++) {
		c->auxv[2 * i] = get_word(d + 2 * i * w, ec, msb);
		c->auxv[2 * i + 1] = get_word(d + (2 * i + 1) * w, ec, msb);
	}
	return 0;
}

static void parse_psinfo(struct core_ctx *c, const unsigned char *d, size_t n, bool msb)
{
	struct ll_core_analysis *a = c->a;
	/* pr_pid follows state, flag and 16- or 32-bit uid/gid */
	size_t pid_off = a->elfclass == ELFCLASS64 ? 24 : n == 124 ? 12 : 16;

	/* pr_fname[16] and pr_psargs[80] end the structure on every arch */
	if (n < 96 || a->comm)
		return;
	a->pid = (int)get_u32(d + pid_off, msb);
	a->comm = strndup((const char *)d + n - 96, 16);
	a->psargs = strndup((const char *)d + n - 80, 80);
	if (a->psargs) {
		size_t l = strlen(a->psargs);
		while (l > 0 && a->psargs[l - 1] == ' ')
			a->psargs[--l] = '\0';
	}
}

static int parse_notes(struct core_ctx *c, const GElf_Phdr *ph, bool msb)
{
	uint64_t size = ph->p_filesz;
	Elf_Data *data;
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	int r = 0;

	if (ph->p_offset >= c->a->core_size)
		return 0;
	if (size > c->a->core_size - ph->p_offset)
		size = c->a->core_size - ph->p_offset;
	if (size > CORE_MAX_NOTE_BYTES - c->note_bytes)
		size = CORE_MAX_NOTE_BYTES - c->note_bytes; /* in all notes segments together */
	if (size == 0)
		return 0;
	c->note_bytes += size;
	data = elf_getdata_rawchunk(c->elf, (int64_t)ph->p_offset, size, ELF_T_NHDR);
	if (!data)
		return 0;
	while (r == 0 && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;
		bool core_name = nh.n_namesz == 5 && memcmp(name, "CORE", 5) == 0;
		bool linux_name = nh.n_namesz == 6 && memcmp(name, "LINUX", 6) == 0;

		if (!core_name && !linux_name)
			continue;
		switch (nh.n_type) {
		case NT_PRSTATUS:
			if (core_name)
				r = parse_prstatus(c, desc, nh.n_descsz, msb);
			break;
		case NT_SIGINFO:
			parse_siginfo(c, desc, nh.n_descsz, msb);
			break;
		case NT_FILE:
			if (!c->files)
				r = parse_nt_file(c, desc, nh.n_descsz, msb);
			break;
		case NT_AUXV:
			r = parse_auxv(c, desc, nh.n_descsz, msb);
			break;
		case NT_PRPSINFO:
			if (core_name)
				parse_psinfo(c, desc, nh.n_descsz, msb);
			break;
		default:
			break;
		}
	}
	return r;
}

static int read_segments(struct core_ctx *c, size_t phnum, bool msb)
{
	struct ll_core_analysis *a = c->a;
	size_t nload = 0;
	int r = 0;

	c->segs = calloc(phnum < CORE_MAX_SEGMENTS ? phnum : CORE_MAX_SEGMENTS, sizeof(*c->segs));
	if (!c->segs)
		return -ENOMEM;
	for (size_t i = 0; i < phnum && i <= INT_MAX && r == 0; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(c->elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_NOTE) {
			r = parse_notes(c, &ph, msb);
		} else if (ph.p_type == PT_LOAD && c->nsegs_total++ < CORE_MAX_SEGMENTS) {
			struct core_seg *s = &c->segs[c->nsegs++];

			s->vaddr = ph.p_vaddr;
			s->memsz = ph.p_memsz;
			s->offset = ph.p_offset;
			s->filesz = ph.p_filesz;
			s->flags = ph.p_flags;
			if (ph.p_offset >= a->core_size)
				s->avail = 0;
			else if (ph.p_filesz > a->core_size - ph.p_offset)
				s->avail = a->core_size - ph.p_offset;
			else
				s->avail = ph.p_filesz;
			if (s->avail < s->filesz)
				nload++;
		}
	}
	c->segs_sorted = true;
	for (size_t i = 1; i < c->nsegs; i++)
		if (c->segs[i].vaddr < c->segs[i - 1].vaddr + c->segs[i - 1].memsz ||
		    c->segs[i - 1].vaddr + c->segs[i - 1].memsz < c->segs[i - 1].vaddr)
			c->segs_sorted = false;
	if (r == 0 && c->nsegs_total > c->nsegs)
		r = core_strv_pushf(&a->notes, "the core has %zu memory segments: only the first %zu "
				    "were read", c->nsegs_total, c->nsegs);
	if (r == 0 && c->nfiles_total > c->nfiles)
		r = core_strv_pushf(&a->notes, "the core names %zu file mappings: only the first %zu "
				    "were read", c->nfiles_total, c->nfiles);
	if (r == 0 && c->note_bytes >= CORE_MAX_NOTE_BYTES)
		r = core_strv_pushf(&a->notes, "the core's notes were read up to %u MiB only",
				    CORE_MAX_NOTE_BYTES >> 20);
	if (r == 0 && nload > 0) {
		a->truncated = true;
		a->truncated_detail = core_printf(
			"the core is truncated: %zu of %zu memory segments are missing bytes "
			"(file is %llu bytes); the analysis goes as far as the data does",
			nload, c->nsegs, (unsigned long long)a->core_size);
	}
	return r;
}

int core_file_open(struct core_ctx *c, const char *path)
{
	struct ll_core_analysis *a = c->a;
	const struct ll_core_options *o = c->opts;
	struct stat pre, st;
	GElf_Ehdr eh;
	size_t phnum;
	unsigned char ident[EI_NIDENT];
	ssize_t n;
	bool msb;

	/* stat first: a FIFO or a device given as the core is never opened */
	if (stat(path, &pre) < 0) {
		int e = errno;
		core_set_error(o, "%s: cannot open: %s", a->core_path, strerror(e));
		return -e;
	}
	if (!S_ISREG(pre.st_mode)) {
		core_set_error(o, "%s: not a regular file", a->core_path);
		return -EINVAL;
	}
	c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (c->fd < 0) {
		int e = errno;
		core_set_error(o, "%s: cannot open: %s", a->core_path, strerror(e));
		return -e;
	}
	if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != pre.st_dev ||
	    st.st_ino != pre.st_ino) {
		core_set_error(o, "%s: not a regular file", a->core_path);
		return -EINVAL;
	}
	a->core_size = (uint64_t)st.st_size;
	n = pread(c->fd, ident, sizeof(ident), 0);
	if (n < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0) {
		core_set_error(o, "%s: not an ELF core file (no ELF header); "
			       "give an uncompressed core, e.g. from `lifeline cores dump`", a->core_path);
		return -ENOEXEC;
	}
	if (n < EI_NIDENT) {
		core_set_error(o, "%s: truncated to %zd bytes, before the end of the ELF header", a->core_path, n);
		return -EINVAL;
	}
	elf_version(EV_CURRENT);
	/* read with pread, never mmap: a core truncated while it is read must
	 * give a short read, not SIGBUS */
	c->elf = elf_begin(c->fd, ELF_C_READ, NULL);
	if (!c->elf || elf_kind(c->elf) != ELF_K_ELF || !gelf_getehdr(c->elf, &eh)) {
		core_set_error(o, "%s: the ELF header cannot be read (%s): the file is truncated or corrupt",
			       a->core_path, elf_errmsg(-1));
		return -EINVAL;
	}
	if (eh.e_type != ET_CORE) {
		core_set_error(o, "%s: an ELF %s, not a core file (e_type %u is not ET_CORE)", a->core_path,
			       eh.e_type == ET_EXEC ? "executable" :
			       eh.e_type == ET_DYN ? "shared object or PIE executable" :
			       eh.e_type == ET_REL ? "object file" : "file", (unsigned)eh.e_type);
		return -ENOEXEC;
	}
	a->machine = eh.e_machine;
	a->elfclass = ident[EI_CLASS];
	a->arch = machine_name(eh.e_machine);
	msb = ident[EI_DATA] == ELFDATA2MSB;
	c->msb = msb;
	if (elf_getphdrnum(c->elf, &phnum) < 0 || phnum == 0 ||
	    eh.e_phoff + (uint64_t)phnum * eh.e_phentsize > a->core_size) {
		core_set_error(o, "%s: truncated before the end of its program headers "
			       "(%llu bytes): nothing of the process can be read",
			       a->core_path, (unsigned long long)a->core_size);
		return -EINVAL;
	}
	return read_segments(c, phnum, msb);
}

size_t core_read_mem(const struct core_ctx *c, uint64_t addr, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		const struct core_seg *s = NULL;
		uint64_t a = addr + done, rel, avail;
		size_t chunk;
		ssize_t r;

		if (c->segs_sorted) { /* the kernel writes them in address order */
			size_t lo = 0, hi = c->nsegs;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (a < c->segs[mid].vaddr)
					hi = mid;
				else if (a - c->segs[mid].vaddr >= c->segs[mid].memsz)
					lo = mid + 1;
				else {
					s = &c->segs[mid];
					break;
				}
			}
		} else {
			for (size_t i = 0; i < c->nsegs; i++)
				if (a >= c->segs[i].vaddr && a - c->segs[i].vaddr < c->segs[i].memsz) {
					s = &c->segs[i];
					break;
				}
		}
		if (!s)
			break;
		rel = a - s->vaddr;
		if (rel >= s->filesz) { /* not dumped: reads as zero if the core says so */
			break;
		}
		if (rel >= s->avail)
			break;
		avail = s->avail - rel;
		chunk = n - done < avail ? n - done : (size_t)avail;
		r = pread(c->fd, (char *)buf + done, chunk, (off_t)(s->offset + rel));
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return done;
}

char *core_read_string(const struct core_ctx *c, uint64_t addr, size_t max)
{
	char *buf = malloc(max + 1);
	size_t n;

	if (!buf)
		return NULL;
	n = core_read_mem(c, addr, buf, max);
	buf[n] = '\0';
	if (n == 0 || (strnlen(buf, n) == n && n < max)) { /* nothing, or cut short */
		free(buf);
		return NULL;
	}
	return buf;
}

uint64_t core_auxv(const struct core_ctx *c, uint64_t type)
{
	for (size_t i = 0; i < c->nauxv; i++)
		if (c->auxv[2 * i] == type)
			return c->auxv[2 * i + 1];
	return 0;
}

bool core_regs_pc_sp(const struct core_ctx *c, const struct core_prstatus *p, uint64_t *pc,
		     uint64_t *sp)
{
	const struct arch_regs *ar = arch_of(c->a->machine, c->a->elfclass);

	if (!ar || !p || p->nregs != ar->nregs)
		return false;
	*pc = p->regs[ar->pc];
	*sp = p->regs[ar->sp];
	return true;
}

void core_regs_fill(struct core_ctx *c)
{
	const struct arch_regs *ar = arch_of(c->a->machine, c->a->elfclass);
	const struct core_prstatus *p = c->nprs ? &c->prs[0] : NULL;

	if (!ar || !p || p->nregs != ar->nregs)
		return;
	for (unsigned i = 0; i < ar->nregs && i < LL_ARRAY_SIZE(c->a->regs); i++) {
		c->a->regs[i].name = ar->names[i];
		c->a->regs[i].value = p->regs[i];
	}
	c->a->nregs = ar->nregs;
}

void core_file_close(struct core_ctx *c)
{
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i].path);
	free(c->files);
	free(c->segs);
	free(c->prs);
	free(c->auxv);
	free(c->debug_dir);
	free(c->debuginfo_path);
	core_strv_free(&c->tainted);
	core_strv_free(&c->unverified);
	c->debug_dir = NULL;
	c->debuginfo_path = NULL;
	if (c->elf)
		elf_end(c->elf);
	if (c->fd >= 0)
		close(c->fd);
	c->files = NULL;
	c->segs = NULL;
	c->prs = NULL;
	c->auxv = NULL;
	c->elf = NULL;
	c->fd = -1;
}
