/* gc.c: keeping the store within its limits (MaxUse, KeepFree, MaxAgeSec),
 * fairly between users, in bounded memory.
 *
 * Everything is decided from file names and sizes (scan.c): the uid and
 * crash time are part of every file's name, so one readdir() gives each
 * user's bytes (cores, records, maps) and no record is parsed to choose.
 * Over MaxUse, with N users holding files, each may keep MaxUse/N: the
 * crashing user's oldest cores (never by this rule its newest, the crash
 * asking for room) go first while it holds more than that, then the oldest
 * cores of whoever holds the most bytes (systemd-coredump's
 * vacuum picks the user with the most files; bytes are what fill a disk:
 * one 1 GiB core outweighs a hundred small ones). A user with no core left
 * loses its oldest records instead. KeepFree (space the rest of the system
 * needs) never makes a crash delete another user's cores: the helper
 * refuses the new core instead (helper.c) and frees only the crashing
 * user's own cores when even its record does not fit; an administrator's
 * `cores gc` frees from the biggest users. A removed core's record stays,
 * rewritten to say the core is gone and why (one bounded record parsed per
 * removal). One scan counts every user's bytes and gathers the oldest
 * files of the crashing user and of the biggest few (CANDIDATES each), so
 * memory does not grow with the store and a cleanup of hundreds of files
 * reads the directory a few times, not once per file. Temporary files left by a helper that died
 * (".tmp.*" untouched for 15 minutes) are removed too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"

#define STALE_TEMP_SECS (15 * 60)
#define CANDIDATES 32

static void remove_stale_temps(int storefd, struct ll_store_gc_stats *st)
{
	time_t now = time(NULL);
	struct dirent *de;
	DIR *d = ll_opendir_at(storefd, NULL, 0);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat s;

		if (strncmp(de->d_name, ".tmp.", 5))
			continue;
		if (fstatat(storefd, de->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - s.st_mtime < STALE_TEMP_SECS)
			continue;
		if (unlinkat(storefd, de->d_name, 0) == 0) {
			st->temp_removed++;
			st->bytes_freed += (uint64_t)s.st_blocks * 512;
		}
	}
	closedir(d);
}

/* MaxAgeSec: every file of an entry whose crash is older goes. */
struct age_ctx {
	int storefd;
	int64_t cutoff;
	struct ll_store_gc_stats *st;
};

static int remove_old(const struct ll_cd_file *f, void *ctx)
{
	struct age_ctx *a = ctx;

	if (!f->named || f->time <= 0 || f->time >= a->cutoff)
		return 0;
	if (unlinkat(a->storefd, f->name, 0) == 0) {
		a->st->bytes_freed += f->bytes;
		if (f->kind == LL_CD_RECORD)
			a->st->records_removed++;
		else if (f->kind == LL_CD_CORE)
			a->st->cores_removed++;
	}
	return 0;
}

/* Bytes and files per uid ((uid_t)-1: names that do not parse). */
struct user {
	uid_t uid;
	uint64_t bytes;
	unsigned cores, records;
};

struct watch_ctx;

struct usage {
	struct user *v;
	size_t n, cap;
	uint64_t total;
	struct watch_ctx *wc;  /* also gather the candidates of the first users seen */
};

static struct user *user_of(struct usage *u, uid_t uid)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].uid == uid)
			return &u->v[i];
	if (u->n == u->cap) {
		size_t nc = u->cap ? u->cap * 2 : 16;
		struct user *nv = realloc(u->v, nc * sizeof(*nv));

		if (!nv)
			return NULL;
		u->v = nv;
		u->cap = nc;
	}
	u->v[u->n] = (struct user){ .uid = uid };
	return &u->v[u->n++];
}

static int watch_file(const struct ll_cd_file *f, void *ctx);
static void watch_user(struct watch_ctx *wc, size_t i, uid_t uid);

