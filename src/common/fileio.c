/* fileio.c: read whole files and write whole buffers, errno-safe. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

int ll_read_prefix_fd(int fd, size_t max, char **out, size_t *len, bool *truncated)
{
	size_t cap = max < 4096 ? max : 4096, used = 0;
	char *buf = NULL, probe;
	int r = 0;

	*out = NULL;
	if (len)
		*len = 0;
	if (truncated)
		*truncated = false;
	buf = malloc(cap + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (used == cap) {
			char *nb;

			if (cap >= max)
				break;
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used == max && truncated && read(fd, &probe, 1) == 1)
		*truncated = true;
	buf[used] = '\0';
	*out = buf;
	if (len)
		*len = used;
	buf = NULL;
out:
	free(buf);
	return r;
}

int ll_read_prefix_at(int dirfd, const char *path, int extra_oflags, size_t max,
		      char **out, size_t *len, bool *truncated)
{
	int fd, r;

	*out = NULL;
	if (len)
		*len = 0;
	if (truncated)
		*truncated = false;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | extra_oflags);
	if (fd < 0)
		return -errno;
	r = ll_read_prefix_fd(fd, max, out, len, truncated);
	close(fd);
	return r;
}

int ll_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len)
{
	bool more = false;
	int r = ll_read_prefix_at(dirfd, path, 0, max, out, len, &more);

	if (r == 0 && more) {
		free(*out);
		*out = NULL;
		return -EFBIG;
	}
	return r;
}

int ll_read_file(const char *path, size_t max, char **out, size_t *len)
{
	return ll_read_file_at(AT_FDCWD, path, max, out, len);
}

int ll_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ll_copy_read_write(int src, int dst, uint64_t max, uint64_t *total)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = ll_write_all(dst, buf, (size_t)n);
		if (r < 0)
			return r;
		*total += (uint64_t)n;
		if (*total > max)
			return -EFBIG;
	}
}

DIR *ll_opendir_at(int dirfd, const char *path, int extra_oflags)
{
	int fd, e;
	DIR *d;

	if (path && *path)
		fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY | extra_oflags);
	else
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3); /* fdopendir() takes it; dirfd stays ours */
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (!path || !*path)
		rewinddir(d); /* the duplicate shares dirfd's offset: from the start */
	return d;
}
