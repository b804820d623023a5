/* snapshot.c: private, sealed copies of plugin files.
 *
 * The host never maps the operator's file: each version is copied into a
 * memfd (MFD_ALLOW_SEALING) that is then sealed against write, shrink and
 * grow, and dlopen'ed through /proc/self/fd/N. The copy is checked against
 * the file's size and times before and after (a writer still at work gives
 * -EAGAIN). Each live version keeps its memfd open: glibc matches dlopen
 * paths by string, so reusing /proc/self/fd/N of a closed, still-loaded
 * version would return that old handle.
 *
 * Also here: why might a snapshot stay mapped after dlclose
 * (DF_1_NODELETE, STB_GNU_UNIQUE symbols, TLS). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "plugin/plugin_private.h"
#include "common/common.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable memfd even under vm.memfd_noexec=1 */
#endif

/* A sealable, executable memfd. Kernels before 6.3 refuse MFD_EXEC with
 * EINVAL: every memfd is executable there. */
static int exec_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd < 0 ? -errno : fd;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Copy src to dst until EOF, at most max + 1 bytes. */
static int copy_all(int src, int dst, size_t max, size_t *copied)
{
	uint64_t total = 0;
	int r;

	for (;;) {
		ssize_t n = sendfile(dst, src, NULL, max + 1 - (size_t)total);

		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			break; /* fall back to read/write */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			*copied = (size_t)total;
			return 0;
		}
		total += (uint64_t)n;
		if (total > max)
			return -EFBIG;
	}
	r = ll_copy_read_write(src, dst, max, &total);
	if (r < 0)
		return r;
	*copied = (size_t)total;
	return 0;
}

int ll_snapshot_take(const char *path, size_t max, struct ll_snapshot *out, char *why, size_t why_size)
{
	struct stat before, after, mst;
	const char *base = strrchr(path, '/');
	char name[64];
	size_t copied = 0;
	void *map = MAP_FAILED;
	int src = -1, mfd = -1, r;

	out->fd = -1;
	why[0] = '\0';
	src = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block us */
	if (src < 0) {
		r = -errno;
		snprintf(why, why_size, "cannot open: %s", strerror(-r));
		goto out;
	}
	if (fstat(src, &before) < 0) {
		r = -errno;
		snprintf(why, why_size, "cannot stat: %s", strerror(-r));
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		r = -EINVAL;
		snprintf(why, why_size, "not a regular file");
		goto out;
	}
	if ((uint64_t)before.st_size > max) {
		r = -EFBIG;
		snprintf(why, why_size, "%lld bytes, over the %zu-byte limit (ll_plugin_opts.max_size)",
			 (long long)before.st_size, max);
		goto out;
	}
	snprintf(name, sizeof(name), "ll-plugin:%s", base ? base + 1 : path);
	mfd = exec_memfd(name);
	if (mfd < 0) {
		r = mfd;
		snprintf(why, why_size, "memfd_create: %s%s", strerror(-r),
			 r == -EACCES ? " (the sysctl vm.memfd_noexec=2 forbids executable memfds: set it to 0 or 1)"
				      : "");
		goto out;
	}
	r = copy_all(src, mfd, max, &copied);
	if (r == -EFBIG) {
		snprintf(why, why_size, "grew over the %zu-byte limit while copied", max);
		goto out;
	}
	if (r < 0) {
		snprintf(why, why_size, "copying into the snapshot: %s", strerror(-r));
		goto out;
	}
	if (fstat(src, &after) < 0) {
		r = -errno;
		snprintf(why, why_size, "cannot stat: %s", strerror(-r));
		goto out;
	}
	if (after.st_size != before.st_size || (off_t)copied != after.st_size ||
	    !same_time(&after.st_mtim, &before.st_mtim) || !same_time(&after.st_ctim, &before.st_ctim)) {
		r = -EAGAIN;
		snprintf(why, why_size, "the file changed while it was copied (being written?)");
		goto out;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		snprintf(why, why_size, "sealing the snapshot: %s", strerror(-r));
		goto out;
	}
	if (fstat(mfd, &mst) < 0) {
		r = -errno;
		goto out;
	}
	if (copied) {
		map = mmap(NULL, copied, PROT_READ, MAP_PRIVATE, mfd, 0);
		if (map == MAP_FAILED) {
			r = -errno;
			snprintf(why, why_size, "mapping the snapshot: %s", strerror(-r));
			goto out;
		}
	}
	r = ll_plugin_check_elf(map == MAP_FAILED ? "" : map, copied, why, why_size);
	if (r < 0)
		goto out;
	out->fd = mfd;
	out->size = copied;
	out->dev = mst.st_dev;
	out->ino = mst.st_ino;
	out->src = after;
	mfd = -1;
out:
	if (map != MAP_FAILED)
		munmap(map, copied);
	if (mfd >= 0)
		close(mfd);
	if (src >= 0)
		close(src);
	return r;
}

