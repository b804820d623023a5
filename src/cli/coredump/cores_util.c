/* cores_util.c: time arguments and temporary decompression for `lifeline
 * cores` (see cores_cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli/coredump/cores_cli.h"

int cores_parse_time(const char *s, int64_t *out)
{
	static const char *const fmts[] = {
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
	};
	char *end;
	long long n;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (!errno && end != s && !*end && s[0] != '-') {
		*out = n;
		return 0;
	}
	if (!errno && end != s && (s[0] == '-' || strstr(end, " ago"))) {
		long long mult = 0, v = n < 0 ? -n : n;

		while (*end == ' ')
			end++;
		if (!strncmp(end, "min", 3))
			mult = 60, end += 3;
		else if (*end == 's')
			mult = 1, end++;
		else if (*end == 'm')
			mult = 60, end++;
		else if (*end == 'h')
			mult = 3600, end++;
		else if (*end == 'd')
			mult = 86400, end++;
		if (!strcmp(end, " ago") || (!*end && s[0] == '-')) {
			if (mult) {
				*out = (int64_t)time(NULL) - v * mult;
				return 0;
			}
		}
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm;
		const char *rest;

		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, fmts[i], &tm);
		if (rest && !*rest) {
			tm.tm_isdst = -1;
			*out = (int64_t)mktime(&tm);
			return 0;
		}
	}
	return -EINVAL;
}

int cores_decompress_tmp(int storefd, const struct ll_store_entry *e, bool keep_on_exec,
			 uint64_t *size, bool *truncated)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	int flags = keep_on_exec ? 0 : O_CLOEXEC;
	int fd = -1, r;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; i++)
		if (dirs[i] && *dirs[i])
			fd = open(dirs[i], O_TMPFILE | O_RDWR | O_EXCL | flags, 0600); /* never linkable */
	if (fd < 0)
		fd = memfd_create("lifeline-core", keep_on_exec ? 0 : MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = ll_store_decompress(storefd, e, fd, size, truncated);
	if (r < 0) {
		close(fd);
		return r;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}
