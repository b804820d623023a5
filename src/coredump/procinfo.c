/* procinfo.c: what the helper learns about the crashing process from /proc.
 *
 * Race-free identity first: with %F the kernel hands us a pidfd. Its fdinfo
 * "Pid:" line must name %P; /proc/%P is then opened as a directory fd and
 * the pidfd must still be alive afterwards (pidfd_send_signal(fd, 0)): the
 * process cannot have been replaced by a reused pid in between, since a pid
 * is not reused while its process lives (it is dumping, not yet reaped).
 * Without %F: /proc/%P, accepted only when its start time is not later than
 * the crash time %t and it is dumping a core ("CoreDumping: 1"). Every later
 * read is relative to that directory fd.
 *
 * Everything the process controls is read bounded (a prefix of cmdline and
 * maps, a capped number of mappings); its paths are text, never opened: a
 * mapped file is reached only through map_files/ (the kernel's link to the
 * mapped file, not a lookup in the process's mount namespace), regular files
 * only, none on its FUSE mounts, and read with bounded pread()s (buildid.c).
 *
 * Dumpable: %d (the kernel's dump mode) when given, and in every case the
 * uid/gid sets must be uniform and AT_SECURE clear (what systemd checks since
 * CVE-2022-4415): a set-uid/set-gid or capability-raised process's core stays
 * root-only. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"
#include "lifeline/inspect/maps.h"

#define PROC_TEXT_MAX (1u << 20)
#define MAX_BUILD_IDS 512
#define CMDLINE_MAX (128u << 10)   /* a process can make its cmdline megabytes long */
#define MAPS_TEXT_MAX (1u << 20)   /* ... and its maps 65,000 lines of 4 KiB paths */
#define MAPS_RECORDED_MAX 8192     /* mappings kept in the record (bounds the JSON) */
#define MOUNTINFO_MAX (1u << 20)
#define MAX_FUSE_DEVS 256

/* Read at most max bytes of <dirfd>/name: a prefix, never the whole of what
 * the process can make arbitrarily large. *truncated: there was more. */
static int read_prefix(int dirfd, const char *name, size_t max, char **out, size_t *len,
		       bool *truncated)
{
	return ll_read_prefix_at(dirfd, name, O_NOFOLLOW, max, out, len, truncated);
}

static int fdinfo_pid(int fd, pid_t *pid)
{
	char path[64], *text = NULL, *p;
	int r;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	r = ll_read_file(path, 64 * 1024, &text, NULL);
	if (r < 0)
		return r;
	p = strstr(text, "\nPid:");
	r = -ENOTSUP;
	if (p) {
		long v = strtol(p + 5, NULL, 10);

		*pid = (pid_t)v;
		r = 0;
	}
	free(text);
	return r;
}

/* Start time of the process in clock ticks since boot (stat field 22). */
static int stat_starttime(int dirfd, unsigned long long *ticks)
{
	char *text = NULL, *p;
	int r;

	r = ll_read_file_at(dirfd, "stat", 64 * 1024, &text, NULL);
	if (r < 0)
		return r;
	p = strrchr(text, ')');
	r = -EINVAL;
	if (p) {
		/* after ')': field 3 (state) ... field 22 (starttime) */
		p++;
		for (int field = 3; field <= 22 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
			if (field == 22 && p) {
				*ticks = strtoull(p, NULL, 10);
				r = 0;
				break;
			}
		}
	}
	free(text);
	return r;
}

static int boot_time(long long *btime)
{
	char *text = NULL, *p;
	int r;

	r = ll_read_file("/proc/stat", PROC_TEXT_MAX, &text, NULL);
	if (r < 0)
		return r;
	p = strstr(text, "\nbtime ");
	r = -EINVAL;
	if (p) {
		*btime = strtoll(p + 7, NULL, 10);
		r = 0;
	}
	free(text);
	return r;
}

/* Start time of the process, seconds since the epoch. /proc/stat's btime is
 * whole seconds (the fraction cut off), which would put the start up to a
 * second early, and a file written just before the exec would look written
 * after it ("modified in place"): the boot time is taken from the clocks
 * instead (realtime - boottime), exact to the clock tick of starttime. */
