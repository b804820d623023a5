/* install.c: pointing the kernel at the helper, and back.
 *
 * --install writes kernel.core_pattern ("|HELPER coredump [--store DIR]
 * [--config FILE] %P %u %g %s %t %c %h %e %F %d") and kernel.core_pipe_limit
 * (so that /proc/PID stays readable while the helper runs), mirrors both in
 * a sysctl.d drop-in for the next boot, and saves the values it replaced in
 * <store>/.saved-sysctl.json; --uninstall writes them back. The kernel
 * splits the pattern on spaces before expanding it, so the paths must not
 * contain whitespace or '%', and the whole line must fit in 127 bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"

#define SAVED_NAME ".saved-sysctl.json"
#define DROPIN_HEADER "# Written by `lifeline coredump --install`; removed by `lifeline coredump --uninstall`.\n"
#define CORE_PATTERN "/proc/sys/kernel/core_pattern"
#define PIPE_LIMIT "/proc/sys/kernel/core_pipe_limit"

static bool word_ok(const char *s)
{
	return s && *s && !strpbrk(s, " \t\n\r%|");
}

int ll_coredump_pattern(const struct ll_coredump_install_opts *o, char *buf, size_t size)
{
	char line[512];
	int n;

	if (!word_ok(o->helper) || o->helper[0] != '/' ||
	    (o->store && !word_ok(o->store)) || (o->config && !word_ok(o->config)))
		return -EINVAL;
	n = snprintf(line, sizeof(line), "|%s coredump%s%s%s%s %%P %%u %%g %%s %%t %%c %%h %%e %%F %%d",
		     o->helper, o->store ? " --store " : "", o->store ? o->store : "",
		     o->config ? " --config " : "", o->config ? o->config : "");
	if (n < 0 || (size_t)n >= sizeof(line) || n > 127)
		return -ENAMETOOLONG;
	if ((size_t)n >= size)
		return -ENOBUFS;
	memcpy(buf, line, (size_t)n + 1);
	return 0;
}

static int read_sysctl(const char *path, char *buf, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	int r = ll_read_file(path, 4096, &text, &len);

	if (r < 0)
		return r;
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	snprintf(buf, size, "%s", text);
	free(text);
	return 0;
}

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		r = -errno;
	close(fd);
	return r;
}

/* Write the drop-in through a temp file in its directory + rename. */
static int write_dropin(const char *path, const char *pattern, unsigned limit)
{
	char dir[4096], tmp[4200], text[1024];
	const char *slash = strrchr(path, '/');
	int fd, r;

	if (!slash)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
	snprintf(text, sizeof(text), DROPIN_HEADER "kernel.core_pattern = %s\nkernel.core_pipe_limit = %u\n",
		 pattern, limit);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = ll_write_all(fd, text, strlen(text));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int remove_dropin(const char *path)
{
	char *text = NULL;
	int r = ll_read_file(path, 64 * 1024, &text, NULL);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* Only ever remove a file this command wrote. */
	r = strncmp(text, DROPIN_HEADER, strlen(DROPIN_HEADER)) ? -EPERM : 0;
	free(text);
	if (r == 0 && unlink(path) < 0)
		r = -errno;
	return r;
}

static const char *store_of(const struct ll_coredump_install_opts *o)
{
	return o->store ? o->store : LL_STORE_DEFAULT_DIR;
}

static const char *dropin_of(const struct ll_coredump_install_opts *o)
{
	return o->sysctl_d ? o->sysctl_d : LL_COREDUMP_DEFAULT_SYSCTL_D;
}

int ll_coredump_install(const struct ll_coredump_install_opts *o)
{
	char pattern[256], old_pattern[512], old_limit[64], limit[32];
	json_object *saved = NULL;
	unsigned pipe_limit = o->pipe_limit ? o->pipe_limit : 16;
	int storefd = -1, r;

	r = ll_coredump_pattern(o, pattern, sizeof(pattern));
	if (r < 0)
		return r;
	r = ll_store_open(store_of(o), true, &storefd);
	if (r < 0)
		return r;
	r = read_sysctl(CORE_PATTERN, old_pattern, sizeof(old_pattern));
	if (r == 0)
		r = read_sysctl(PIPE_LIMIT, old_limit, sizeof(old_limit));
	if (r < 0)
		goto out;
	/* Keep the values saved by an earlier install while ours is active. */
	if (old_pattern[0] == '|' && strstr(old_pattern, " coredump ") &&
	    ll_cd_load_record(storefd, SAVED_NAME, &saved) == 0) {
		r = 0;
	} else {
		saved = json_object_new_object();
		json_object_object_add(saved, "core_pattern", json_object_new_string(old_pattern));
		json_object_object_add(saved, "core_pipe_limit", json_object_new_string(old_limit));
		json_object_object_add(saved, "sysctl_d", json_object_new_string(dropin_of(o)));
		r = ll_cd_write_json(storefd, SAVED_NAME, saved, false, (uid_t)-1);
		if (r < 0)
			goto out;
	}
	snprintf(limit, sizeof(limit), "%u", pipe_limit);
	r = write_sysctl(PIPE_LIMIT, limit);
	if (r == 0)
		r = write_sysctl(CORE_PATTERN, pattern);
	if (r == 0 && *dropin_of(o))
		r = write_dropin(dropin_of(o), pattern, pipe_limit);
out:
	json_object_put(saved);
	close(storefd);
	return r;
}

int ll_coredump_uninstall(const struct ll_coredump_install_opts *o)
{
	json_object *saved = NULL, *v;
	int storefd = -1, r;

	r = ll_store_open(store_of(o), false, &storefd);
	if (r < 0)
		return r;
	r = ll_cd_load_record(storefd, SAVED_NAME, &saved);
	if (r < 0)
		goto out;
	if (json_object_object_get_ex(saved, "core_pattern", &v))
		r = write_sysctl(CORE_PATTERN, json_object_get_string(v));
	if (r == 0 && json_object_object_get_ex(saved, "core_pipe_limit", &v))
		r = write_sysctl(PIPE_LIMIT, json_object_get_string(v));
	if (r == 0 && json_object_object_get_ex(saved, "sysctl_d", &v) && *json_object_get_string(v))
		r = remove_dropin(json_object_get_string(v));
	if (r == 0 && unlinkat(storefd, SAVED_NAME, 0) < 0)
		r = -errno;
out:
	json_object_put(saved);
	close(storefd);
	return r;
}
