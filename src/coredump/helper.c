/* helper.c: one crash, from the kernel's pipe to the store.
 *
 * Order matters: /proc is read first, while the process is certainly still
 * there (the kernel waits for us to read the pipe); then the record is
 * claimed (id.json created with RENAME_NOREPLACE, saying the core is being
 * written, so even a helper killed mid-way leaves a trace); then the core is
 * streamed into a temporary file, renamed to id.zst, and the record is
 * rewritten with the outcome. When the core is not stored (Storage=none,
 * RLIMIT_CORE 0, rate limit, no space) or past a size limit, stdin is not
 * drained: it is left unread and closed at the very end, after the final
 * record is written. The kernel waits (core_pipe_limit > 0) until the helper
 * closes its end, so whoever reaps the crashed process finds the record
 * complete; the kernel's next write then fails with EPIPE and it stops
 * dumping, instead of us reading and discarding gigabytes in a crash storm. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/escape.h"
#include "coredump/internal.h"

/* Records in (t - interval, t] of the same uid (*per_uid) and, among them,
 * of the same (sanitized) comm (*per_exe): read from the names alone, so a
 * storm does not make each helper parse the store. Keyed on the uid too: the
 * comm is the crashing process's choice (prctl(PR_SET_NAME)), so a user can
 * neither dodge the limit by renaming nor exhaust another user's quota by
 * naming a process like the other's daemon. */
static void count_recent(int storefd, const char *id, int64_t t, unsigned interval,
			 unsigned *per_exe, unsigned *per_uid)
{
	char comm[64], c2[64];
	int64_t t0, t2;
	uid_t uid, u2;
	struct dirent *de;
	DIR *d;

	*per_exe = *per_uid = 0;
	if (ll_cd_parse_id(id, comm, sizeof(comm), &uid, &t0) < 0)
		return;
	d = ll_opendir_at(storefd, NULL, 0);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 5, ".json") || !ll_cd_name_ok(de->d_name))
			continue;
		if (ll_cd_parse_id(de->d_name, c2, sizeof(c2), &u2, &t2) < 0 || u2 != uid)
			continue;
		if (t2 > t || t2 <= t - (int64_t)interval)
			continue;
		(*per_uid)++;
		if (!strcmp(c2, comm))
			(*per_exe)++;
	}
	closedir(d);
}

/* Take the store's lock: an flock() on <store>/.lock (0600 root), never on
 * the directory itself, which every user may open (0755) and flock() too,
 * stalling every helper. Returns the fd holding it, or -1 (then unlocked:
 * better an approximate rate limit than no record). */