void ll_snapshot_release(struct ll_snapshot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int ll_snapshot_same(const struct ll_snapshot *a, const struct ll_snapshot *b)
{
	void *ma, *mb;
	int r;

	if (a->size != b->size)
		return 0;
	if (a->size == 0)
		return 1;
	ma = mmap(NULL, a->size, PROT_READ, MAP_PRIVATE, a->fd, 0);
	if (ma == MAP_FAILED)
		return -errno;
	mb = mmap(NULL, b->size, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (mb == MAP_FAILED) {
		r = -errno;
		munmap(ma, a->size);
		return r;
	}
	r = memcmp(ma, mb, a->size) == 0;
	munmap(ma, a->size);
	munmap(mb, b->size);
	return r;
}

static void append(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf);

	if (used < size)
		snprintf(buf + used, size - used, "%s%s", used ? "; " : "", text);
}

/* Look through the dynamic section and the dynamic symbols of the snapshot
 * (already checked to be a complete ELF) for what pins it in memory. */
void ll_snapshot_explain_nodelete(const struct ll_snapshot *s, char *buf, size_t size)
{
	const unsigned char *b;
	const ElfW(Ehdr) *eh;
	const ElfW(Shdr) *sh;
	bool nodelete = false, unique = false, tls = false;

	buf[0] = '\0';
	if (s->size < sizeof(ElfW(Ehdr)))
		return;
	b = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (b == MAP_FAILED)
		return;
	eh = (const ElfW(Ehdr) *)b;
	sh = (const ElfW(Shdr) *)(b + eh->e_shoff);
	for (unsigned i = 0; eh->e_shnum && i < eh->e_shnum; i++) {
		if (sh[i].sh_offset > s->size || sh[i].sh_size > s->size - sh[i].sh_offset)
			continue;
		if (sh[i].sh_flags & SHF_TLS)
			tls = true;
		if (sh[i].sh_type == SHT_DYNAMIC && sh[i].sh_type != SHT_NOBITS) {
			const ElfW(Dyn) *d = (const ElfW(Dyn) *)(b + sh[i].sh_offset);

			for (size_t k = 0; k < sh[i].sh_size / sizeof(*d) && d[k].d_tag != DT_NULL; k++)
				if (d[k].d_tag == DT_FLAGS_1 && (d[k].d_un.d_val & DF_1_NODELETE))
					nodelete = true;
		}
		if (sh[i].sh_type == SHT_DYNSYM) {
			const ElfW(Sym) *sym = (const ElfW(Sym) *)(b + sh[i].sh_offset);

			for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
				if (ELF64_ST_BIND(sym[k].st_info) == STB_GNU_UNIQUE && sym[k].st_shndx != SHN_UNDEF)
					unique = true;
		}
	}
	munmap((void *)b, s->size);
	if (nodelete)
		append(buf, size, "it is marked nodelete (-Wl,-z,nodelete or RTLD_NODELETE)");
	if (unique)
		append(buf, size,
		       "it defines STB_GNU_UNIQUE symbols (C++ inline/template statics; build with -fno-gnu-unique)");
	if (tls)
		append(buf, size, "it has thread-local storage (a thread_local with a destructor pins it until "
				  "that thread exits)");
	if (!buf[0])
		append(buf, size, "something still references it (another dlopen of it, or a thread still running "
				  "its code)");
}
