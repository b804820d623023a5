/* elfsym.c: module-relative address and function name of a PC, without
 * malloc, for the crash handler.
 *
 * The module file is opened through /proc/self/map_files/START-END when
 * allowed (it is the very file that is mapped, even if it was deleted or
 * replaced since), else by its path. The ELF header, program headers,
 * section headers and symbols are read with pread(2) into fixed buffers on
 * the stack: the PT_LOAD segment the mapping came from turns the PC into the
 * ELF virtual address (what addr2line takes), and the .symtab (else .dynsym)
 * symbol of type FUNC/IFUNC whose [value, value+size) holds that address
 * names it; when none does (a stripped module), the same search runs in its
 * separate debug file, /usr/lib/debug/.build-id/xx/yyyy.debug, named by the
 * module's GNU build-id note. Only native-class ELF files are read (this
 * process's own). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash/crash_internal.h"

#define SYM_CHUNK 512   /* symbols per pread: 12 KiB on 64-bit */

static int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Open a file that must be a regular ELF file. O_NONBLOCK: a FIFO put where
 * a module or its debug file was (a replaced .so, a planted debug path)
 * would otherwise block the handler forever in open(); anything but a
 * regular file is refused. */
static int open_regular(const char *path, int flags)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_module(const struct crash_map *m)
{
	char path[4096];
	char num[17];
	size_t len;
	int fd;

	/* /proc/self/map_files/START-END */
	strcpy(path, "/proc/self/map_files/");
	strcat(path, crash_fmt_hex(num, m->start));
	strcat(path, "-");
	strcat(path, crash_fmt_hex(num, m->end));
	fd = open_regular(path, 0);
	if (fd >= 0)
		return fd;
	if (m->path[0] != '/')
		return -1;
	len = strlen(m->path);
	if (m->deleted)
		len -= strlen(" (deleted)");
	if (len >= sizeof(path))
		return -1;
	memcpy(path, m->path, len);
	path[len] = '\0';
	return open_regular(path, 0);
}

/* The ELF vaddr of pc, from the PT_LOAD segment the mapping came from. */
static int find_vaddr(int fd, const ElfW(Ehdr) *eh, const struct crash_map *m, uint64_t pc,
		      uint64_t *vaddr)
{
	uint64_t fileoff = pc - m->start + m->off;
	int found = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		ElfW(Phdr) ph;

		if (full_pread(fd, &ph, sizeof(ph), eh->e_phoff + (uint64_t)i * eh->e_phentsize))
			return -1;
		if (ph.p_type != PT_LOAD)
			continue;
		if (fileoff < ph.p_offset || fileoff >= ph.p_offset + (ph.p_filesz ? ph.p_filesz : 1))
			continue;
		/* Segments may share a page; prefer the one whose
		 * permissions match the mapping's. */
		if (!found || (((m->perms & CM_X) != 0) == ((ph.p_flags & PF_X) != 0))) {
			*vaddr = fileoff - ph.p_offset + ph.p_vaddr;
			found = 1;
		}
	}
	return found ? 0 : -1;
}

static int read_shdr(int fd, const ElfW(Ehdr) *eh, unsigned idx, ElfW(Shdr) *sh)
{
	if (idx >= eh->e_shnum)
		return -1;
	return full_pread(fd, sh, sizeof(*sh), eh->e_shoff + (uint64_t)idx * eh->e_shentsize);
}

static int sym_rank(int fd, const ElfW(Shdr) *strtab, const ElfW(Sym) *s)
{
	unsigned bind = ELF64_ST_BIND(s->st_info);
	int rank = bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0;
	char c = '_';

	if (s->st_name < strtab->sh_size)
		(void)full_pread(fd, &c, 1, strtab->sh_offset + s->st_name);
	return rank + (c != '_');
}

static void find_symbol(int fd, const ElfW(Ehdr) *eh, uint64_t vaddr, struct crash_sym *out)
{
	ElfW(Shdr) sh, symtab = { 0 }, strtab;
	ElfW(Sym) syms[SYM_CHUNK];
	int have_symtab = 0, have_dynsym = 0;
	uint64_t best_name = 0, best_value = 0;
	int best = 0, best_rank = 0, rank;

	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(ElfW(Shdr)))
		return;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (read_shdr(fd, eh, i, &sh))
			return;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = sh;
			have_symtab = 1;
		} else if (sh.sh_type == SHT_DYNSYM && !have_symtab) {
			symtab = sh;
			have_dynsym = 1;
		}
	}
	if (!have_symtab && !have_dynsym)
		return;
	if (symtab.sh_entsize != sizeof(ElfW(Sym)) || read_shdr(fd, eh, symtab.sh_link, &strtab))
		return;
	for (uint64_t pos = 0; pos < symtab.sh_size;) {
		uint64_t left = (symtab.sh_size - pos) / sizeof(ElfW(Sym));
		size_t n = left < SYM_CHUNK ? (size_t)left : SYM_CHUNK;

		if (n == 0 || full_pread(fd, syms, n * sizeof(ElfW(Sym)), symtab.sh_offset + pos))
			break;
		for (size_t k = 0; k < n; k++) {
			const ElfW(Sym) *s = &syms[k];
			unsigned type = ELF64_ST_TYPE(s->st_info);

			if (s->st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
				continue;
			if (vaddr < s->st_value || vaddr - s->st_value >= s->st_size)
				continue;
			/* Among aliases (free, __libc_free, cfree) prefer a
			 * global name, then one not starting with '_'; else
			 * the first. */
			rank = sym_rank(fd, &strtab, s);
			if (!best || rank > best_rank) {
				best = 1;
				best_rank = rank;
				best_name = s->st_name;
				best_value = s->st_value;
			}
		}
		pos += n * sizeof(ElfW(Sym));
	}
	if (!best || best_name >= strtab.sh_size)
		return;
	{
		size_t want = sizeof(out->name) - 1;
		ssize_t got;

		if (strtab.sh_size - best_name < want)
			want = (size_t)(strtab.sh_size - best_name);
		got = pread(fd, out->name, want, (off_t)(strtab.sh_offset + best_name));
		if (got <= 0) {
			out->name[0] = '\0';
			return;
		}
		out->name[got] = '\0';
		out->sym_off = vaddr - best_value;
	}
}

