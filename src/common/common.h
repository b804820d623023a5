/* common.h: small private helpers shared by every module (not installed).
 * All functions return 0 or a count on success and -errno on failure. */
#ifndef LL_COMMON_H
#define LL_COMMON_H

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

/* ll_read_prefix_at() on an open descriptor, from its current offset. */
int ll_read_prefix_fd(int fd, size_t max, char **out, size_t *len, bool *truncated);

/* ll_read_file_at(AT_FDCWD, ...). */
int ll_read_file(const char *path, size_t max, char **out, size_t *len);

/* Write the whole buffer, retrying on EINTR and short writes.
 * Async-signal-safe. */
int ll_write_all(int fd, const void *buf, size_t len);

/* Copy src to dst with read(2)/write(2) from the current offsets until end
 * of file, adding the bytes copied to *total; -EFBIG as soon as *total
 * exceeds max (pass UINT64_MAX for no bound). The fallback of callers whose
 * kernel copy (copy_file_range, sendfile) is refused. */
int ll_copy_read_write(int src, int dst, uint64_t max, uint64_t *total);

/* Parse a decimal pid (> 0, no trailing garbage). */
int ll_parse_pid(const char *s, pid_t *out);

/* Parse an unsigned number: decimal, or hex with a 0x prefix, or bare hex
 * when base16 is non-zero. No trailing garbage. */
int ll_parse_u64(const char *s, int base16, uint64_t *out);

#endif
