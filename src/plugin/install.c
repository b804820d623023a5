/* install.c: replace a file atomically, never in place.
 *
 * `cp new.so plugin.so` truncates and rewrites the inode running processes
 * have mapped. Here the bytes go to a temp file created with O_EXCL in the
 * destination's own directory (so the rename cannot cross filesystems), are
 * fsync'ed, get the old file's mode and owner, and the temp file is renamed
 * over the destination; then the directory is fsync'ed so the rename itself
 * survives a crash. Processes that mapped the old file keep its inode,
 * intact. With backup, the old inode is also kept as DST~ (a hard link made
 * before the rename). The destination directory is opened once and every
 * later step is relative to it (openat/renameat), never following a
 * symlink at the destination name. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lifeline/plugin.h"
#include "common/common.h"

static int copy_fd(int src, int dst, uint64_t *bytes)
{
	uint64_t total = 0;
	int r;

	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)1 << 30, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			break; /* fall back to read/write from where we are */
		if (n < 0)
			return -errno;
		if (n == 0 && total == 0)
			break; /* maybe a file that lies about its size (procfs): read it */
		if (n == 0) {
			*bytes = total;
			return 0;
		}
		total += (uint64_t)n;
	}
	r = ll_copy_read_write(src, dst, UINT64_MAX, &total);
	if (r < 0)
		return r;
	*bytes = total;
	return 0;
}

/* Make a fresh "<prefix>.<random>.tmp" name next to base and create it. */
static int create_temp(int dfd, const char *base, char *name, size_t size, mode_t mode)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t rnd = 0;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint64_t)getpid() * 2654435761u + (uint64_t)attempt;
		snprintf(name, size, ".%.200s.%016llx.tmp", base, (unsigned long long)rnd);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int ll_install(const char *src, const char *dst, const struct ll_install_opts *opts,
	       struct ll_install_result *res)
{
	struct ll_install_opts none = { 0 };
	struct stat sst, dst_st;
	char *dir = NULL, tmp[NAME_MAX + 1] = "", bak[NAME_MAX + 1], baktmp[NAME_MAX + 1] = "";
	const char *base, *slash;
	int sfd = -1, dfd = -1, tfd = -1, r;

	memset(res, 0, sizeof(*res));
	if (!opts)
		opts = &none;
	res->step = "open source";
	sfd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block */
	if (sfd < 0 || fstat(sfd, &sst) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(sst.st_mode)) {
		r = S_ISDIR(sst.st_mode) ? -EISDIR : -EINVAL;
		res->step = "source is not a regular file";
		res->refused = true;
		goto out;
	}
	res->step = "destination name";
	slash = strrchr(dst, '/');
	base = slash ? slash + 1 : dst;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		r = -EISDIR;
		res->step = "destination names a directory";
		res->refused = true;
		goto out;
	}
	if (strlen(base) + 1 > NAME_MAX) {
		r = -ENAMETOOLONG;
		goto out;
	}
	dir = slash ? strndup(dst, slash == dst ? 1 : (size_t)(slash - dst)) : strdup(".");
	if (!dir) {
		r = -ENOMEM;
		goto out;
	}
	res->step = "open destination directory";
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		goto out;
	}
	res->step = "stat destination";
	if (fstatat(dfd, base, &dst_st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(dst_st.st_mode)) {
			r = -ELOOP;
			res->step = "destination is a symbolic link";
			res->refused = true;
			goto out;
		}
		if (S_ISDIR(dst_st.st_mode)) {
			r = -EISDIR;
			res->step = "destination is a directory";
			res->refused = true;
			goto out;
		}
		if (!S_ISREG(dst_st.st_mode)) {
			r = -EINVAL;
			res->step = "destination is not a regular file";
			res->refused = true;
			goto out;
		}
		if (dst_st.st_dev == sst.st_dev && dst_st.st_ino == sst.st_ino) {
			r = -EINVAL;
			res->step = "source and destination are the same file";
			res->refused = true;
			goto out;
		}
		res->replaced = true;
		res->old_dev = dst_st.st_dev;
		res->old_ino = dst_st.st_ino;
		res->mode = dst_st.st_mode & 07777;
		res->uid = dst_st.st_uid;
		res->gid = dst_st.st_gid;
	} else if (errno == ENOENT) {
		res->mode = sst.st_mode & 07777;
		res->uid = geteuid();
		res->gid = getegid();
	} else {
		r = -errno;
		goto out;
	}
	res->step = "create temp file";
	tfd = create_temp(dfd, base, tmp, sizeof(tmp), 0600);
	if (tfd < 0) {
		r = tfd;
		tmp[0] = '\0';
		goto out;
	}
	res->step = "copy";
	r = copy_fd(sfd, tfd, &res->bytes);
	if (r < 0)
		goto out;
	res->step = "set owner";
	res->owner_kept = true;
	if (res->replaced && fchown(tfd, res->uid, res->gid) < 0) {
		if (errno != EPERM) {
			r = -errno;
			goto out;
		}
		res->owner_kept = false;
		res->uid = geteuid();
		res->gid = getegid();
	}
	res->step = "set mode";
	if (fchmod(tfd, res->mode) < 0) {
		r = -errno;
		goto out;
	}
	res->step = "fsync";
	if (fsync(tfd) < 0) {
		r = -errno;
		goto out;
	}
	if (opts->backup && res->replaced) {
		res->step = "backup (hard link)";
		snprintf(bak, sizeof(bak), "%s~", base);
		snprintf(baktmp, sizeof(baktmp), "%s.bak", tmp);
		if (linkat(dfd, base, dfd, baktmp, 0) < 0 || renameat(dfd, baktmp, dfd, bak) < 0) {
			r = -errno;
			goto out;
		}
		baktmp[0] = '\0';
		snprintf(res->backup, sizeof(res->backup), "%s~", dst);
	}
	res->step = "rename over destination";
	if (renameat(dfd, tmp, dfd, base) < 0) {
		r = -errno;
		goto out;
	}
	tmp[0] = '\0';
	res->step = "fsync directory";
	if (fsync(dfd) < 0) {
		r = -errno;
		goto out;
	}
	res->step = NULL;
	r = 0;
out:
	if (tmp[0] && !opts->keep_temp_on_error)
		unlinkat(dfd, tmp, 0);
	if (baktmp[0])
		unlinkat(dfd, baktmp, 0);
	if (tfd >= 0)
		close(tfd);
	if (dfd >= 0)
		close(dfd);
	if (sfd >= 0)
		close(sfd);
	free(dir);
	return r;
}
