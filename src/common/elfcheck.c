/* elfcheck.c: is this buffer a complete ELF object of this machine: a
 * shared object (plugins) or an executable (whole-binary upgrades)?
 *
 * A file caught mid-`cp` is an ELF cut short: its header may be whole while
 * the section headers (written last, at the end) or the tail of a PT_LOAD
 * segment are missing. Every table and segment the header points to must lie
 * inside the buffer; a cut-short file is told apart (-EAGAIN: retry when the
 * writer is done) from a file that will never load (-ENOEXEC). The machine,
 * class and byte order are compared with this very object's own ELF header
 * (__ehdr_start, provided by the linker). */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

/* end = off + n * size, refusing overflow. */
static int span_end(uint64_t off, uint64_t n, uint64_t size, uint64_t *end)
{
	if (size && n > UINT64_MAX / size)
		return -1;
	if (off > UINT64_MAX - n * size)
		return -1;
	*end = off + n * size;
	return 0;
}

int ll_elf_check_complete(const void *buf, size_t len, enum ll_elf_kind kind, char *why, size_t why_size)
{
	const unsigned char *b = buf;
	const ElfW(Ehdr) *eh = buf;
	const ElfW(Ehdr) *self = &__ehdr_start;
	uint64_t end = 0;
	bool has_load = false, has_dyn = false;

	if (why && why_size)
		why[0] = '\0';
	if (len == 0)
		return ll_fail_why(-EAGAIN, why, why_size, "the file is empty (being written?)");
	if (memcmp(b, ELFMAG, len < SELFMAG ? len : SELFMAG) != 0)
		return ll_fail_why(-ENOEXEC, why, why_size, "not an ELF file (no \\177ELF magic at the start)");
	if (len < sizeof(ElfW(Ehdr)))
		return ll_fail_why(-EAGAIN, why, why_size, "ELF cut short: %zu bytes, less than an ELF header (being written?)",
			    len);
	if (eh->e_ident[EI_CLASS] != self->e_ident[EI_CLASS])
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF class %u, this host is class %u (32- vs 64-bit)",
			    eh->e_ident[EI_CLASS], self->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != self->e_ident[EI_DATA])
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF byte order differs from this host's");
	if (eh->e_machine != self->e_machine)
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF machine %u, this host is machine %u (built for another CPU)",
			    eh->e_machine, self->e_machine);
	if (kind == LL_ELF_EXECUTABLE && eh->e_type != ET_DYN && eh->e_type != ET_EXEC)
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF type %u is not an executable (ET_EXEC or ET_DYN)",
			    eh->e_type);
	if (kind == LL_ELF_SHARED_OBJECT && eh->e_type != ET_DYN)
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF type %u is not a shared object (ET_DYN); build with -shared",
			    eh->e_type);
	if (eh->e_phnum == 0 || eh->e_phentsize != sizeof(ElfW(Phdr)))
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF has no usable program headers");
	if (span_end(eh->e_phoff, eh->e_phnum, sizeof(ElfW(Phdr)), &end) || end > len)
		return ll_fail_why(-EAGAIN, why, why_size,
			    "ELF cut short: program headers end at byte %llu, the file has %zu (being written?)",
			    (unsigned long long)end, len);
	if (eh->e_shnum) {
		if (eh->e_shentsize != sizeof(ElfW(Shdr)))
			return ll_fail_why(-ENOEXEC, why, why_size, "ELF section header size %u is wrong",
				    eh->e_shentsize);
		if (span_end(eh->e_shoff, eh->e_shnum, sizeof(ElfW(Shdr)), &end) || end > len)
			return ll_fail_why(-EAGAIN, why, why_size,
				    "ELF cut short: section headers end at byte %llu, the file has %zu (being written?)",
				    (unsigned long long)end, len);
	}
	if (eh->e_phoff % _Alignof(ElfW(Phdr)))
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF program headers are misaligned");
	if (eh->e_shnum && eh->e_shoff % _Alignof(ElfW(Shdr)))
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF section headers are misaligned");
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(b + eh->e_phoff) + i;

		if (ph->p_type == PT_DYNAMIC)
			has_dyn = true;
		if (ph->p_type != PT_LOAD)
			continue;
		has_load = true;
		if (ph->p_filesz > ph->p_memsz)
			return ll_fail_why(-ENOEXEC, why, why_size, "ELF segment %u has more file bytes than memory", i);
		if (span_end(ph->p_offset, 1, ph->p_filesz, &end) || end > len)
			return ll_fail_why(-EAGAIN, why, why_size,
				    "ELF cut short: segment %u ends at byte %llu, the file has %zu (being written?)", i,
				    (unsigned long long)end, len);
	}
	if (!has_load)
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF has no loadable segment");
	if (!has_dyn && kind == LL_ELF_SHARED_OBJECT)
		return ll_fail_why(-ENOEXEC, why, why_size, "ELF has no dynamic section (not a shared library)");
	return 0;
}