static int start_time(int dirfd, double *epoch)
{
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec rt, bt;
	long long btime;
	int r;

	r = stat_starttime(dirfd, &ticks);
	if (r < 0)
		return r;
	if (clock_gettime(CLOCK_REALTIME, &rt) == 0 && clock_gettime(CLOCK_BOOTTIME, &bt) == 0) {
		double boot = ((double)rt.tv_sec + (double)rt.tv_nsec / 1e9) -
			      ((double)bt.tv_sec + (double)bt.tv_nsec / 1e9);

		*epoch = boot + (double)ticks / (double)(hz > 0 ? hz : 100);
		return 0;
	}
	r = boot_time(&btime);
	if (r == 0)
		*epoch = (double)btime + (double)ticks / (double)(hz > 0 ? hz : 100);
	return r;
}

/* All four ids of a "Uid:" or "Gid:" line equal? */
static bool ids_uniform(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	unsigned long v[4];

	if (!p)
		return false;
	if (sscanf(p + strlen(key), "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return false;
	return v[0] == v[1] && v[1] == v[2] && v[2] == v[3];
}

static bool at_secure(int dirfd)
{
	char *buf = NULL;
	size_t len = 0;
	bool secure = true; /* unreadable: assume the worst */

	if (ll_read_file_at(dirfd, "auxv", 64 * 1024, &buf, &len) < 0)
		return true;
	for (size_t i = 0; i + 2 * sizeof(uint64_t) <= len; i += 2 * sizeof(uint64_t)) {
		uint64_t type, val;

		memcpy(&type, buf + i, sizeof(type));
		memcpy(&val, buf + i + sizeof(type), sizeof(val));
		if (type == AT_SECURE) {
			secure = val != 0;
			break;
		}
		if (type == AT_NULL) {
			secure = false; /* no AT_SECURE entry at all */
			break;
		}
	}
	free(buf);
	return secure;
}

/* "CoreDumping: 1" in status (kernel >= 4.15). */
static bool core_dumping(int dirfd)
{
	char *status = NULL, *p;
	bool yes = false;

	if (ll_read_file_at(dirfd, "status", PROC_TEXT_MAX, &status, NULL) < 0)
		return false;
	p = strstr(status, "\nCoreDumping:");
	if (p)
		yes = strtol(p + 13, NULL, 10) == 1;
	free(status);
	return yes;
}

static bool decide_dumpable(const struct ll_crash_args *a, int dirfd)
{
	char *status = NULL;
	bool ok;

	if (a->dump_mode >= 0 && a->dump_mode != 1)
		return false;
	if (dirfd < 0)
		return false;
	if (ll_read_file_at(dirfd, "status", PROC_TEXT_MAX, &status, NULL) < 0)
		return false;
	ok = ids_uniform(status, "\nUid:") && ids_uniform(status, "\nGid:");
	free(status);
	if (ok && a->dump_mode < 0) {
		struct stat st;

		/* The kernel makes /proc/PID root-owned for an undumpable task. */
		if (fstat(dirfd, &st) < 0 || st.st_uid != a->uid)
			ok = false;
	}
	return ok && !at_secure(dirfd);
}

void ll_cd_proc_open(const struct ll_crash_args *a, struct ll_cd_proc *p)
{
	char path[64];
	int dirfd = -1;

	memset(p, 0, sizeof(*p));
	p->dirfd = -1;
	snprintf(path, sizeof(path), "/proc/%d", (int)a->pid);
	if (a->pidfd >= 0) {
		pid_t fpid = 0;
		int r = fdinfo_pid(a->pidfd, &fpid);

		if (r < 0) {
			snprintf(p->why, sizeof(p->why), "fd %d is not a pidfd (%s)", a->pidfd,
				 strerror(-r));
			goto out;
		}
		if (fpid != a->pid) {
			snprintf(p->why, sizeof(p->why), "the pidfd names pid %d, not %d",
				 (int)fpid, (int)a->pid);
			goto out;
		}
		dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			snprintf(p->why, sizeof(p->why), "%s: %s", path, strerror(errno));
			goto out;
		}
		if (syscall(SYS_pidfd_send_signal, a->pidfd, 0, NULL, 0) < 0) {
			snprintf(p->why, sizeof(p->why), "the process exited before /proc was read (%s)",
				 strerror(errno));
			close(dirfd);
			dirfd = -1;
			goto out;
		}
		p->via_pidfd = true;
	} else {
		double st;

		dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			snprintf(p->why, sizeof(p->why), "%s: %s", path, strerror(errno));
			goto out;
		}
		if (start_time(dirfd, &st) < 0 || st > (double)a->time + 1.0) {
			snprintf(p->why, sizeof(p->why),
				 "%s started after the crash time: the pid was reused", path);
			close(dirfd);
			dirfd = -1;
			goto out;
		}
		/* A start time in the same second is no proof (CVE-2025-4598):
		 * the process we were started for is dumping its core until we
		 * have read it (and, with core_pipe_limit, until we exit), so
		 * its pid cannot be reused meanwhile; a process that is not
		 * dumping is somebody else. The dirfd pins what it names. */
		if (!core_dumping(dirfd)) {
			snprintf(p->why, sizeof(p->why),
				 "pid %d is not dumping a core: its pid was reused (no %%F pidfd)",
				 (int)a->pid);
			close(dirfd);
			dirfd = -1;
			goto out;
		}
	}
out:
	p->dirfd = dirfd;
	p->dumpable = decide_dumpable(a, dirfd);
}

