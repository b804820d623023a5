/* core_safefile.c: files named by a core, opened without harm and read into
 * memory before any parser sees them.
 *
 * A path from a core (an NT_FILE entry, a name read from the process memory,
 * the caller's exe hint taken from a crash record, a debug file found by the
 * core's build-id) may name a FIFO (open(2) hangs), a device (opening
 * /dev/watchdog arms it) or a file its hostile owner truncates while it is
 * read (an mmap of it then kills the analyser with SIGBUS). So a file is
 * lstat'ed first and opened only when it is a regular file: first with
 * O_PATH|O_NOFOLLOW (which opens nothing) and fstat'ed, then reopened
 * through /proc/self/fd with O_RDONLY|O_NONBLOCK|O_NOCTTY, and fstat'ed
 * again: the same file (st_dev, st_ino), at most CORE_MAX_FILE_BYTES (a
 * directory swapped for a symlink to /dev meanwhile cannot turn the open
 * into one of a device): ll_safe_open_regular() of src/common, which
 * `lifeline cores gdb` uses too. Then it is copied with
 * pread into a sealed memfd. libelf, libdwfl and the shared symbolizer only
 * ever get that memfd: nobody can shrink it (F_SEAL_SHRINK), so mapping it
 * cannot fault, and the bytes whose build-id was checked are the bytes used.
 * The copies of one analysis are kept (c->copies) so a module is read once,
 * and they add up to CORE_MAX_COPY_BYTES at most. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "core_internal.h"

#define COPY_CHUNK (1u << 20)

int core_safe_open(const char *path, struct stat *out)
{
	return ll_safe_open_regular(path, CORE_MAX_FILE_BYTES, out);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A sealed memfd holding what fd held (at most size bytes: a file that
 * shrinks meanwhile gives a shorter copy, one that grows is cut). */
static int copy_to_memfd(int fd, uint64_t size)
{
	char *buf = malloc(COPY_CHUNK);
	uint64_t off = 0;
	int mfd = -1, r = 0;

	if (!buf)
		return -ENOMEM;
	mfd = memfd_create("lifeline-core-file", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		r = -errno;
		goto out;
	}
	while (off < size && r == 0) {
		size_t want = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break; /* truncated meanwhile: the copy ends here */
		r = write_all(mfd, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (r == 0 && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		r = -errno;
out:
	free(buf);
	if (r < 0 && mfd >= 0)
		close(mfd);
	return r < 0 ? r : mfd;
}

int core_safe_copy(struct core_ctx *c, const char *path)
{
	struct core_copy *v;
	struct stat st;
	int fd, mfd, dup;

	for (size_t i = 0; i < c->ncopies; i++)
		if (strcmp(c->copies[i].path, path) == 0)
			return c->copies[i].fd < 0 ? c->copies[i].fd
						   : fcntl(c->copies[i].fd, F_DUPFD_CLOEXEC, 3);
	fd = core_safe_open(path, &st);
	if (fd < 0) {
		mfd = fd;
	} else if ((uint64_t)st.st_size > CORE_MAX_COPY_BYTES - c->copied) {
		mfd = -EFBIG; /* the analysis has read enough files already */
		close(fd);
		if (!c->copy_budget_said) {
			c->copy_budget_said = true;
			core_strv_pushf(&c->a->notes, "the files named by the core add up to more than "
					"%llu MiB: %s and later ones were not read",
					CORE_MAX_COPY_BYTES >> 20, path);
		}
	} else {
		mfd = copy_to_memfd(fd, (uint64_t)st.st_size);
		close(fd);
		if (mfd >= 0)
			c->copied += (uint64_t)st.st_size;
	}
	/* remembered, failures too: each file is looked at once */
	v = realloc(c->copies, (c->ncopies + 1) * sizeof(*v));
	if (!v) {
		if (mfd >= 0)
			close(mfd);
		return -ENOMEM;
	}
	c->copies = v;
	v[c->ncopies].path = core_strdup(path);
	if (!v[c->ncopies].path) {
		if (mfd >= 0)
			close(mfd);
		return -ENOMEM;
	}
	v[c->ncopies++].fd = mfd;
	if (mfd < 0)
		return mfd;
	dup = fcntl(mfd, F_DUPFD_CLOEXEC, 3);
	return dup < 0 ? -errno : dup;
}

int core_safe_copy_known(const struct core_ctx *c, const char *path)
{
	for (size_t i = 0; i < c->ncopies; i++)
		if (strcmp(c->copies[i].path, path) == 0)
			return c->copies[i].fd;
	return -ENOENT;
}

void core_safe_copies_free(struct core_ctx *c)
{
	for (size_t i = 0; i < c->ncopies; i++) {
		if (c->copies[i].fd >= 0)
			close(c->copies[i].fd);
		free(c->copies[i].path);
	}
	free(c->copies);
	c->copies = NULL;
	c->ncopies = 0;
	for (size_t i = 0; i < c->nimages; i++)
		free(c->images[i]);
	free(c->images);
	c->images = NULL;
	c->nimages = 0;
}
