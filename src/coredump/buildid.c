/* buildid.c: the GNU build-id of a file the crashing process maps, read with
 * a few bounded pread() calls.
 *
 * The file is the attacker's: it can be huge, sparse, truncated while we read
 * it, or declare absurd header sizes. So no mmap (a file truncated under a
 * mapping raises SIGBUS in the reader) and no libelf (it allocates what the
 * headers ask for): the ELF header, at most LL_BID_MAX_PHDRS program headers,
 * and at most LL_BID_MAX_NOTES PT_NOTE segments of at most LL_BID_NOTE_MAX
 * bytes each; any inconsistency just means "no build-id". Both ELF classes
 * and both byte orders are understood (cores of foreign binaries run under
 * qemu-user). A read interrupted by a signal (the caller's deadline) ends
 * the search. */
#include <byteswap.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coredump/internal.h"

#define LL_BID_MAX_PHDRS 256
#define LL_BID_MAX_NOTES 8
#define LL_BID_NOTE_MAX (64u << 10)

struct elfr {
	bool swap;
	bool is64;
};

static uint16_t u16(const struct elfr *e, const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return e->swap ? bswap_16(v) : v;
}

static uint32_t u32(const struct elfr *e, const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return e->swap ? bswap_32(v) : v;
}

static uint64_t u64(const struct elfr *e, const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return e->swap ? bswap_64(v) : v;
}

static bool pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	if (off > (uint64_t)INT64_MAX - len)
		return false;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		/* EINTR: the caller's read deadline expired (procinfo.c). */
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* The build-id in a buffer of notes, as lowercase hex (malloc'ed), or NULL. */
static char *scan_notes(const struct elfr *e, const unsigned char *p, size_t len, size_t align)
{
	size_t off = 0;

	while (off + 12 <= len) {
		uint32_t namesz = u32(e, p + off), descsz = u32(e, p + off + 4), type = u32(e, p + off + 8);
		size_t name_off = off + 12;
		size_t desc_off, next;

		if (namesz > len || descsz > len)
			return NULL;
		desc_off = name_off + ((namesz + align - 1) & ~(align - 1));
		next = desc_off + ((descsz + align - 1) & ~(align - 1));
		if (desc_off > len || desc_off + descsz > len)
			return NULL;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + name_off, "GNU", 4) &&
		    descsz > 0 && descsz <= 64) {
			static const char hexd[] = "0123456789abcdef";
			char *hex = malloc((size_t)descsz * 2 + 1);

			if (!hex)
				return NULL;
			for (uint32_t i = 0; i < descsz; i++) {
				hex[2 * i] = hexd[p[desc_off + i] >> 4];
				hex[2 * i + 1] = hexd[p[desc_off + i] & 15];
			}
			hex[2 * descsz] = '\0';
			return hex;
		}
		if (next <= off)
			return NULL;
		off = next;
	}
	return NULL;
}

char *ll_cd_build_id_fd(int fd)
{
	unsigned char eh[sizeof(Elf64_Ehdr)], *ph = NULL, *note = NULL;
	struct elfr e;
	uint64_t phoff;
	unsigned phentsize, phnum, notes = 0;
	char *hex = NULL;

	if (!pread_all(fd, eh, EI_NIDENT, 0) || memcmp(eh, ELFMAG, SELFMAG))
		return NULL;
	if (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64)
		return NULL;
	if (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)
		return NULL;
	e.is64 = eh[EI_CLASS] == ELFCLASS64;
	e.swap = (eh[EI_DATA] == ELFDATA2LSB) != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
	if (!pread_all(fd, eh, e.is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr), 0))
		return NULL;
	if (e.is64) {
		phoff = u64(&e, eh + offsetof(Elf64_Ehdr, e_phoff));
		phentsize = u16(&e, eh + offsetof(Elf64_Ehdr, e_phentsize));
		phnum = u16(&e, eh + offsetof(Elf64_Ehdr, e_phnum));
		if (phentsize != sizeof(Elf64_Phdr))
			return NULL;
	} else {
		phoff = u32(&e, eh + offsetof(Elf32_Ehdr, e_phoff));
		phentsize = u16(&e, eh + offsetof(Elf32_Ehdr, e_phentsize));
		phnum = u16(&e, eh + offsetof(Elf32_Ehdr, e_phnum));
		if (phentsize != sizeof(Elf32_Phdr))
			return NULL;
	}
	if (phnum == 0 || phnum > LL_BID_MAX_PHDRS)
		return NULL;
	ph = malloc((size_t)phnum * phentsize);
	note = malloc(LL_BID_NOTE_MAX);
	if (!ph || !note || !pread_all(fd, ph, (size_t)phnum * phentsize, phoff))
		goto out;
	for (unsigned i = 0; i < phnum && !hex && notes < LL_BID_MAX_NOTES; i++) {
		const unsigned char *p = ph + (size_t)i * phentsize;
		uint64_t off, size, align;

		if (u32(&e, p) != PT_NOTE)
			continue;
		if (e.is64) {
			off = u64(&e, p + offsetof(Elf64_Phdr, p_offset));
			size = u64(&e, p + offsetof(Elf64_Phdr, p_filesz));
			align = u64(&e, p + offsetof(Elf64_Phdr, p_align));
		} else {
			off = u32(&e, p + offsetof(Elf32_Phdr, p_offset));
			size = u32(&e, p + offsetof(Elf32_Phdr, p_filesz));
			align = u32(&e, p + offsetof(Elf32_Phdr, p_align));
		}
		notes++;
		if (size < 12 || size > LL_BID_NOTE_MAX || !pread_all(fd, note, (size_t)size, off))
			continue;
		hex = scan_notes(&e, note, (size_t)size, align == 8 ? 8 : 4);
	}
out:
	free(ph);
	free(note);
	return hex;
}