void ll_cd_proc_close(struct ll_cd_proc *p)
{
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->dirfd = -1;
}

static json_object *read_link(int dirfd, const char *name)
{
	char buf[4096];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf));

	if (n < 0)
		return NULL;
	return ll_cd_json_str(buf, n);
}

static json_object *read_cmdline(int dirfd, bool *truncated)
{
	char *buf = NULL;
	size_t len = 0;
	json_object *arr;

	if (read_prefix(dirfd, "cmdline", CMDLINE_MAX, &buf, &len, truncated) < 0)
		return NULL;
	arr = json_object_new_array();
	for (size_t i = 0; i < len;) {
		size_t l = strnlen(buf + i, len - i);

		json_object_array_add(arr, ll_cd_json_str(buf + i, (ssize_t)l));
		i += l + 1;
	}
	free(buf);
	return arr;
}

static json_object *read_text(int dirfd, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	json_object *j;

	if (ll_read_file_at(dirfd, name, 64 * 1024, &buf, &len) < 0)
		return NULL;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	j = ll_cd_json_str(buf, (ssize_t)len);
	free(buf);
	return j;
}

static const char *const rlimit_names[] = {
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
};

static json_object *limit_value(const char *tok)
{
	if (!strcmp(tok, "unlimited"))
		return json_object_new_string("unlimited");
	return json_object_new_int64((int64_t)strtoull(tok, NULL, 10));
}

/* /proc/PID/limits: a header, then one line per RLIMIT_* in index order;
 * the name column is 26 characters wide. */
static json_object *read_limits(int dirfd)
{
	char *buf = NULL, *line, *save = NULL;
	json_object *o;
	int idx = -1;

	if (ll_read_file_at(dirfd, "limits", 64 * 1024, &buf, NULL) < 0)
		return NULL;
	o = json_object_new_object();
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char soft[32], hard[32];

		if (idx++ < 0 || (size_t)idx > LL_ARRAY_SIZE(rlimit_names) || strlen(line) < 26)
			continue;
		if (sscanf(line + 25, "%31s %31s", soft, hard) != 2)
			continue;
		json_object *l = json_object_new_object();

		json_object_object_add(l, "soft", limit_value(soft));
		json_object_object_add(l, "hard", limit_value(hard));
		json_object_object_add(o, rlimit_names[idx - 1], l);
	}
	free(buf);
	return o;
}