static int add_file(const struct ll_cd_file *f, void *ctx)
{
	struct usage *u = ctx;
	struct user *p = user_of(u, f->uid);

	if (!p)
		return -ENOMEM;
	p->bytes += f->bytes;
	u->total += f->bytes;
	if (f->kind == LL_CD_CORE)
		p->cores++;
	else if (f->kind == LL_CD_RECORD)
		p->records++;
	if (u->wc) {
		watch_user(u->wc, (size_t)(p - u->v), p->uid);
		watch_file(f, u->wc);
	}
	return 0;
}

static int measure(int storefd, struct usage *u)
{
	u->n = 0;
	u->total = 0;
	return ll_cd_scan(storefd, add_file, u);
}

static bool evictable(const struct user *p)
{
	return p->cores || p->records;
}

/* Users holding files (counting crash_uid, which is about to). */
static size_t holders(const struct usage *u, uid_t crash_uid)
{
	size_t n = 0;
	bool crash_seen = false;

	for (size_t i = 0; i < u->n; i++) {
		if (!u->v[i].bytes)
			continue;
		n++;
		crash_seen |= u->v[i].uid == crash_uid;
	}
	return n + (crash_uid != (uid_t)-1 && !crash_seen);
}

/* Whose files go next over MaxUse: the crashing user while over its share,
 * else the biggest; *own tells which rule chose. */
static struct user *pick_user(struct usage *u, uid_t crash_uid, uint64_t limit, bool *own)
{
	size_t n = holders(u, crash_uid);
	uint64_t share = n ? limit / n : limit;
	struct user *big = NULL;

	*own = false;
	for (size_t i = 0; i < u->n; i++) {
		struct user *p = &u->v[i];

		/* Its newest core (the crash that asks for room) only goes by
		 * the biggest-user rule below. */
		if (p->uid == crash_uid && p->bytes > share && p->cores > 1) {
			*own = true;
			return p;
		}
		if (evictable(p) && (!big || p->bytes > big->bytes))
			big = p;
	}
	return big;
}

/* The oldest cores and records of a few users (the crashing one and the
 * biggest WATCHED), CANDIDATES of each at most: one scan feeds many
 * removals, whatever the number of users and files. */
#define WATCHED 32

struct cand {
	char name[LL_CD_NAME_MAX];
	size_t idlen;
	int64_t time;
	uint64_t bytes;
};

struct cand_list {
	struct cand v[CANDIDATES];
	size_t n, next;
};

struct watch {
	uid_t uid;
	struct cand_list cores, records;
};

struct watch_ctx {
	struct watch w[WATCHED + 1];
	size_t n;
};

static int cand_cmp(int64_t t, const char *name, const struct cand *c)
{
	if (t != c->time)
		return t < c->time ? -1 : 1;
	return strcmp(name, c->name);
}

static void add_cand(struct cand_list *c, const struct ll_cd_file *f)
{
	size_t at = c->n;

	while (at > 0 && cand_cmp(f->time, f->name, &c->v[at - 1]) < 0)
		at--;
	if (at == CANDIDATES)
		return;
	if (c->n == CANDIDATES)
		c->n--;
	memmove(&c->v[at + 1], &c->v[at], (c->n - at) * sizeof(c->v[0]));
	snprintf(c->v[at].name, sizeof(c->v[at].name), "%s", f->name);
	c->v[at].idlen = f->idlen;
	c->v[at].time = f->time;
	c->v[at].bytes = f->bytes;
	c->n++;
}

/* Watch user number i of the usage table, if there is room. */
static void watch_user(struct watch_ctx *wc, size_t i, uid_t uid)
{
	if (i < WATCHED && i == wc->n)
		wc->w[wc->n++].uid = uid;
}

static int watch_file(const struct ll_cd_file *f, void *ctx)
{
	struct watch_ctx *wc = ctx;

	for (size_t i = 0; i < wc->n; i++) {
		if (wc->w[i].uid != f->uid)
			continue;
		if (f->kind == LL_CD_CORE)
			add_cand(&wc->w[i].cores, f);
		else if (f->kind == LL_CD_RECORD)
			add_cand(&wc->w[i].records, f);
	}
	return 0;
}

/* Count again and gather the candidates of the users likely to lose files:
 * crash_uid and the WATCHED biggest. */