static int lock_store(int storefd)
{
	struct stat st;
	int fd = openat(storefd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    ((st.st_mode & 077) && fchmod(fd, 0600) < 0) || flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool exists(int storefd, const char *name)
{
	struct stat st;

	return fstatat(storefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

json_object *ll_cd_core_object(const struct ll_coredump_result *res, const char *file,
			       const char *truncated_reason, const char *not_stored)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "file", file ? json_object_new_string(file) : NULL);
	json_object_object_add(c, "size", json_object_new_int64((int64_t)res->size));
	json_object_object_add(c, "compressed_size", json_object_new_int64((int64_t)res->compressed_size));
	json_object_object_add(c, "ratio", res->compressed_size
			       ? json_object_new_double((double)res->size / (double)res->compressed_size)
			       : NULL);
	json_object_object_add(c, "truncated", json_object_new_boolean(res->truncated));
	json_object_object_add(c, "truncated_reason",
			       truncated_reason && *truncated_reason ? json_object_new_string(truncated_reason) : NULL);
	json_object_object_add(c, "stored", json_object_new_boolean(res->stored));
	json_object_object_add(c, "not_stored_reason", not_stored ? json_object_new_string(not_stored) : NULL);
	json_object_object_add(c, "stored_size", res->stored ? json_object_new_int64((int64_t)res->raw_stored) : NULL);
	json_object_object_add(c, "format", res->format[0] ? json_object_new_string(res->format) : NULL);
	json_object_object_add(c, "expected_size", res->expected_size
			       ? json_object_new_int64((int64_t)res->expected_size) : NULL);
	return c;
}

static json_object *base_record(const struct ll_crash_args *a)
{
	json_object *m = json_object_new_object();
	char sig[32];
	const char *abbrev = sigabbrev_np(a->signal);

	snprintf(sig, sizeof(sig), "SIG%s", abbrev ? abbrev : "UNKNOWN");
	json_object_object_add(m, "pid", json_object_new_int64(a->pid));
	json_object_object_add(m, "uid", json_object_new_int64(a->uid));
	json_object_object_add(m, "gid", json_object_new_int64(a->gid));
	json_object_object_add(m, "signal", json_object_new_int(a->signal));
	json_object_object_add(m, "signal_name", json_object_new_string(sig));
	json_object_object_add(m, "time", json_object_new_int64(a->time));
	json_object_object_add(m, "hostname", a->hostname ? ll_json_str(a->hostname) : NULL);
	json_object_object_add(m, "comm", a->comm ? ll_json_str(a->comm) : NULL);
	json_object_object_add(m, "core_rlimit", a->core_limit == UINT64_MAX
			       ? json_object_new_string("unlimited")
			       : json_object_new_int64((int64_t)a->core_limit));
	json_object_object_add(m, "dump_mode", a->dump_mode >= 0 ? json_object_new_int(a->dump_mode) : NULL);
	return m;
}

/* Claim an id: base, base.1, base.2, ... whose record and core are free. */
static int claim(int storefd, const char *base, json_object *meta, uid_t share,
		 char *id, size_t idsz)
{
	for (int n = 0; n < 1000; n++) {
		char json[300], zst[300];
		int r;

		int len = n == 0 ? snprintf(id, idsz, "%s", base)
				 : snprintf(id, idsz, "%s.%d", base, n);

		if (len < 0 || (size_t)len >= idsz)
			return -ENAMETOOLONG;
		snprintf(json, sizeof(json), "%s.json", id);
		snprintf(zst, sizeof(zst), "%s.zst", id);
		if (exists(storefd, json) || exists(storefd, zst))
			continue;
		json_object_object_add(meta, "id", json_object_new_string(id));
		r = ll_cd_record_write(storefd, id, meta, true, share);
		if (r == -EEXIST)
			continue;
		return r;
	}
	return -EEXIST;
}

/* Why this core is not stored at all, or NULL. */
static const char *refuse(int storefd, const struct ll_coredump_config *cfg,
			  const struct ll_crash_args *a, const char *id, char *buf, size_t size)
{
	uint64_t used = 0, avail = 0;
	unsigned n_exe = 0, n_uid = 0;

	if (!cfg->storage)
		return "storage-none (Storage=none in the configuration)";
	if (a->core_limit == 0)
		return "rlimit-core (the process's RLIMIT_CORE is 0)";
	if (cfg->rate_limit_interval && (cfg->rate_limit_burst || cfg->rate_limit_user_burst))
		count_recent(storefd, id, a->time, cfg->rate_limit_interval, &n_exe, &n_uid);
	if (cfg->rate_limit_burst && n_exe >= cfg->rate_limit_burst) {
		snprintf(buf, size, "rate-limit (%u crashes of this executable in %u s; RateLimitBurst=%u)",
			 n_exe, cfg->rate_limit_interval, cfg->rate_limit_burst);
		return buf;
	}
	if (cfg->rate_limit_user_burst && n_uid >= cfg->rate_limit_user_burst) {
		snprintf(buf, size, "rate-limit (%u crashes of uid %u in %u s; RateLimitUserBurst=%u)",
			 n_uid, (unsigned)a->uid, cfg->rate_limit_interval, cfg->rate_limit_user_burst);
		return buf;
	}
	if (ll_cd_store_usage(storefd, &used, &avail) == 0 &&
	    cfg->max_use != UINT64_MAX && used >= cfg->max_use) {
		/* Fair share (gc.c); KeepFree deletes nobody's cores: refused below. */
		struct ll_store_vacuum_opts vo = { .crash_uid = a->uid };

		ll_store_vacuum(storefd, cfg, &vo, NULL);
		ll_cd_store_usage(storefd, &used, &avail);
	}
	if (avail < cfg->keep_free) {
		snprintf(buf, size, "keep-free (%llu bytes free, KeepFree=%llu: the core is refused "
			 "rather than other users' cores deleted)",
			 (unsigned long long)avail, (unsigned long long)cfg->keep_free);
		return buf;
	}
	if (cfg->max_use != UINT64_MAX && used >= cfg->max_use) {
		snprintf(buf, size, "max-use (the store holds %llu bytes, MaxUse=%llu)",
			 (unsigned long long)used, (unsigned long long)cfg->max_use);
		return buf;
	}
	return NULL;
}

static const char *const proc_keys[] = {
	"exe", "cmdline", "cmdline_truncated", "cwd", "cgroup", "rlimits", "process_start_time",
	"maps", "maps_truncated",
};

int ll_coredump_receive(int storefd, const struct ll_coredump_config *cfg,
			const struct ll_crash_args *a, int in_fd,
			struct ll_coredump_result *res)
{
	char base[256], why[192] = "", core_name[300] = "";
	const char *not_stored;
	struct ll_cd_proc_files files;
	struct ll_cd_proc proc;
	json_object *meta;
	bool rate_limited;
	int lockfd;
	uid_t share;
	int r;

	memset(res, 0, sizeof(*res));
	ll_cd_make_id(a, base, sizeof(base));
	ll_cd_proc_open(a, &proc);
	meta = base_record(a);
	ll_cd_proc_identity(&proc, meta);
	share = proc.dumpable && a->uid != 0 ? a->uid : (uid_t)-1;
	if (share != (uid_t)-1 && !ll_cd_acl_supported(storefd)) {
		share = (uid_t)-1;
		json_object_object_add(meta, "access_note",
				       json_object_new_string("the store's filesystem has no POSIX ACLs: "
							      "root only"));
	}
	json_object_object_add(meta, "readable_by_uid", json_object_new_boolean(share != (uid_t)-1));
	/* Every key of the schema from the start (the claimed record too). */
	for (size_t i = 0; i < sizeof(proc_keys) / sizeof(proc_keys[0]); i++)
		json_object_object_add(meta, proc_keys[i], NULL);

	/* Helpers run concurrently (core_pipe_limit): the rate-limit count and
	 * the claim of an id happen under an exclusive lock on the store. The
	 * record is claimed before the rest of /proc is read: should that
	 * hang (a page of the cmdline on a dead FUSE mount) and the helper be
	 * killed by its time limit, the crash still has its record. */
	lockfd = lock_store(storefd);
	not_stored = refuse(storefd, cfg, a, base, why, sizeof(why));
	json_object_object_add(meta, "core", ll_cd_core_object(res, NULL, NULL,
							       not_stored ? not_stored : "in-progress (the helper is reading "
							       "/proc or writing the core; a helper killed by its time limit "
							       "leaves this)"));
	r = claim(storefd, base, meta, share, res->id, sizeof(res->id));
	if (r == -ENOSPC || r == -EDQUOT) {
		/* Not even room for the record: free some, from this user's
		 * own cores only (oldest first). */
		struct ll_store_vacuum_opts vo = { .crash_uid = a->uid, .reserve = 4u << 20, .keep_free = true };

		ll_store_vacuum(storefd, cfg, &vo, NULL);
		r = claim(storefd, base, meta, share, res->id, sizeof(res->id));
	}
	if (lockfd >= 0)
		close(lockfd); /* releases the lock */
	if (r < 0) {
		ll_store_log(storefd, "pid %d: could not write a metadata record: %s", (int)a->pid,
			     strerror(-r));
		res->id[0] = '\0';
		ll_cd_proc_close(&proc);
		goto out;
	}
	/* A rate-limited crash keeps a small record: in a storm, 65,000
	 * mappings a crash would fill the disk the limit protects. */
	rate_limited = not_stored && !strncmp(not_stored, "rate-limit", 10);
	if (rate_limited)
		json_object_object_add(meta, "maps_skipped",
				       json_object_new_string("rate-limited: maps not recorded"));
	/* Root opens; the capture stage, without privileges, parses, compresses
	 * and writes into what was opened (capture.c). */
	ll_cd_proc_gather(&proc, &files, !rate_limited);
	ll_cd_proc_close(&proc);
	if (not_stored && not_stored != why)
		snprintf(why, sizeof(why), "%s", not_stored);
	r = ll_cd_capture(storefd, cfg, a, in_fd, &files, meta, !rate_limited, not_stored ? why : NULL,
			  share, res, core_name, sizeof(core_name), why, sizeof(why));
	ll_cd_proc_files_close(&files);
	if (r < 0)
		ll_store_log(storefd, "pid %d (%s): record not written: %s", (int)a->pid, res->id,
			     strerror(-r));
	if (!res->stored && !res->reason[0] &&
	    snprintf(res->reason, sizeof(res->reason), "%s", why) >= (int)sizeof(res->reason))
		res->reason[sizeof(res->reason) - 1] = '\0';
	ll_store_log(storefd, "pid %d (%s) signal %d: %s %s%s%s", (int)a->pid, res->id, a->signal,
		     res->stored ? "stored" : "NOT stored", res->truncated ? "truncated " : "",
		     res->reason[0] ? "reason: " : "", res->reason);
	/* MaxUse at once, not at the next crash: fair share (gc.c), this
	 * user's oldest cores first while it holds more than its share (this
	 * one last; its record then says so). */
	if (res->stored && cfg->max_use != UINT64_MAX) {
		uint64_t used = 0, avail = 0;

		if (ll_cd_store_usage(storefd, &used, &avail) == 0 && used > cfg->max_use) {
			struct ll_store_vacuum_opts vo = { .crash_uid = a->uid };
			int lk = lock_store(storefd);

			ll_store_vacuum(storefd, cfg, &vo, NULL);
			if (lk >= 0)
				close(lk);
		}
	}
out:
	if (in_fd >= 0)
		close(in_fd);
	json_object_put(meta);
	return r;
}
