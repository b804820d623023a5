/* guard.c: the crash-loop guard (ll_plugin_opts.guard_dir, opt-in).
 *
 * A crash in a plugin's constructors or init kills the host: that cannot be
 * survived in-process. A supervisor restarts the host, which would open the
 * same file and crash again, for ever. With the guard, the host records in
 * GUARD_DIR/state (JSON: {"loading": HASH, "good": HASH, "bad": HASH},
 * replaced through a rename) the content hash (64-bit FNV-1a of the snapshot) of the file it
 * is about to load in-process, and after a load that returned (loaded or
 * rejected) clears "loading"; a version that loaded is copied to
 * GUARD_DIR/last-good.so first. A "loading" hash found at open means the
 * previous run died while loading that file: it is remembered as "bad", and
 * while the plugin file has that content it is refused (-EDEADLK), and ll_plugin_open() starts
 * the last good copy instead, saying why. The directory is opened once with
 * O_NOFOLLOW; files in it are reached through that descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin_private.h"
#include "common/common.h"

#define STATE "state"
#define STATE_TMP "state.tmp"
#define COPY "last-good.so"
#define COPY_TMP "last-good.so.tmp"

static int hash_snapshot(const struct ll_snapshot *s, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *b;

	if (s->size) {
		b = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
		if (b == MAP_FAILED)
			return -errno;
		for (size_t i = 0; i < s->size; i++)
			h = (h ^ b[i]) * 0x100000001b3ull;
		munmap((void *)b, s->size);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return 0;
}

/* Replace the state file: {"loading": loading?, "good": good?}. */
static int write_state(struct ll_plugin *p, const char *loading)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	int fd, r = 0;

	if (!o)
		return -ENOMEM;
	if (loading)
		json_object_object_add(o, "loading", json_object_new_string(loading));
	if (p->guard_good[0])
		json_object_object_add(o, "good", json_object_new_string(p->guard_good));
	if (p->guard_bad[0])
		json_object_object_add(o, "bad", json_object_new_string(p->guard_bad));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	fd = openat(p->guard_dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		r = -errno;
	else {
		r = ll_write_all(fd, text, strlen(text));
		if (close(fd) < 0 && r == 0)
			r = -errno;
	}
	if (r == 0 && renameat(p->guard_dirfd, STATE_TMP, p->guard_dirfd, STATE) < 0)
		r = -errno;
	json_object_put(o);
	return r;
}

/* out = o[key] when it is a hash; left alone otherwise. */
static void read_hash(struct json_object *o, const char *key, char out[17])
{
	struct json_object *v;
	const char *s;

	if (json_object_object_get_ex(o, key, &v) && (s = json_object_get_string(v)) && strlen(s) == 16)
		memcpy(out, s, 17);
}

int ll_guard_open(struct ll_plugin *p, char *why, size_t size)
{
	struct json_object *o;
	char *text = NULL;
	size_t len;
	int r;

	if (mkdir(p->opts.guard_dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, size, "%s: cannot create the crash-loop guard directory %s: %s", p->path,
			 p->opts.guard_dir, strerror(-r));
		return r;
	}
	p->guard_dirfd = open(p->opts.guard_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (p->guard_dirfd < 0) {
		r = -errno;
		snprintf(why, size, "%s: cannot open the crash-loop guard directory %s: %s", p->path,
			 p->opts.guard_dir, strerror(-r));
		return r;
	}
	if (asprintf(&p->guard_copy, "%s/" COPY, p->opts.guard_dir) < 0) {
		p->guard_copy = NULL;
		return -ENOMEM;
	}
	r = ll_read_file_at(p->guard_dirfd, STATE, 4096, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(why, size, "%s: cannot read %s/" STATE ": %s", p->path, p->opts.guard_dir, strerror(-r));
		return r;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(why, size, "%s: %s/" STATE " is not the guard's JSON state: remove it", p->path,
			 p->opts.guard_dir);
		return -EINVAL;
	}
	read_hash(o, "bad", p->guard_bad);
	read_hash(o, "loading", p->guard_bad); /* the previous run died loading it */
	read_hash(o, "good", p->guard_good);
	json_object_put(o);
	return 0;
}

int ll_guard_begin(struct ll_plugin *p, const struct ll_snapshot *snap, char *why, size_t size)
{
	char h[17];
	int r = hash_snapshot(snap, h);

	if (r < 0) {
		snprintf(why, size, "crash-loop guard: cannot hash the snapshot: %s", strerror(-r));
		return r;
	}
	if (p->guard_bad[0] && !strcmp(h, p->guard_bad)) {
		snprintf(why, size, "the previous run died while loading this very file (content %s: a crash in "
			 "its constructors or init hook); it is not loaded again until the file changes", h);
		return -EDEADLK;
	}
	r = write_state(p, h);
	if (r < 0) {
		snprintf(why, size, "crash-loop guard: cannot write %s/" STATE ": %s", p->opts.guard_dir,
			 strerror(-r));
		return r;
	}
	return 0;
}

/* Copy the snapshot to last-good.so through a rename. */
static int keep_copy(struct ll_plugin *p, const struct ll_snapshot *snap)
{
	uint64_t total = 0;
	int fd, r;

	fd = openat(p->guard_dirfd, COPY_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (lseek(snap->fd, 0, SEEK_SET) < 0)
		r = -errno;
	else
		r = ll_copy_read_write(snap->fd, fd, snap->size, &total);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(p->guard_dirfd, COPY_TMP, p->guard_dirfd, COPY) < 0)
		r = -errno;
	return r;
}

void ll_guard_end(struct ll_plugin *p, const struct ll_snapshot *snap, bool ok)
{
	char h[17];

	if (ok && snap && hash_snapshot(snap, h) == 0 && (strcmp(h, p->guard_good) || faccessat(p->guard_dirfd,
				COPY, F_OK, 0) < 0) && keep_copy(p, snap) == 0)
		memcpy(p->guard_good, h, sizeof(h));
	write_state(p, NULL);
}

const char *ll_guard_fallback(struct ll_plugin *p)
{
	if (p->guard_dirfd < 0 || !p->guard_bad[0] || !p->guard_good[0] || !strcmp(p->guard_bad, p->guard_good) ||
	    faccessat(p->guard_dirfd, COPY, F_OK, 0) < 0)
		return NULL;
	return p->guard_copy;
}

void ll_guard_close(struct ll_plugin *p)
{
	if (p->guard_dirfd >= 0)
		close(p->guard_dirfd);
	p->guard_dirfd = -1;
	free(p->guard_copy);
	p->guard_copy = NULL;
}