static json_object *hexstr(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static double ts(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

struct bid_cache {
	dev_t dev[MAX_BUILD_IDS];
	ino_t ino[MAX_BUILD_IDS];
	char *hex[MAX_BUILD_IDS];
	size_t n;
};

/* Build-id of a mapped file, read through map_files (the kernel's link to the
 * very file mapped, never a path looked up in the process's mount
 * namespace); regular files only, bounded reads (buildid.c). NULL when none. */
static const char *build_id_of(int dirfd, const char *mf, const struct stat *st,
			       struct bid_cache *c)
{
	struct stat fst;
	char *hex = NULL;
	int fd;

	for (size_t i = 0; i < c->n; i++)
		if (c->dev[i] == st->st_dev && c->ino[i] == st->st_ino)
			return c->hex[i];
	if (c->n == MAX_BUILD_IDS || !S_ISREG(st->st_mode))
		return NULL;
	fd = openat(dirfd, mf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		/* What was opened must be what was stat'ed: a regular file. */
		if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_dev == st->st_dev &&
		    fst.st_ino == st->st_ino)
			hex = ll_cd_build_id_fd(fd);
		close(fd);
	}
	c->dev[c->n] = st->st_dev;
	c->ino[c->n] = st->st_ino;
	c->hex[c->n++] = hex;
	return hex;
}

/* Devices of the process's FUSE mounts (from its own mountinfo): a file
 * there is served by a user-space daemon the crashing user may control, which
 * can make any stat() or read() of it block forever; the helper never
 * touches such files. */
struct fuse_devs {
	unsigned major[MAX_FUSE_DEVS], minor[MAX_FUSE_DEVS];
	size_t n;
	bool unknown;          /* mountinfo unreadable: treat every anonymous device as FUSE */
};

static void read_fuse_devs(int dirfd, struct fuse_devs *f)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;
	bool trunc;

	memset(f, 0, sizeof(*f));
	if (read_prefix(dirfd, "mountinfo", MOUNTINFO_MAX, &text, &len, &trunc) < 0 || trunc) {
		f->unknown = true;
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2)
			continue;
		if (strncmp(sep + 3, "fuse", 4))
			continue;
		if (f->n == MAX_FUSE_DEVS) {
			f->unknown = true;
			break;
		}
		f->major[f->n] = maj;
		f->minor[f->n++] = min;
	}
	free(text);
}

static bool on_fuse(const struct fuse_devs *f, unsigned maj, unsigned min)
{
	if (f->unknown && maj == 0)
		return true;
	for (size_t i = 0; i < f->n; i++)
		if (f->major[i] == maj && f->minor[i] == min)
			return true;
	return false;
}

/* The maps, bounded: a prefix of MAPS_TEXT_MAX bytes and MAPS_RECORDED_MAX
 * entries at most (*truncated then). */
