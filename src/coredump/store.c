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

#define RECORD_MAX (64u << 20)
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

int ll_cd_store_usage(int storefd, uint64_t *used, uint64_t *avail)
{
	struct statvfs sv;
	struct dirent *de;
	DIR *d;

	*used = 0;
	if (fstatvfs(storefd, &sv) < 0)
		return -errno;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	d = ll_opendir_at(storefd, NULL, 0);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;
		size_t l = strlen(de->d_name);

		/* Cores and records: a crash storm's records count too. */
		if (!(l >= 4 && !strcmp(de->d_name + l - 4, ".zst")) &&
		    !(l >= 5 && !strcmp(de->d_name + l - 5, ".json")))
			continue;
		if (fstatat(storefd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			*used += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return 0;
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

static int load_record(int storefd, const char *name, json_object **out)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, r;

	fd = openat(storefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	{
		/* Read through the verified descriptor (no second path lookup). */
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		r = ll_read_file(path, RECORD_MAX, &text, &len);
	}
	close(fd);
	if (r < 0)
		return r;
	*out = json_tokener_parse(text);
	free(text);
	return *out && json_object_is_type(*out, json_type_object) ? 0 : -EINVAL;
}

int ll_cd_load_record(int storefd, const char *name, json_object **out)
{
	*out = NULL;
	int r = load_record(storefd, name, out);

	if (r < 0 && *out) {
		json_object_put(*out);
		*out = NULL;
	}
	return r;
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

static int cmp_entry(const void *a, const void *b)
{
	const struct ll_store_entry *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

int ll_store_list(int storefd, struct ll_store_list *out)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int r = 0;

	memset(out, 0, sizeof(*out));
	d = ll_opendir_at(storefd, NULL, 0);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		json_object *meta = NULL;
		struct ll_store_entry *e;

		if (l < 6 || strcmp(de->d_name + l - 5, ".json") || !ll_cd_name_ok(de->d_name))
			continue;
		if (ll_cd_load_record(storefd, de->d_name, &meta) < 0) {
			out->unreadable++;
			continue;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct ll_store_entry *nv = realloc(out->v, nc * sizeof(*nv));

			if (!nv) {
				json_object_put(meta);
				r = -ENOMEM;
				break;
			}
			out->v = nv;
			cap = nc;
		}
		e = &out->v[out->n];
		memset(e, 0, sizeof(*e));
		e->id = strndup(de->d_name, l - 5);
		e->meta = meta;
		if (!e->id) {
			json_object_put(meta);
			r = -ENOMEM;
			break;
		}
		fill_entry(storefd, e);
		out->n++;
	}
	closedir(d);
	if (r < 0) {
		ll_store_list_free(out);
		return r;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), cmp_entry);
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
	char name[300];
	json_object *meta = NULL;
	const char *core = NULL;
	int r;

	if (!ll_cd_name_ok(id))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.json", id);
	r = ll_cd_load_record(storefd, name, &meta);
	if (r < 0)
		return r;
	{
		json_object *c;

		if (json_object_object_get_ex(meta, "core", &c) && c)
			core = jstr(c, "file");
	}
	if (core && ll_cd_core_name_ok(id, core) && unlinkat(storefd, core, 0) < 0 && errno != ENOENT)
		r = -errno;
	if (r == 0 && unlinkat(storefd, name, 0) < 0)
		r = -errno;
	json_object_put(meta);
	return r;
}
