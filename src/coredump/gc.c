/* gc.c: keeping the store within its limits (MaxUse, KeepFree, MaxAgeSec).
 *
 * Oldest cores go first. A removed core's metadata record stays, rewritten
 * to say the core is gone and why, so no crash disappears without a trace;
 * only MaxAgeSec removes records themselves, and MaxUse once no core is
 * left (a crash storm's records; records count in MaxUse). Temporary files left by a
 * helper that died (".tmp.*" untouched for 15 minutes) are removed too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"

#define STALE_TEMP_SECS (15 * 60)

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

/* Delete e's core and rewrite its record saying why. */
static int drop_core(int storefd, struct ll_store_entry *e, const char *why,
		     struct ll_store_gc_stats *st)
{
	json_object *core;
	struct stat s;
	char name[300];
	uid_t share = (uid_t)-1;

	if (fstatat(storefd, e->core_file, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (unlinkat(storefd, e->core_file, 0) < 0)
		return -errno;
	st->cores_removed++;
	st->bytes_freed += (uint64_t)s.st_blocks * 512;
	e->core_file = NULL;
	e->disk_size = 0;
	snprintf(name, sizeof(name), "%s.json", e->id);
	if (fstatat(storefd, name, &s, AT_SYMLINK_NOFOLLOW) == 0 && s.st_uid != 0)
		share = s.st_uid; /* a record of an older version, owned by the user */
	else if (json_object_object_get_ex(e->meta, "readable_by_uid", &core) &&
		 json_object_get_boolean(core))
		share = e->uid;
	if (json_object_object_get_ex(e->meta, "core", &core) && core) {
		json_object_object_add(core, "stored", json_object_new_boolean(0));
		json_object_object_add(core, "file", NULL);
		json_object_object_add(core, "not_stored_reason", json_object_new_string(why));
		json_object_object_add(core, "removed_time", json_object_new_int64(time(NULL)));
	}
	return ll_cd_write_json(storefd, name, e->meta, false, share);
}

int ll_store_gc(int storefd, const struct ll_coredump_config *cfg, uint64_t reserve,
		struct ll_store_gc_stats *stats)
{
	struct ll_store_gc_stats local;
	struct ll_store_gc_stats *st = stats ? stats : &local;
	struct ll_store_list l;
	uint64_t used, avail;
	time_t now = time(NULL);
	int r;

	memset(st, 0, sizeof(*st));
	remove_stale_temps(storefd, st);
	r = ll_store_list(storefd, &l);
	if (r < 0)
		return r;
	if (cfg->max_age) {
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].time <= 0 || (uint64_t)(now - l.v[i].time) <= cfg->max_age)
				continue;
			if (ll_store_remove(storefd, l.v[i].id) == 0) {
				st->records_removed++;
				st->bytes_freed += l.v[i].disk_size;
				l.v[i].core_file = NULL;
			}
		}
	}
	r = ll_cd_store_usage(storefd, &used, &avail);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		struct ll_store_entry *e = &l.v[i];
		const char *why = NULL;

		if (cfg->max_use != UINT64_MAX && used + reserve > cfg->max_use)
			why = "removed: the store exceeded MaxUse (oldest cores go first)";
		else if (avail < cfg->keep_free + reserve)
			why = "removed: the filesystem had less than KeepFree free (oldest cores go first)";
		if (!why)
			break;
		if (!e->core_file)
			continue;
		if (drop_core(storefd, e, why, st) == 0)
			r = ll_cd_store_usage(storefd, &used, &avail);
	}
	/* Still over MaxUse with every core gone: the records of a long crash
	 * storm fill it. The oldest records go then (each is logged), so that
	 * the store's disk use stays bounded whatever the crash rate. */
	for (size_t i = 0; r == 0 && cfg->max_use != UINT64_MAX && used > cfg->max_use && i < l.n; i++) {
		struct ll_store_entry *e = &l.v[i];

		if (e->core_file || ll_store_remove(storefd, e->id) < 0)
			continue;
		st->records_removed++;
		ll_store_log(storefd, "record %s removed: the store exceeded MaxUse with no core left", e->id);
		r = ll_cd_store_usage(storefd, &used, &avail);
	}
	ll_store_list_free(&l);
	return r;
}