static int survey(int storefd, struct usage *u, uid_t crash_uid, struct watch_ctx *wc)
{
	int r;

	/* Few users (the usual store): one scan counts and gathers. */
	memset(wc, 0, sizeof(*wc));
	u->wc = wc;
	r = measure(storefd, u);
	u->wc = NULL;
	if (r < 0 || u->n <= WATCHED)
		return r;
	memset(wc, 0, sizeof(*wc));
	if (crash_uid != (uid_t)-1)
		wc->w[wc->n++].uid = crash_uid;
	for (size_t k = 0; k < WATCHED && k < u->n; k++) {
		const struct user *best = NULL;

		for (size_t i = 0; i < u->n; i++) {
			bool taken = false;

			for (size_t j = 0; j < wc->n; j++)
				taken |= wc->w[j].uid == u->v[i].uid;
			if (!taken && evictable(&u->v[i]) && (!best || u->v[i].bytes > best->bytes))
				best = &u->v[i];
		}
		if (!best)
			break;
		wc->w[wc->n++].uid = best->uid;
	}
	return ll_cd_scan(storefd, watch_file, wc);
}

static struct watch *watch_of(struct watch_ctx *wc, uid_t uid)
{
	for (size_t i = 0; i < wc->n; i++)
		if (wc->w[i].uid == uid)
			return &wc->w[i];
	return NULL;
}

/* The record of the core just removed says so (its only parse, bounded). */
static void mark_removed(int storefd, const struct cand *c, const char *why)
{
	char id[LL_CD_NAME_MAX], name[LL_CD_NAME_MAX + 8];
	json_object *meta = NULL, *core, *v;
	uid_t share = (uid_t)-1;
	struct stat s;
	int r;

	snprintf(id, sizeof(id), "%.*s", (int)c->idlen, c->name);
	snprintf(name, sizeof(name), "%s.json", id);
	r = ll_cd_load_record(storefd, name, &meta);
	if (r < 0) {
		ll_store_log(storefd, "core %s removed (%s); its record could not be updated: %s",
			     c->name, why, strerror(-r));
		return;
	}
	if (fstatat(storefd, name, &s, AT_SYMLINK_NOFOLLOW) == 0 && s.st_uid != 0)
		share = s.st_uid; /* a record of an older version, owned by the user */
	else if (json_object_object_get_ex(meta, "readable_by_uid", &v) && json_object_get_boolean(v) &&
		 json_object_object_get_ex(meta, "uid", &v))
		share = (uid_t)json_object_get_int64(v);
	if (json_object_object_get_ex(meta, "core", &core) && core &&
	    json_object_object_get_ex(core, "file", &v) && v &&
	    !strcmp(json_object_get_string(v), c->name)) {
		json_object_object_add(core, "stored", json_object_new_boolean(0));
		json_object_object_add(core, "file", NULL);
		json_object_object_add(core, "not_stored_reason", json_object_new_string(why));
		json_object_object_add(core, "removed_time", json_object_new_int64(time(NULL)));
		r = ll_cd_record_write(storefd, id, meta, false, share);
		if (r < 0)
			ll_store_log(storefd, "core %s removed (%s); its record could not be updated: %s",
				     c->name, why, strerror(-r));
	}
	json_object_put(meta);
}

/* Remove one candidate; returns the bytes freed (0: nothing removed). */
static uint64_t evict(int storefd, const struct cand *c, const char *why, struct ll_store_gc_stats *st)
{
	char maps[LL_CD_NAME_MAX + 8];
	uint64_t freed = c->bytes;
	struct stat s;

	if (unlinkat(storefd, c->name, 0) < 0)
		return 0;
	if (!strcmp(c->name + c->idlen, ".json")) {
		snprintf(maps, sizeof(maps), "%.*s.maps", (int)c->idlen, c->name);
		if (fstatat(storefd, maps, &s, AT_SYMLINK_NOFOLLOW) == 0 && unlinkat(storefd, maps, 0) == 0)
			freed += (uint64_t)s.st_blocks * 512;
		st->records_removed++;
		ll_store_log(storefd, "record %.*s removed: %s", (int)c->idlen, c->name, why);
	} else {
		st->cores_removed++;
		mark_removed(storefd, c, why);
	}
	st->bytes_freed += freed;
	return freed;
}