static json_object *read_maps(int dirfd, bool *truncated, char *why, size_t whylen)
{
	struct ll_maps *maps = NULL;
	struct bid_cache *cache;
	struct fuse_devs *fuse;
	json_object *arr;
	char *text = NULL;
	size_t len = 0;
	int r;

	r = read_prefix(dirfd, "maps", MAPS_TEXT_MAX, &text, &len, truncated);
	if (r == 0 && *truncated) {
		/* Parse whole lines only. */
		while (len > 0 && text[len - 1] != '\n')
			len--;
	}
	if (r == 0)
		r = ll_maps_parse(text, len, 0, &maps);
	free(text);
	if (r < 0) {
		snprintf(why, whylen, "maps: %s", strerror(-r));
		return NULL;
	}
	cache = calloc(1, sizeof(*cache));
	fuse = calloc(1, sizeof(*fuse));
	if (fuse)
		read_fuse_devs(dirfd, fuse);
	arr = json_object_new_array();
	for (size_t i = 0; i < maps->n; i++) {
		const struct ll_map *m = &maps->v[i];
		json_object *o, *file = NULL;
		char perms[5], dev[32], mf[80];
		struct stat st;

		if (i == MAPS_RECORDED_MAX) {
			*truncated = true;
			break;
		}
		o = json_object_new_object();
		perms[0] = m->perms & LL_PERM_READ ? 'r' : '-';
		perms[1] = m->perms & LL_PERM_WRITE ? 'w' : '-';
		perms[2] = m->perms & LL_PERM_EXEC ? 'x' : '-';
		perms[3] = m->perms & LL_PERM_SHARED ? 's' : 'p';
		perms[4] = '\0';
		snprintf(dev, sizeof(dev), "%02x:%02x", m->dev_major, m->dev_minor);
		json_object_object_add(o, "start", hexstr(m->start));
		json_object_object_add(o, "end", hexstr(m->end));
		json_object_object_add(o, "offset", hexstr(m->offset));
		json_object_object_add(o, "perms", json_object_new_string(perms));
		json_object_object_add(o, "dev", json_object_new_string(dev));
		json_object_object_add(o, "inode", json_object_new_int64((int64_t)m->inode));
		json_object_object_add(o, "path", m->path ? ll_cd_json_str(m->path, -1) : NULL);
		json_object_object_add(o, "deleted", json_object_new_boolean(m->deleted));
		snprintf(mf, sizeof(mf), "map_files/%" PRIx64 "-%" PRIx64, m->start, m->end);
		if (m->inode && (!fuse || on_fuse(fuse, m->dev_major, m->dev_minor))) {
			json_object_object_add(o, "file_skipped",
					       json_object_new_string("on a FUSE filesystem: not touched"));
		} else if (m->inode && fstatat(dirfd, mf, &st, 0) == 0) {
			const char *bid = cache ? build_id_of(dirfd, mf, &st, cache) : NULL;

			file = json_object_new_object();
			json_object_object_add(file, "inode", json_object_new_int64((int64_t)st.st_ino));
			json_object_object_add(file, "size", json_object_new_int64((int64_t)st.st_size));
			json_object_object_add(file, "mtime", json_object_new_double(ts(&st.st_mtim)));
			json_object_object_add(file, "ctime", json_object_new_double(ts(&st.st_ctim)));
			json_object_object_add(file, "build_id", bid ? json_object_new_string(bid) : NULL);
		}
		json_object_object_add(o, "file", file);
		json_object_array_add(arr, o);
	}
	if (cache) {
		for (size_t i = 0; i < cache->n; i++)
			free(cache->hex[i]);
		free(cache);
	}
	free(fuse);
	ll_maps_free(maps);
	return arr;
}

void ll_cd_proc_identity(const struct ll_cd_proc *p, json_object *meta)
{
	json_object_object_add(meta, "pidfd", json_object_new_boolean(p->via_pidfd));
	json_object_object_add(meta, "dumpable", json_object_new_boolean(p->dumpable));
	json_object_object_add(meta, "proc_error", p->why[0] ? json_object_new_string(p->why) : NULL);
}

void ll_cd_proc_describe(const struct ll_cd_proc *p, json_object *meta, bool with_maps)
{
	int d = p->dirfd;
	double start;
	char why[160] = "";
	bool cmd_trunc = false, maps_trunc = false;

	json_object_object_add(meta, "exe", d >= 0 ? read_link(d, "exe") : NULL);
	json_object_object_add(meta, "cmdline", d >= 0 ? read_cmdline(d, &cmd_trunc) : NULL);
	json_object_object_add(meta, "cmdline_truncated", json_object_new_boolean(cmd_trunc));
	json_object_object_add(meta, "cwd", d >= 0 ? read_link(d, "cwd") : NULL);
	json_object_object_add(meta, "cgroup", d >= 0 ? read_text(d, "cgroup") : NULL);
	json_object_object_add(meta, "rlimits", d >= 0 ? read_limits(d) : NULL);
	json_object_object_add(meta, "process_start_time",
			       d >= 0 && start_time(d, &start) == 0 ? json_object_new_double(start) : NULL);
	json_object_object_add(meta, "maps", d >= 0 && with_maps ? read_maps(d, &maps_trunc, why, sizeof(why))
							   : NULL);
	json_object_object_add(meta, "maps_truncated", json_object_new_boolean(maps_trunc));
	if (why[0] && !p->why[0])
		json_object_object_add(meta, "proc_error", json_object_new_string(why));
}

bool ll_cd_proc_dumpable_at(const struct ll_crash_args *a, int dirfd, bool *dumping)
{
	*dumping = core_dumping(dirfd);
	return decide_dumpable(a, dirfd);
}
