/* names.c: store names and untrusted text.
 *
 * A store id is "core.<comm>.<uid>.<boot>.<pid>.<time>" where every part
 * is sanitized to [A-Za-z0-9._-] (anything else becomes '_', a leading '.'
 * too), so %e with '/', '..', newlines or control bytes can never leave the
 * store or hide a file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"

static bool safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

void ll_store_sanitize(const char *in, char *out, size_t max)
{
	size_t n = 0;

	if (max == 0)
		return;
	for (const char *p = in ? in : ""; *p && n + 1 < max; p++) {
		unsigned char c = (unsigned char)*p;

		out[n] = (safe_char(c) && !(n == 0 && c == '.')) ? (char)c : '_';
		n++;
	}
	if (n == 0 && max > 1)
		out[n++] = '_';
	out[n] = '\0';
}

bool ll_cd_name_ok(const char *name)
{
	if (!name[0] || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!safe_char((unsigned char)*p))
			return false;
	return true;
}

void ll_cd_boot_tag(const char *hostname, char *out, size_t size)
{
	char *text = NULL;
	size_t n = 0;

	if (ll_read_file("/proc/sys/kernel/random/boot_id", 64, &text, NULL) == 0) {
		for (char *p = text; *p && n + 1 < size; p++)
			if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
				out[n++] = *p;
		out[n] = '\0';
		free(text);
		if (n >= 16)
			return;
	}
	ll_store_sanitize(hostname && *hostname ? hostname : "localhost", out, size > 64 ? 64 : size);
}

void ll_cd_make_id(const struct ll_crash_args *a, char *out, size_t size)
{
	char comm[48], boot[48];

	/* %e is at most 15 bytes (TASK_COMM_LEN) from the kernel, but a direct
	 * invocation may pass anything: bound it. Dots inside are turned into
	 * '_' so that the id can be split on '.' again. */
	ll_store_sanitize(a->comm, comm, 32);
	for (char *p = comm; *p; p++)
		if (*p == '.')
			*p = '_';
	ll_cd_boot_tag(a->hostname, boot, sizeof(boot));
	snprintf(out, size, "core.%s.%u.%s.%d.%" PRId64, comm, (unsigned)a->uid, boot,
		 (int)a->pid, a->time);
}

int ll_cd_parse_id(const char *name, char *comm, size_t commsz, uid_t *uid, int64_t *time)
{
	const char *p = name, *dot;
	size_t len;
	char *end;
	long long t;
	unsigned long u;

	if (strncmp(p, "core.", 5))
		return -EINVAL;
	p += 5;
	dot = strchr(p, '.');
	if (!dot)
		return -EINVAL;
	len = (size_t)(dot - p);
	if (len + 1 > commsz)
		return -EINVAL;
	memcpy(comm, p, len);
	comm[len] = '\0';
	p = dot + 1;
	errno = 0;
	u = strtoul(p, &end, 10);
	if (errno || end == p || *end != '.' || u > UINT32_MAX)
		return -EINVAL;
	*uid = (uid_t)u;
	/* skip uid, boot, pid */
	for (int i = 0; i < 3; i++) {
		p = strchr(p, '.');
		if (!p)
			return -EINVAL;
		p++;
	}
	errno = 0;
	t = strtoll(p, &end, 10);
	if (errno || end == p || (*end && *end != '.'))
		return -EINVAL;
	*time = t;
	return 0;
}

bool ll_cd_core_name_ok(const char *id, const char *file)
{
	size_t l = strlen(id), fl = strlen(file);
	const char *rest = file + l;

	if (!ll_cd_name_ok(file) || strncmp(file, id, l))
		return false;
	if (!strcmp(rest, ".zst"))
		return true;
	if (strncmp(rest, ".core-", 6) || fl < l + 11 || strcmp(file + fl - 4, ".zst"))
		return false;
	for (const char *p = rest + 6; p < file + fl - 4; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}
