/* config.c: coredump.conf, parsed with inih.
 *
 * Same shape as systemd's coredump.conf: a [Coredump] section with Storage=,
 * CompressionLevel= (Compress= is accepted too), ProcessSizeMax=,
 * ExternalSizeMax=, MaxUse=, KeepFree=, RateLimitBurst=, RateLimitUserBurst=,
 * RateLimitIntervalSec=, IdleTimeoutSec=, TimeoutSec= and MaxAgeSec=. Sizes take K/M/G/T suffixes (powers
 * of 1024) or "infinity"; times take s/m/h/d. An unknown key or a bad value
 * is an error naming the line, so a typo never silently disables a limit. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coredump/internal.h"

void ll_coredump_config_init(struct ll_coredump_config *c)
{
	memset(c, 0, sizeof(*c));
	c->storage = true;
	c->compression_level = 1;
	c->process_size_max = 32ull << 30;
	c->external_size_max = 32ull << 30;
	c->max_use = 4ull << 30;
	c->keep_free = 1ull << 30;
	c->rate_limit_burst = 10;
	c->rate_limit_user_burst = 30;
	c->idle_timeout = 60;
	c->timeout = 30 * 60;
	c->rate_limit_interval = 60;
	c->max_age = 0;
}

static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	if (!strcasecmp(v, "infinity")) {
		*out = UINT64_MAX;
		return 0;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	case 'B': case 'b': case '\0': break;
	default: return -EINVAL;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && n > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)n << shift;
	return 0;
}

static int parse_secs(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	uint64_t mult = 1;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-')
		return -EINVAL;
	if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	*out = n * mult;
	return 0;
}

struct load_ctx {
	struct ll_coredump_config *c;
	char *err;
	size_t errlen;
	int line;
	bool failed;
};

static int fail(struct load_ctx *x, const char *name, const char *value, const char *why)
{
	if (!x->failed)
		snprintf(x->err, x->errlen, "%s=%s: %s", name, value, why);
	x->failed = true;
	return 0;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	struct ll_coredump_config *c = x->c;
	uint64_t u;

	if (strcasecmp(section, "Coredump"))
		return fail(x, name, value, "only a [Coredump] section is known");
	if (!strcasecmp(name, "Storage")) {
		if (!strcasecmp(value, "external"))
			c->storage = true;
		else if (!strcasecmp(value, "none"))
			c->storage = false;
		else
			return fail(x, name, value, "expected 'external' or 'none'");
	} else if (!strcasecmp(name, "CompressionLevel") || !strcasecmp(name, "Compress")) {
		if (!strcasecmp(value, "yes") || !strcasecmp(value, "true")) {
			c->compression_level = 1;
		} else if (parse_secs(value, &u) || u < 1 || u > 19) {
			return fail(x, name, value, "expected a zstd level 1..19");
		} else {
			c->compression_level = (int)u;
		}
	} else if (!strcasecmp(name, "ProcessSizeMax")) {
		if (parse_size(value, &c->process_size_max))
			return fail(x, name, value, "expected a size such as 2G");
	} else if (!strcasecmp(name, "ExternalSizeMax")) {
		if (parse_size(value, &c->external_size_max))
			return fail(x, name, value, "expected a size such as 2G");
	} else if (!strcasecmp(name, "MaxUse")) {
		if (parse_size(value, &c->max_use))
			return fail(x, name, value, "expected a size such as 4G");
	} else if (!strcasecmp(name, "KeepFree")) {
		if (parse_size(value, &c->keep_free))
			return fail(x, name, value, "expected a size such as 1G");
	} else if (!strcasecmp(name, "RateLimitBurst")) {
		if (parse_secs(value, &u) || u > 1000000)
			return fail(x, name, value, "expected a count (0 disables the limit)");
		c->rate_limit_burst = (unsigned)u;
	} else if (!strcasecmp(name, "RateLimitUserBurst")) {
		if (parse_secs(value, &u) || u > 1000000)
			return fail(x, name, value, "expected a count (0 disables the limit)");
		c->rate_limit_user_burst = (unsigned)u;
	} else if (!strcasecmp(name, "IdleTimeoutSec")) {
		if (parse_secs(value, &u) || u < 1 || u > 86400)
			return fail(x, name, value, "expected a time such as 60s (1s..1d)");
		c->idle_timeout = (unsigned)u;
	} else if (!strcasecmp(name, "TimeoutSec")) {
		if (parse_secs(value, &u) || u > 86400)
			return fail(x, name, value, "expected a time such as 30min (0: no limit)");
		c->timeout = (unsigned)u;
	} else if (!strcasecmp(name, "RateLimitIntervalSec")) {
		if (parse_secs(value, &u) || u > 86400 * 365)
			return fail(x, name, value, "expected a time such as 60s or 5min");
		c->rate_limit_interval = (unsigned)u;
	} else if (!strcasecmp(name, "MaxAgeSec")) {
		if (parse_secs(value, &c->max_age))
			return fail(x, name, value, "expected a time such as 30d (0: never)");
	} else {
		return fail(x, name, value, "unknown key (see docs/coredump.conf.example)");
	}
	return 1;
}

#define LL_COREDUMP_CONFIG_MAX (1024 * 1024)

int ll_coredump_config_load(struct ll_coredump_config *c, const char *path,
			    char *err, size_t errlen)
{
	struct ll_coredump_config tmp = *c;
	struct load_ctx x = { .c = &tmp, .err = err, .errlen = errlen };
	struct stat st;
	FILE *f;
	int fd, r;

	if (errlen)
		err[0] = '\0';
	/* Non-blocking (a FIFO must not hang the helper the kernel waits for),
	 * a regular file only, and of a bounded size (not /dev/zero). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > LL_COREDUMP_CONFIG_MAX) {
		snprintf(err, errlen, "larger than %d bytes: not a configuration file",
			 LL_COREDUMP_CONFIG_MAX);
		close(fd);
		return -EINVAL;
	}
	f = fdopen(fd, "re");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	r = ini_parse_file(f, on_value, &x);
	fclose(f);
	if (r > 0 || x.failed) {
		if (r > 0 && !x.failed)
			snprintf(err, errlen, "line %d: syntax error", r);
		else if (r > 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "line %d: %s", r, err);
			snprintf(err, errlen, "%s", msg);
		}
		return -EINVAL;
	}
	if (r < 0)
		return -EIO;
	*c = tmp;
	return 0;
}
