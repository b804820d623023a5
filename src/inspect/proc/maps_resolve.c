/* maps_resolve.c: runtime address -> module, file offset, ELF address, load
 * bias, build-id.
 *
 * The module's ELF file is opened through /proc/PID/map_files/START-END (the
 * very inode that is mapped, so a deleted or replaced file still resolves),
 * else by its path inside the process's root (openat2 RESOLVE_IN_ROOT), and
 * then only if device and inode still match the mapping. libelf reads the
 * PT_LOAD headers and the build-id note once per module; the result is
 * cached in the map. [vdso] is read from /proc/PID/mem.
 *
 * The arithmetic: the loader maps a module's first PT_LOAD at
 * bias + page_down(p_vaddr) from file offset page_down(p_offset), every
 * other segment at the same bias. So the bias comes from the module's
 * mapping whose offset is the first segment's page, found walking back from
 * the address's mapping; elf_addr = addr - bias, checked against the
 * segment holding it (file offset p_offset + (elf_addr - p_vaddr) must be
 * the mapping's). When that check fails the segment is found from the file
 * offset instead. This holds for ET_EXEC (bias 0), PIE, and libraries whose
 * segments have p_offset != p_vaddr. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <elfutils/libdwelf.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "inspect/proc/maps_private.h"

/* Largest [vdso] image read from memory. */
#define VDSO_MAX ((size_t)1 << 20)
/* Most PT_LOAD headers kept for one module. */
#define MAX_LOADS 256

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void elf_init(void)
{
	elf_version(EV_CURRENT);
}

