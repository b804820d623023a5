/* common.h: small private helpers shared by every module (not installed).
 * All functions return 0 or a count on success and -errno on failure. */
#ifndef LL_COMMON_H
#define LL_COMMON_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Read a whole file (for /proc files whose size is not known in advance) into
 * a malloc'ed, NUL-terminated buffer. At most max bytes are read (-EFBIG past
 * that). dirfd may be AT_FDCWD. */
int ll_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len);

/* Read at most max bytes of <dirfd>/path (opened with O_RDONLY|O_CLOEXEC|
 * O_NOCTTY|extra_oflags, e.g. O_NOFOLLOW) into a malloc'ed, NUL-terminated
 * buffer: a prefix, for files a hostile process can make arbitrarily large.
 * *truncated (may be NULL) is set when there was more. */
int ll_read_prefix_at(int dirfd, const char *path, int extra_oflags, size_t max,
		      char **out, size_t *len, bool *truncated);

/* The same from an open descriptor, from its current offset (not closed). */
int ll_read_prefix_fd(int fd, size_t max, char **out, size_t *len, bool *truncated);

/* ll_read_file_at(AT_FDCWD, ...). */
int ll_read_file(const char *path, size_t max, char **out, size_t *len);

/* A directory stream on <dirfd>/path (opened with O_RDONLY|O_DIRECTORY|
 * O_CLOEXEC|extra_oflags, e.g. O_NOFOLLOW), or, when path is NULL or "", on
 * dirfd itself from its first entry: a close-on-exec duplicate that
 * closedir() closes while dirfd stays the caller's. NULL with errno set on
 * failure. The one way the modules list a directory they hold open. */
DIR *ll_opendir_at(int dirfd, const char *path, int extra_oflags);

/* Format a reason into why (when why is not NULL and why_size > 0) and
 * return err: the one helper for functions that say why they failed. */
int ll_fail_why(int err, char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Write the whole buffer, retrying on EINTR and short writes.
 * Async-signal-safe. */
int ll_write_all(int fd, const void *buf, size_t len);

/* Copy src to dst with read(2)/write(2) from the current offsets until end
 * of file, adding the bytes copied to *total; -EFBIG as soon as *total
 * exceeds max (pass UINT64_MAX for no bound). The fallback of callers whose
 * kernel copy (copy_file_range, sendfile) is refused. */
int ll_copy_read_write(int src, int dst, uint64_t max, uint64_t *total);

struct stat;

/* Open path for reading only if it is a regular file (never a FIFO, device,
 * symlink or directory; checked on the inode actually opened) of at most max
 * bytes (-EFBIG). Returns the fd (O_CLOEXEC) and fills *st (may be NULL), or
 * -errno (-EINVAL: not a regular file; -EAGAIN: replaced while opened). */
int ll_safe_open_regular(const char *path, uint64_t max, struct stat *st);

/* Parse a decimal pid (> 0, no trailing garbage). */
int ll_parse_pid(const char *s, pid_t *out);

/* Parse an unsigned number: decimal, or hex with a 0x prefix, or bare hex
 * when base16 is non-zero. No trailing garbage. */
int ll_parse_u64(const char *s, int base16, uint64_t *out);

/* What ll_elf_check_complete() expects. */
enum ll_elf_kind {
	LL_ELF_SHARED_OBJECT, /* ET_DYN with a dynamic section (a plugin) */
	LL_ELF_EXECUTABLE,    /* ET_EXEC or ET_DYN (PIE), static or dynamic */
};

/* Is buf (len bytes, a whole file) a complete ELF object of this machine
 * (class, byte order, machine of this very program), of the given kind,
 * whose program headers, section headers and PT_LOAD segments all lie
 * inside len? -EAGAIN when it is cut short (a file being written: retry when
 * the writer is done), -ENOEXEC when it will never load; why (may be NULL)
 * receives the reason. */
int ll_elf_check_complete(const void *buf, size_t len, enum ll_elf_kind kind, char *why, size_t why_size);

#endif
