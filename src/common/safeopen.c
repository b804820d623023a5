/* safeopen.c: open a file a hostile user named, only if it is a regular file.
 *
 * A path from a core, a crash record or a link_map may name a FIFO (open(2)
 * hangs), a device (opening /dev/watchdog arms it) or a symlink. The path is
 * lstat'ed, opened with O_PATH|O_NOFOLLOW (which opens nothing) and fstat'ed,
 * then reopened through /proc/self/fd with O_RDONLY|O_NONBLOCK|O_NOCTTY (the
 * very inode checked, not the path again, whose directories may have been
 * swapped for a symlink to /dev meanwhile) and fstat'ed again: the same
 * st_dev/st_ino, a regular file, at most max bytes. Used by the core analysis
 * (core_safefile.c) and `lifeline cores gdb`'s private sysroot. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

static int reopen_path_fd(int pfd, const char *path)
{
	char proc[64];
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) /* no /proc: the path, checked again below */
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int ll_safe_open_regular(const char *path, uint64_t max, struct stat *out)
{
	struct stat pre, st;
	int pfd, fd;

	if (!path || !*path)
		return -EINVAL;
	if (lstat(path, &pre) < 0)
		return -errno;
	if (!S_ISREG(pre.st_mode))
		return -EINVAL; /* a FIFO, a device, a symlink, a directory: never opened */
	pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != pre.st_dev ||
	    st.st_ino != pre.st_ino) {
		close(pfd);
		return -EAGAIN; /* replaced between lstat and open */
	}
	fd = reopen_path_fd(pfd, path);
	close(pfd);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != pre.st_dev ||
	    st.st_ino != pre.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	if (out)
		*out = st;
	return fd;
}