struct ll_maps_private *ll_maps_private_new(int dirfd)
{
	struct ll_maps_private *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dirfd = dirfd;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void ll_maps_private_free(struct ll_maps_private *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nmods; i++) {
		free(p->mods[i].path);
		free(p->mods[i].load);
	}
	free(p->mods);
	if (p->dirfd >= 0)
		close(p->dirfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Program headers and build-id of an open ELF. */
static int read_elf(Elf *elf, struct ll_module_elf *mod)
{
	GElf_Ehdr eh;
	size_t phnum;
	const void *id = NULL;
	ssize_t idlen;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	mod->type = eh.e_type;
	mod->machine = eh.e_machine;
	if (elf_getphdrnum(elf, &phnum) < 0)
		return -ENOEXEC;
	for (size_t i = 0; i < phnum && mod->nload < MAX_LOADS; i++) {
		GElf_Phdr ph;
		struct ll_load_seg *s;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		if (!mod->load) {
			mod->load = calloc(MAX_LOADS, sizeof(*mod->load));
			if (!mod->load)
				return -ENOMEM;
		}
		s = &mod->load[mod->nload++];
		s->offset = ph.p_offset;
		s->vaddr = ph.p_vaddr;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->flags = ph.p_flags;
	}
	if (mod->nload == 0)
		return -ENOEXEC;
	idlen = dwelf_elf_gnu_build_id(elf, &id);
	if (idlen > 0 && (size_t)idlen <= sizeof(mod->build_id)) {
		memcpy(mod->build_id, id, (size_t)idlen);
		mod->build_id_len = (size_t)idlen;
	}
	return 0;
}

/* Open path inside the process's root without leaving it. */
static int open_in_root(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int root, fd;

	if (dirfd < 0)
		return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	root = openat(dirfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(root, path[0] == '/' ? path + 1 : path,
			    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	close(root);
	return fd;
}

/* A descriptor of the file mapped at m: map_files first, else the path,
 * which must still be the same inode. */
static int open_mapped_file(int dirfd, const struct ll_map *m)
{
	char name[64];
	struct stat st;
	int fd = -1;

	if (dirfd >= 0) {
		snprintf(name, sizeof(name), "map_files/%llx-%llx", (unsigned long long)m->start,
			 (unsigned long long)m->end);
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (fd < 0) {
		if (m->path[0] != '/')
			return -ENOENT;
		fd = open_in_root(dirfd, m->path);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0 || st.st_ino != m->inode || major(st.st_dev) != m->dev_major ||
		    minor(st.st_dev) != m->dev_minor) {
			close(fd);
			return -ESTALE; /* the path now names another file */
		}
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}

static int load_file_module(int dirfd, const struct ll_map *m, struct ll_module_elf *mod)
{
	Elf *elf;
	int fd, r;

	fd = open_mapped_file(dirfd, m);
	if (fd < 0)
		return fd;
	/* ELF_C_READ reads what it needs with pread: a file truncated under us
	 * gives an error, never a SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	r = elf ? read_elf(elf, mod) : -ENOEXEC;
	elf_end(elf);
	close(fd);
	return r;
}

static int load_vdso(int dirfd, const struct ll_map *m, struct ll_module_elf *mod)
{
	size_t size = (size_t)(m->end - m->start);
	char *buf = NULL;
	Elf *elf = NULL;
	ssize_t n;
	int fd, r;

	if (dirfd < 0)
		return -ENOEXEC;
	if (size > VDSO_MAX)
		return -EFBIG;
	fd = openat(dirfd, "mem", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	n = pread(fd, buf, size, (off_t)m->start);
	if (n != (ssize_t)size) {
		r = n < 0 ? -errno : -EIO;
		goto out;
	}
	elf = elf_memory(buf, size);
	r = elf ? read_elf(elf, mod) : -ENOEXEC;
out:
	elf_end(elf);
	free(buf);
	close(fd);
	return r;
}

/* The cached ELF facts for the module mapped at m (loading them the first
 * time). Called with the lock held. */
static int get_module(struct ll_maps_private *p, const struct ll_map *m, struct ll_module_elf **out)
{
	struct ll_module_elf *mod;

	for (size_t k = 0; k < p->nmods; k++) {
		size_t i = k == 0 ? p->last : (k <= p->last ? k - 1 : k);

		mod = &p->mods[i];
		if (mod->inode == m->inode && mod->dev_major == m->dev_major &&
		    mod->dev_minor == m->dev_minor && !strcmp(mod->path, m->path)) {
			p->last = i;
			*out = mod;
			return mod->err;
		}
	}
	if (p->nmods == p->capmods) {
		size_t ncap = p->capmods ? p->capmods * 2 : 16;
		struct ll_module_elf *nm = realloc(p->mods, ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		p->mods = nm;
		p->capmods = ncap;
	}
	mod = &p->mods[p->nmods];
	memset(mod, 0, sizeof(*mod));
	mod->path = strdup(m->path);
	if (!mod->path)
		return -ENOMEM;
	mod->dev_major = m->dev_major;
	mod->dev_minor = m->dev_minor;
	mod->inode = m->inode;
	if (!strcmp(m->path, "[vdso]"))
		mod->err = load_vdso(p->dirfd, m, mod);
	else
		mod->err = load_file_module(p->dirfd, m, mod);
	if (mod->err == -ENOMEM) { /* not worth caching */
		free(mod->path);
		free(mod->load);
		return -ENOMEM;
	}
	p->last = p->nmods++;
	*out = mod;
	return mod->err;
}

static bool same_file(const struct ll_map *a, const struct ll_map *b)
{
	return a->path && b->path && a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && !strcmp(a->path, b->path);
}

/* The load bias from the module's mapping of its first segment, searching
 * back from mm. */
static int find_bias(const struct ll_maps *maps, const struct ll_map *mm,
		     const struct ll_module_elf *mod, uint64_t *bias)
{
	const struct ll_load_seg *first = &mod->load[0];
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const struct ll_map *base = NULL;
	uint64_t want, last_offset = UINT64_MAX;
	unsigned foreign = 0;

	for (size_t i = 0; i < mod->nload; i++)
		if (mod->load[i].vaddr < first->vaddr)
			first = &mod->load[i];
	want = first->offset & ~(page - 1);
	/* A module's mappings lie together; a few foreign ones (a .bss, a
	 * hole filled by another mapping) are stepped over.
	 * Several mappings may map the first page (segments sharing a file
	 * page, e.g. -z noseparate-code): the lowest one is the base.
	 * File offsets only fall going down through one loaded instance: a
	 * rise means another instance of the same file (dlmopen), where the
	 * walk stops. */
	for (const struct ll_map *m = mm; foreign <= 8; m--) {
		if (same_file(m, mm)) {
			if (m->offset > last_offset)
				break;
			last_offset = m->offset;
			if (m->offset == want)
				base = m;
			foreign = 0;
		} else {
			foreign++;
		}
		if (m == maps->v)
			break;
	}
	if (!base)
		return -ENOENT;
	*bias = base->start - (first->vaddr - (first->offset - want));
	return 0;
}

/* The segment holding file offset off, preferring one whose exec bit
 * matches the mapping's. */
static const struct ll_load_seg *seg_by_offset(const struct ll_module_elf *mod, uint64_t off,
					       unsigned perms)
{
	const struct ll_load_seg *any = NULL;

	for (size_t i = 0; i < mod->nload; i++) {
		const struct ll_load_seg *s = &mod->load[i];

		if (off < s->offset || off - s->offset >= s->filesz)
			continue;
		if (!!(s->flags & PF_X) == !!(perms & LL_PERM_EXEC))
			return s;
		if (!any)
			any = s;
	}
	return any;
}

static const struct ll_load_seg *seg_by_vaddr(const struct ll_module_elf *mod, uint64_t va)
{
	for (size_t i = 0; i < mod->nload; i++) {
		const struct ll_load_seg *s = &mod->load[i];

		if (va >= s->vaddr && va - s->vaddr < s->memsz)
			return s;
	}
	return NULL;
}

int ll_maps_resolve(const struct ll_maps *maps, uint64_t addr, struct ll_addr_info *out)
{
	const struct ll_map *m, *mm;
	struct ll_module_elf *mod = NULL;
	const struct ll_load_seg *seg;
	uint64_t bias = 0;
	bool have_bias;
	int r;

	if (!maps || !out || !maps->priv)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	m = ll_maps_find(maps, addr);
	if (!m)
		return -ENOENT;
	out->map = m;
	if (m->kind == LL_MAP_VDSO && m->path && !strcmp(m->path, "[vdso]"))
		mm = m;
	else if (!(mm = ll_maps_module_map(maps, m)) || m->kind == LL_MAP_GUARD)
		return -ENOEXEC;
	pthread_once(&elf_once, elf_init);
	/* Everything read from the cache is read under the lock: a later
	 * lookup may realloc the array. */
	pthread_mutex_lock(&maps->priv->lock);
	r = get_module(maps->priv, mm, &mod);
	if (r == 0) {
		out->path = mm->path;
		out->elf_type = mod->type;
		out->elf_machine = mod->machine;
		memcpy(out->build_id, mod->build_id, mod->build_id_len);
		out->build_id_len = mod->build_id_len;
		have_bias = find_bias(maps, mm, mod, &bias) == 0;
		if (m != mm) { /* .bss: only the bias tells */
			if (!have_bias) {
				r = -ENOEXEC;
			} else {
				out->elf_addr = addr - bias;
				out->load_bias = bias;
			}
			goto unlock;
		}
		out->in_file = true;
		out->file_offset = addr - m->start + m->offset;
		if (have_bias) {
			uint64_t va = addr - bias;

			seg = seg_by_vaddr(mod, va);
			if (seg && va - seg->vaddr >= seg->filesz) {
				/* the .bss part of the data segment's last page */
				out->in_file = false;
				out->file_offset = 0;
			}
			if (seg && (!out->in_file ||
				    seg->offset + (va - seg->vaddr) == out->file_offset)) {
				out->elf_addr = va;
				out->load_bias = bias;
				goto unlock;
			}
		}
		seg = seg_by_offset(mod, out->file_offset, m->perms);
		if (!seg) {
			r = -ENOEXEC;
			goto unlock;
		}
		out->elf_addr = seg->vaddr + (out->file_offset - seg->offset);
		out->load_bias = addr - out->elf_addr;
	}
unlock:
	pthread_mutex_unlock(&maps->priv->lock);
	return r;
}
