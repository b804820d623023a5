/* store.c: the store directory: opening it safely, writing records, the
 * log, listing and resolving entries, decompressing, removing.
 *
 * Every file is reached with *at() calls on the store's directory fd and
 * created with O_CREAT|O_EXCL|O_NOFOLLOW under a hidden temporary name
 * (".tmp.*"), then renamed into place; readers open with O_NOFOLLOW. The
 * listing trusts only names made of [A-Za-z0-9._-] not starting with '.'. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <sys/random.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/escape.h"
#include "coredump/internal.h"

#define LOG_MAX (1u << 20)

int ll_store_open(const char *path, bool create, int *dirfd)
{
	struct stat st;
	bool created = false;
	int fd;

	*dirfd = -1;
	if (create) {
		char parent[4096];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", path);
		slash = strrchr(parent, '/');
		/* 0755 whatever the umask (the helper runs with 077): users may
		 * traverse it to read their own cores (0640, owner uid); every
		 * core of an undumpable process is 0600 root. */
		if (slash && slash != parent) {
			*slash = '\0';
			if (mkdir(parent, 0755) == 0)
				chmod(parent, 0755);
			else if (errno != EEXIST)
				return -errno;
		}
		if (mkdir(path, 0755) == 0)
			created = true;
		else if (errno != EEXIST)
			return -errno;
	}
	/* The store is opened relative to its parent, and the parent must not
	 * be changeable by anyone but root (a sticky directory such as /tmp
	 * will do: others cannot rename or remove root's entries there), or a
	 * user could swap the store for another directory between crashes. */
	{
		char parent[4096], name[4096];
		const char *base;
		size_t len = strlen(path);
		int pfd;

		while (len > 1 && path[len - 1] == '/')
			len--;
		if (len == 0 || len >= sizeof(name))
			return -EINVAL;
		snprintf(name, sizeof(name), "%.*s", (int)len, path);
		base = strrchr(name, '/');
		if (!base)
			snprintf(parent, sizeof(parent), ".");
		else if (base == name)
			snprintf(parent, sizeof(parent), "/");
		else
			snprintf(parent, sizeof(parent), "%.*s", (int)(base - name), name);
		base = base ? base + 1 : name;
		if (!*base)
			return -EPERM; /* "/" itself */
		pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			return -errno;
		if (geteuid() == 0 && (fstat(pfd, &st) < 0 || st.st_uid != 0 ||
				       ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)))) {
			close(pfd);
			return -EPERM;
		}
		fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		close(pfd);
		if (fd < 0)
			return fd == -ELOOP ? -EPERM : fd;
	}
	if (created)
		fchmod(fd, 0755);
	if (fstat(fd, &st) < 0 || (geteuid() == 0 && st.st_uid != 0) || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	*dirfd = fd;
	return 0;
}