static uint64_t free_space(int storefd)
{
	struct statvfs sv;

	return fstatvfs(storefd, &sv) == 0 ? (uint64_t)sv.f_bavail * sv.f_frsize : UINT64_MAX;
}

int ll_store_vacuum(int storefd, const struct ll_coredump_config *cfg,
		    const struct ll_store_vacuum_opts *o, struct ll_store_gc_stats *stats)
{
	struct ll_store_gc_stats local;
	struct ll_store_gc_stats *st = stats ? stats : &local;
	struct usage u = { 0 };
	struct watch_ctx *wc = malloc(sizeof(*wc));
	unsigned failures = 0;
	bool fresh;
	int r;

	memset(st, 0, sizeof(*st));
	if (!wc)
		return -ENOMEM;
	remove_stale_temps(storefd, st);
	if (cfg->max_age) {
		struct age_ctx a = { storefd, (int64_t)time(NULL) - (int64_t)cfg->max_age, st };

		ll_cd_scan(storefd, remove_old, &a);
	}
	r = survey(storefd, &u, o->crash_uid, wc);
	fresh = true;
	while (r == 0 && failures < 1000) {
		bool over = cfg->max_use != UINT64_MAX && u.total + o->reserve > cfg->max_use;
		bool low = !over && o->keep_free && free_space(storefd) < cfg->keep_free + o->reserve;
		struct cand_list *list;
		struct user *p = NULL;
		struct watch *w;
		char why[256];
		bool own = false;
		uint64_t freed;

		if (over) {
			p = pick_user(&u, o->crash_uid, cfg->max_use, &own);
			if (p)
				snprintf(why, sizeof(why), own
					 ? "removed: the store exceeded MaxUse and uid %u, whose crash needed room, "
					   "held more than its share (%llu bytes; MaxUse=%llu shared by %zu users): "
					   "its oldest cores go first"
					 : "removed: the store exceeded MaxUse and uid %u held the most (%llu bytes; "
					   "MaxUse=%llu shared by %zu users): its oldest cores go first",
					 (unsigned)p->uid, (unsigned long long)p->bytes,
					 (unsigned long long)cfg->max_use, holders(&u, o->crash_uid));
		} else if (low) {
			/* A helper frees only its own user's cores; an administrator
			 * frees from the biggest user. */
			p = o->crash_uid != (uid_t)-1 ? user_of(&u, o->crash_uid) : pick_user(&u, (uid_t)-1, 0, &own);
			if (p && o->crash_uid != (uid_t)-1 && !p->cores)
				p = NULL;
			if (p)
				snprintf(why, sizeof(why), "removed: the filesystem had less than KeepFree free and "
					 "uid %u %s: its oldest cores go first", (unsigned)p->uid,
					 o->crash_uid != (uid_t)-1 ? "needed room for its own crash's record"
								   : "held the most");
		}
		if (!p)
			break;
		w = watch_of(wc, p->uid);
		list = !w ? NULL : p->cores ? &w->cores : &w->records;
		if (!list || list->next == list->n) {
			/* Not watched, or more removals than candidates: look again.
			 * Straight after a survey, the counts and the lists agree, so
			 * an empty list means the files went meanwhile. */
			if (fresh)
				break;
			r = survey(storefd, &u, o->crash_uid, wc);
			fresh = true;
			continue;
		}
		fresh = false;
		freed = evict(storefd, &list->v[list->next], why, st);
		if (!freed)
			failures++;
		p->bytes -= freed < p->bytes ? freed : p->bytes;
		u.total -= freed < u.total ? freed : u.total;
		if (list == &w->cores)
			p->cores--;
		else
			p->records--;
		list->next++;
	}
	free(u.v);
	free(wc);
	return r;
}

int ll_store_gc(int storefd, const struct ll_coredump_config *cfg, uint64_t reserve,
		struct ll_store_gc_stats *stats)
{
	struct ll_store_vacuum_opts o = { .crash_uid = (uid_t)-1, .reserve = reserve, .keep_free = true };

	return ll_store_vacuum(storefd, cfg, &o, stats);
}