/* The last answer: a deep recursion (a stack overflow) repeats one return
 * address for every frame. Reset at the start of each report. */
static struct {
	int valid;
	uint64_t start, end, pc;
	struct crash_sym sym;
} last;

void crash_elf_reset(void)
{
	last.valid = 0;
}

static void lookup(const struct crash_map *m, uint64_t pc, struct crash_sym *out);

static int read_ehdr(int fd, ElfW(Ehdr) *eh)
{
	if (full_pread(fd, eh, sizeof(*eh), 0) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh->e_phentsize != sizeof(ElfW(Phdr)))
		return -1;
	return 0;
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug from the module's GNU build-id
 * note (found through the PT_NOTE segments). */
static int debug_file_path(int fd, const ElfW(Ehdr) *eh, char *path, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	static const char dir[] = "/usr/lib/debug/.build-id/";
	unsigned char buf[1024];

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		ElfW(Phdr) ph;
		size_t len, off = 0, align;

		if (full_pread(fd, &ph, sizeof(ph), eh->e_phoff + (uint64_t)i * eh->e_phentsize))
			return -1;
		if (ph.p_type != PT_NOTE)
			continue;
		len = ph.p_filesz < sizeof(buf) ? (size_t)ph.p_filesz : sizeof(buf);
		if (full_pread(fd, buf, len, ph.p_offset))
			continue;
		align = ph.p_align == 8 ? 8 : 4;
		while (off + sizeof(ElfW(Nhdr)) <= len) {
			ElfW(Nhdr) nh;
			size_t name_off, desc_off, n;

			memcpy(&nh, buf + off, sizeof(nh));
			name_off = off + sizeof(nh);
			desc_off = name_off + ((nh.n_namesz + align - 1) & ~(align - 1));
			if (desc_off + nh.n_descsz > len)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(buf + name_off, "GNU", 4) &&
			    nh.n_descsz >= 2 && nh.n_descsz <= 64 &&
			    sizeof(dir) + 2 * nh.n_descsz + 8 < size) {
				const unsigned char *id = buf + desc_off;

				memcpy(path, dir, sizeof(dir) - 1);
				n = sizeof(dir) - 1;
				for (size_t k = 0; k < nh.n_descsz; k++) {
					path[n++] = hex[id[k] >> 4];
					path[n++] = hex[id[k] & 15];
					if (k == 0)
						path[n++] = '/';
				}
				memcpy(path + n, ".debug", 7);
				return 0;
			}
			off = desc_off + ((nh.n_descsz + align - 1) & ~(align - 1));
		}
	}
	return -1;
}

/* No symbol in the module itself (a stripped library, or a static function
 * of one that ships only .dynsym): try its separate debug file. */
static void find_symbol_in_debug_file(int fd, const ElfW(Ehdr) *eh, uint64_t vaddr, struct crash_sym *out)
{
	char path[256];
	ElfW(Ehdr) deh;
	int dfd;

	if (debug_file_path(fd, eh, path, sizeof(path)) < 0)
		return;
	dfd = open_regular(path, O_NOFOLLOW);
	if (dfd < 0)
		return;
	if (read_ehdr(dfd, &deh) == 0)
		find_symbol(dfd, &deh, vaddr, out);
	close(dfd);
}

void crash_elf_lookup(const struct crash_map *m, uint64_t pc, struct crash_sym *out)
{
	if (m && last.valid && last.start == m->start && last.end == m->end && last.pc == pc) {
		*out = last.sym;
		return;
	}
	lookup(m, pc, out);
	if (m) {
		last.valid = 1;
		last.start = m->start;
		last.end = m->end;
		last.pc = pc;
		last.sym = *out;
	}
}

static void lookup(const struct crash_map *m, uint64_t pc, struct crash_sym *out)
{
	ElfW(Ehdr) eh;
	int fd;

	out->have_vaddr = 0;
	out->vaddr = 0;
	out->name[0] = '\0';
	out->sym_off = 0;
	if (!m || m->path[0] != '/')
		return;
	fd = open_module(m);
	if (fd < 0)
		return;
	if (read_ehdr(fd, &eh))
		goto out;
	if (find_vaddr(fd, &eh, m, pc, &out->vaddr))
		goto out;
	out->have_vaddr = 1;
	find_symbol(fd, &eh, out->vaddr, out);
	if (!out->name[0])
		find_symbol_in_debug_file(fd, &eh, out->vaddr, out);
out:
	close(fd);
}