void ll_store_log(int storefd, const char *fmt, ...)
{
	char msg[1024], line[1200], stamp[32];
	struct timespec now;
	struct tm tm;
	struct stat st;
	va_list ap;
	int fd = -1;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(line, sizeof(line), "%s [%d] %s\n", stamp, (int)getpid(), msg);
	if (storefd >= 0) {
		fd = openat(storefd, "coredump.log",
			    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && st.st_size > LOG_MAX) {
			/* Rotate once: the previous log is kept as coredump.log.1. */
			close(fd);
			renameat(storefd, "coredump.log", storefd, "coredump.log.1");
			fd = openat(storefd, "coredump.log",
				    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
	}
	if (fd < 0 || ll_write_all(fd, line, strlen(line)) < 0)
		syslog(LOG_DAEMON | LOG_ERR, "lifeline-coredump: %s", msg);
	if (fd >= 0)
		close(fd);
}

/* A fresh hidden temporary file in the store. */
static int make_temp(int storefd, const char *name, char *tmp, size_t size)
{
	for (int i = 0; i < 16; i++) {
		unsigned int rnd = 0;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
			rnd = (unsigned)getpid() * 2654435761u + (unsigned)i;
		snprintf(tmp, size, ".tmp.%.200s.%08x", name, rnd);
		fd = openat(storefd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int ll_cd_temp_file(int storefd, const char *name, char *tmp, size_t size)
{
	return make_temp(storefd, name, tmp, size);
}

/* The POSIX ACL "u::rw-,u:UID:r--,g::---,m::r--,o::---" in the kernel's
 * xattr format (little-endian, entries sorted by tag). */
static void make_acl(uid_t uid, unsigned char out[4 + 5 * 8])
{
	static const uint16_t tags[5] = { ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER };
	static const uint16_t perms[5] = { 6, 4, 0, 4, 0 };
	uint32_t v = htole32(POSIX_ACL_XATTR_VERSION);

	memcpy(out, &v, 4);
	for (int i = 0; i < 5; i++) {
		uint16_t t = htole16(tags[i]), p = htole16(perms[i]);
		uint32_t id = htole32(tags[i] == ACL_USER ? (uint32_t)uid : (uint32_t)ACL_UNDEFINED_ID);

		memcpy(out + 4 + 8 * i, &t, 2);
		memcpy(out + 4 + 8 * i + 2, &p, 2);
		memcpy(out + 4 + 8 * i + 4, &id, 4);
	}
}

int ll_cd_share(int fd, uid_t share_uid)
{
	unsigned char acl[4 + 5 * 8];

	if (share_uid == (uid_t)-1)
		return 0;
	/* The file stays root's: an owner could chmod it, rewrite the record
	 * root's tools trust, or grow the core past every limit. The user
	 * gets read access only, through an ACL (as systemd-coredump does). */
	make_acl(share_uid, acl);
	if (fsetxattr(fd, "system.posix_acl_access", acl, sizeof(acl), 0) < 0)
		return -errno;
	return 0;
}

bool ll_cd_acl_supported(int storefd)
{
	char tmp[300];
	bool ok;
	int fd = make_temp(storefd, "acl-probe", tmp, sizeof(tmp));

	if (fd < 0)
		return false;
	ok = ll_cd_share(fd, 65534) == 0;
	close(fd);
	unlinkat(storefd, tmp, 0);
	return ok;
}

int ll_cd_rename(int storefd, const char *from, const char *to, bool noreplace)
{
	if (renameat2(storefd, from, storefd, to, noreplace ? RENAME_NOREPLACE : 0) == 0)
		return 0;
	if (!noreplace || (errno != EINVAL && errno != ENOSYS))
		return -errno;
	/* A filesystem without RENAME_NOREPLACE: link() never replaces. */
	if (linkat(storefd, from, storefd, to, 0) < 0)
		return -errno;
	unlinkat(storefd, from, 0);
	return 0;
}

int ll_cd_write_json(int storefd, const char *name, json_object *o, bool noreplace,
		     uid_t share_uid)
{
	char tmp[300];
	const char *text;
	int fd, r;

	fd = make_temp(storefd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = ll_write_all(fd, text, strlen(text));
	if (r == 0)
		r = ll_write_all(fd, "\n", 1);
	if (r == 0)
		ll_cd_share(fd, share_uid); /* failing, it stays root-only */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = ll_cd_rename(storefd, tmp, name, noreplace);
	if (r < 0)
		unlinkat(storefd, tmp, 0);
	return r;
}

static int64_t jint(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int ll_cd_load_record(int storefd, const char *name, json_object **out)
{
	return ll_cd_record_load(storefd, name, LL_CD_RECORD_MAX, out);
}

static void fill_entry(int storefd, struct ll_store_entry *e)
{
	json_object *core = NULL, *v;
	struct stat st;

	e->time = jint(e->meta, "time");
	e->pid = (pid_t)jint(e->meta, "pid");
	e->uid = (uid_t)jint(e->meta, "uid");
	e->signal = (int)jint(e->meta, "signal");
	e->exe = jstr(e->meta, "exe");
	e->comm = jstr(e->meta, "comm");
	if (!e->exe)
		e->exe = "";
	if (!e->comm)
		e->comm = "";
	if (json_object_object_get_ex(e->meta, "core", &core) && core) {
		e->size = (uint64_t)jint(core, "size");
		e->truncated = json_object_object_get_ex(core, "truncated", &v) &&
			       json_object_get_boolean(v);
		e->core_file = jstr(core, "file");
		if (e->core_file && !ll_cd_core_name_ok(e->id, e->core_file))
			e->core_file = NULL;
	}
	if (e->core_file && fstatat(storefd, e->core_file, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		e->disk_size = (uint64_t)st.st_size;
	else
		e->core_file = NULL;
}

/* The store's record ids in crash order, from names only (scan.c). */
struct id_list {
	size_t n, cap;
	struct id_ref {
		char *id;
		int64_t time;
		bool named;
	} *v;
};

static int collect_id(const struct ll_cd_file *f, void *ctx)
{
	struct id_list *l = ctx;

	if (f->kind != LL_CD_RECORD)
		return 0;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct id_ref *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n].id = strndup(f->name, f->idlen);
	if (!l->v[l->n].id)
		return -ENOMEM;
	l->v[l->n].time = f->time;
	l->v[l->n].named = f->named;
	l->n++;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* A record too large to parse (an older version's, with inline maps): the
 * entry as its names tell it, so that it is still listed and removable. */
static json_object *stand_in(const struct id_ref *ref, uid_t uid)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "id", json_object_new_string(ref->id));
	json_object_object_add(m, "time", json_object_new_int64(ref->time));
	json_object_object_add(m, "uid", ref->named ? json_object_new_int64(uid) : NULL);
	json_object_object_add(m, "record_error",
			       json_object_new_string("record larger than 2 MiB (an older version's, "
						      "with inline maps): not read; 'lifeline cores rm' "
						      "removes it"));
	return m;
}

static int load_entry(int storefd, const struct id_ref *ref, struct ll_store_entry *e)
{
	char name[LL_CD_NAME_MAX + 8];
	json_object *meta = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(name, sizeof(name), "%s.json", ref->id);
	r = ll_cd_load_record(storefd, name, &meta);
	if (r == -EFBIG) {
		struct ll_cd_file f;

		ll_cd_classify(name, &f);
		meta = stand_in(ref, f.uid);
		r = 0;
	}
	if (r < 0)
		return r;
	e->id = ref->id; /* borrowed from the id list */
	e->meta = meta;
	fill_entry(storefd, e);
	if (!e->core_file && json_object_object_get_ex(meta, "record_error", NULL)) {
		char core[LL_CD_NAME_MAX + 8];
		struct stat st;

		snprintf(core, sizeof(core), "%s.zst", ref->id);
		if (fstatat(storefd, core, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			json_object *c = json_object_new_object();

			json_object_object_add(c, "file", json_object_new_string(core));
			json_object_object_add(meta, "core", c);
			fill_entry(storefd, e);
		}
	}
	return 0;
}

int ll_store_foreach(int storefd, int (*fn)(struct ll_store_entry *e, void *ctx), void *ctx,
		     size_t *unreadable)
{
	struct id_list ids = { 0 };
	size_t bad = 0;
	int r;

	r = ll_cd_scan(storefd, collect_id, &ids);
	if (r == 0 && ids.n)
		qsort(ids.v, ids.n, sizeof(ids.v[0]), cmp_id);
	for (size_t i = 0; r == 0 && i < ids.n; i++) {
		struct ll_store_entry e;

		if (load_entry(storefd, &ids.v[i], &e) < 0) {
			bad++;
			continue;
		}
		r = fn(&e, ctx);
		json_object_put(e.meta); /* NULL when fn kept it */
	}
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i].id);
	free(ids.v);
	if (unreadable)
		*unreadable = bad;
	return r;
}

static int keep_entry(struct ll_store_entry *e, void *ctx)
{
	struct ll_store_list *l = ctx;

	if (l->n % 64 == 0) {
		struct ll_store_entry *nv = realloc(l->v, (l->n + 64) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
	}
	l->v[l->n] = *e;
	l->v[l->n].id = strdup(e->id);
	if (!l->v[l->n].id)
		return -ENOMEM;
	l->n++;
	e->meta = NULL; /* the list owns it now */
	return 0;
}

int ll_store_list(int storefd, struct ll_store_list *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = ll_store_foreach(storefd, keep_entry, out, &out->unreadable);
	if (r < 0) {
		ll_store_list_free(out);
		return r;
	}
	return (int)out->n;
}

void ll_store_list_free(struct ll_store_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		json_object_put(l->v[i].meta);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool ll_store_match(const struct ll_store_entry *e, const struct ll_store_filter *f)
{
	if (!f)
		return true;
	if (f->pid && e->pid != f->pid)
		return false;
	if (f->since && e->time < f->since)
		return false;
	if (f->until && e->time > f->until)
		return false;
	if (f->exe && *f->exe) {
		/* the record's names are escaped (common/escape.h): so is the
		 * name asked for */
		char *want = ll_escape(f->exe, strlen(f->exe), LL_ESC_JSON, 0);
		const char *base = strrchr(e->exe, '/');
		bool same;

		base = base ? base + 1 : e->exe;
		same = want && (!strcmp(e->exe, want) || !strcmp(base, want) || !strcmp(e->comm, want));
		free(want);
		if (!same)
			return false;
	}
	return true;
}

int ll_store_resolve(const struct ll_store_list *l, const char *id,
		     const struct ll_store_filter *f)
{
	int found = -ENOENT;
	size_t idlen;

	if (!id || !*id) {
		for (size_t i = l->n; i-- > 0;)
			if (ll_store_match(&l->v[i], f))
				return (int)i;
		return -ENOENT;
	}
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].id, id))
			return (int)i;
	idlen = strlen(id);
	for (size_t i = 0; i < l->n; i++) {
		if (strncmp(l->v[i].id, id, idlen) || !ll_store_match(&l->v[i], f))
			continue;
		if (found >= 0)
			return -EEXIST;
		found = (int)i;
	}
	return found;
}

int ll_store_decompress(int storefd, const struct ll_store_entry *e, int out_fd,
			uint64_t *written, bool *truncated)
{
	int fd, r;

	*written = 0;
	*truncated = false;
	if (!e->core_file)
		return -ENOENT;
	fd = openat(storefd, e->core_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = ll_cd_unstream(fd, out_fd, written, truncated);
	close(fd);
	if (r == 0 && e->truncated)
		*truncated = true;
	return r;
}

int ll_store_remove(int storefd, const char *id)
{
	char name[LL_CD_NAME_MAX + 8], other[LL_CD_NAME_MAX + 8];
	json_object *meta = NULL, *c;
	const char *core = NULL;
	int r;

	if (!ll_cd_name_ok(id) || strlen(id) >= LL_CD_NAME_MAX)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.json", id);
	r = ll_cd_load_record(storefd, name, &meta);
	if (r < 0 && r != -EFBIG) /* too large to parse: removed by its names */
		return r;
	if (meta && json_object_object_get_ex(meta, "core", &c) && c)
		core = jstr(c, "file");
	r = 0;
	if (core && ll_cd_core_name_ok(id, core) && unlinkat(storefd, core, 0) < 0 && errno != ENOENT)
		r = -errno;
	for (int i = 0; r == 0 && i < 2; i++) {
		snprintf(other, sizeof(other), i ? "%s.maps" : "%s.zst", id);
		if (unlinkat(storefd, other, 0) < 0 && errno != ENOENT)
			r = -errno;
	}
	if (r == 0 && unlinkat(storefd, name, 0) < 0)
		r = -errno;
	json_object_put(meta);
	return r;
}
