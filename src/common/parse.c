/* parse.c: strict number parsing for command-line and /proc input. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "common/common.h"

int ll_parse_u64(const char *s, int base16, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = base16 ? 16 : 10;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -EINVAL;
	}
	if (*s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int ll_parse_pid(const char *s, pid_t *out)
{
	uint64_t v = 0;
	int r = ll_parse_u64(s, 0, &v);

	if (r < 0)
		return r;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return -EINVAL;
	if (v == 0 || v > INT_MAX)
		return -ERANGE;
	*out = (pid_t)v;
	return 0;
}
