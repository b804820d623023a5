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
 * Two halves (privilege separation, helper.c): running as root,
 * ll_cd_proc_open() and ll_cd_proc_gather() only open: the /proc/PID files
 * the capture stage will read (cmdline, maps, cgroup, limits, stat; exe and
 * cwd are readlink()ed), and each entry of map_files/ (the kernel's link to
 * the very file mapped, not a path looked up in the process's mount
 * namespace) with O_PATH, whose filesystem is checked before anything else
 * touches it (its mount id in the helper's own mount table, which asks the
 * filesystem nothing, then fstatfs()): files on FUSE (a daemon the crashing
 * user may run) or on a network filesystem are never read, whatever the
 * process's own mountinfo says (a lazy unmount hides a mount from it). A regular file elsewhere gets
 * one read descriptor per distinct file. Then ll_cd_proc_describe(), in the
 * unprivileged capture stage, parses all of it: everything the process
 * controls is read bounded (a prefix of cmdline and maps, a capped number of
 * mappings), its paths are text, and a mapped file is read with bounded
 * pread()s (buildid.c) under a deadline.
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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/escape.h"
#include "coredump/internal.h"
#include "lifeline/inspect/maps.h"

#define PROC_TEXT_MAX (1u << 20)
#define MAX_BUILD_IDS 512
#define CMDLINE_MAX (128u << 10)   /* a process can make its cmdline megabytes long */
#define MAPS_TEXT_MAX (1u << 20)   /* ... and its maps 65,000 lines of 4 KiB paths */
#define MAPS_RECORDED_MAX 8192     /* mappings kept in the record (bounds the JSON) */
#define READ_DEADLINE_MS 2000       /* for the build-id of one mapped file */

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

/* Start time of the process in clock ticks since boot (stat field 22 of
 * the text of /proc/PID/stat). */
static int parse_starttime(const char *text, unsigned long long *ticks)
{
	const char *p = strrchr(text, ')');

	if (!p)
		return -EINVAL;
	/* after ')': field 3 (state) ... field 22 (starttime) */
	p++;
	for (int field = 3; field <= 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
		if (field == 22 && p) {
			*ticks = strtoull(p, NULL, 10);
			return 0;
		}
	}
	return -EINVAL;
}

static int stat_starttime(int dirfd, unsigned long long *ticks)
{
	char *text = NULL;
	int r;

	r = ll_read_file_at(dirfd, "stat", 64 * 1024, &text, NULL);
	if (r == 0)
		r = parse_starttime(text, ticks);
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
/* Start time of the process, seconds since the epoch. /proc/stat's btime is
 * whole seconds (the fraction cut off), which would put the start up to a
 * second early, and a file written just before the exec would look written
 * after it ("modified in place"): the boot time is taken from the clocks
 * instead (realtime - boottime), exact to the clock tick of starttime. */
static int ticks_to_epoch(unsigned long long ticks, double *epoch)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec rt, bt;
	long long btime;
	int r;

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

static int start_time(int dirfd, double *epoch)
{
	unsigned long long ticks = 0;
	int r = stat_starttime(dirfd, &ticks);

	return r < 0 ? r : ticks_to_epoch(ticks, epoch);
}

/* The same from an open /proc/PID/stat (the capture stage). */
static int start_time_fd(int fd, double *epoch)
{
	unsigned long long ticks = 0;
	char *text = NULL;
	int r = ll_read_prefix_fd(fd, 64 * 1024, &text, NULL, NULL);

	if (r == 0)
		r = parse_starttime(text, &ticks);
	free(text);
	return r < 0 ? r : ticks_to_epoch(ticks, epoch);
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


/* ---- privileged: open what the capture stage will read ------------------ */

/* Filesystems whose files the helper never reads: a daemon the crashing user
 * may control (FUSE) or a server that may never answer (network). */
static const char *remote_fs(long type)
{
	switch ((unsigned long)type) {
	case 0x65735546: /* FUSE_SUPER_MAGIC */
	case 0x65735543: /* FUSE_CTL_SUPER_MAGIC */
		return "on a FUSE filesystem: not read";
	case 0x6969:     /* NFS */
	case 0x517b:     /* SMB */
	case 0xff534d42: /* CIFS */
	case 0xfe534d42: /* SMB2 */
	case 0x73757245: /* CODA */
	case 0x5346414f: /* AFS */
	case 0x6b414653: /* AFS_FS */
	case 0x01021997: /* 9P */
	case 0x00c36400: /* CEPH */
	case 0x564c:     /* NCP */
	case 0x7461636f: /* OCFS2 */
	case 0x01161970: /* GFS2 */
	case 0x13661366: /* ORANGEFS */
	case 0x0bd00bd0: /* LUSTRE */
		return "on a network filesystem: not read";
	default:
		return NULL;
	}
}

/* The helper's own mount table (the initial mount namespace, where the
 * kernel starts it): mount id -> is it FUSE or a network filesystem. Read
 * once, never the crashing process's (a lazy unmount hides a mount from it,
 * and its namespace is its own). */
struct own_mounts {
	int *remote;           /* mount ids of FUSE/network mounts */
	size_t n;
	bool unknown;          /* unreadable: every mount is suspect */
};

static bool remote_type(const char *t)
{
	static const char *const prefixes[] = {
		"fuse", "nfs", "cifs", "smb", "ceph", "9p", "afs", "coda", "glusterfs", "lustre",
		"ocfs2", "gfs2", "orangefs", "ncp", "sshfs",
	};

	for (size_t i = 0; i < LL_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(t, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static void read_own_mounts(struct own_mounts *m)
{
	char *text = NULL, *line, *save = NULL;
	size_t cap = 0;
	bool trunc = false;

	memset(m, 0, sizeof(*m));
	if (ll_read_prefix_at(AT_FDCWD, "/proc/self/mountinfo", 0, 4u << 20, &text, NULL, &trunc) < 0 ||
	    trunc) {
		m->unknown = true;
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *sep = strstr(line, " - ");
		char type[64];
		int id;

		if (!sep || sscanf(line, "%d", &id) != 1 || sscanf(sep + 3, "%63s", type) != 1 ||
		    !remote_type(type))
			continue;
		if (m->n == cap) {
			int *nr = realloc(m->remote, (cap ? cap * 2 : 16) * sizeof(*nr));

			if (!nr) {
				m->unknown = true;
				break;
			}
			m->remote = nr;
			cap = cap ? cap * 2 : 16;
		}
		m->remote[m->n++] = id;
	}
	free(text);
}

/* Is the file open on fd on a FUSE or network mount of our namespace? Its
 * mount id comes from /proc/self/fdinfo (procfs: nothing is asked of the
 * filesystem, whose daemon may never answer, as fstatfs() would ask a FUSE
 * daemon of a mount that lets root in). */
static bool on_own_remote_mount(const struct own_mounts *m, int fd)
{
	char path[64], *text = NULL, *p;
	int id = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (ll_read_file(path, 64 * 1024, &text, NULL) < 0)
		return true;
	p = strstr(text, "mnt_id:");
	if (p)
		id = (int)strtol(p + 7, NULL, 10);
	free(text);
	if (id < 0 || m->unknown)
		return true;
	for (size_t i = 0; i < m->n; i++)
		if (m->remote[i] == id)
			return true;
	return false;
}

static int cmp_mapfile(const void *a, const void *b)
{
	const struct ll_cd_mapfile *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* One entry of map_files/: the mapped file itself (the kernel's link, opened
 * O_PATH: nothing of the file is opened yet), its filesystem checked with
 * fstatfs() before anything else touches it. A regular file gets a read
 * descriptor (one per distinct file, MAX_BUILD_IDS at most). */
static void gather_mapfile(int mfdir, const char *name, const struct own_mounts *mounts,
			   struct ll_cd_proc_files *f, struct ll_cd_mapfile *m)
{
	struct statfs sf;
	char proc[64];
	int pfd, fd;

	m->slot = -1;
	pfd = openat(mfdir, name, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return;
	/* First the mount table (asks no filesystem anything), then fstatfs()
	 * for mounts of other namespaces: FUSE answers it without its daemon
	 * for root, unless the mount lets root in, and such a mount of our
	 * namespace was caught by the first check. */
	if (on_own_remote_mount(mounts, pfd)) {
		m->skipped = "on a FUSE or network filesystem: not read";
		goto out;
	}
	if (fstatfs(pfd, &sf) < 0) {
		m->skipped = "filesystem unknown (fstatfs failed): not read";
		goto out;
	}
	m->skipped = remote_fs((long)sf.f_type);
	if (m->skipped || fstat(pfd, &m->st) < 0)
		goto out;
	m->stat_ok = true;
	if (!S_ISREG(m->st.st_mode))
		goto out;
	for (size_t i = 0; i < f->nfds; i++)
		if (f->fd_dev[i] == m->st.st_dev && f->fd_ino[i] == m->st.st_ino) {
			m->slot = (int)i;
			goto out;
		}
	if (f->nfds == MAX_BUILD_IDS)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		struct stat st;

		/* What was opened must be what was checked: a regular file. */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != m->st.st_dev ||
		    st.st_ino != m->st.st_ino) {
			close(fd);
			goto out;
		}
		f->fds[f->nfds] = fd;
		f->fd_dev[f->nfds] = st.st_dev;
		f->fd_ino[f->nfds] = st.st_ino;
		m->slot = (int)f->nfds++;
	}
out:
	close(pfd);
}

/* Mappings of one file share its check: within one process, two map_files
 * links with the same path that is not " (deleted)" name the same file (a
 * file replaced under its name shows the old one as deleted). So each entry
 * costs a readlinkat(); only a new path is opened and checked. */
#define SEEN_BUCKETS 4096

struct seen {
	char *path[SEEN_BUCKETS];
	size_t idx[SEEN_BUCKETS];
};

static size_t seen_slot(const struct seen *s, const char *path)
{
	size_t h = 14695981039346656037ull;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	for (size_t i = 0; i < SEEN_BUCKETS; i++) {
		size_t k = (h + i) & (SEEN_BUCKETS - 1);

		if (!s->path[k] || !strcmp(s->path[k], path))
			return k;
	}
	return SIZE_MAX;
}

static void gather_mapfiles(int procfd, struct ll_cd_proc_files *f)
{
	struct own_mounts mounts;
	struct seen *seen = calloc(1, sizeof(*seen));
	struct dirent *de;
	size_t cap = 0, nseen = 0;
	DIR *d = seen ? ll_opendir_at(procfd, "map_files", 0) : NULL;
	int fd;

	if (!d) {
		free(seen);
		return;
	}
	fd = dirfd(d);
	read_own_mounts(&mounts);
	f->fds = calloc(MAX_BUILD_IDS, sizeof(*f->fds));
	f->fd_dev = calloc(MAX_BUILD_IDS, sizeof(*f->fd_dev));
	f->fd_ino = calloc(MAX_BUILD_IDS, sizeof(*f->fd_ino));
	while (f->fds && f->fd_dev && f->fd_ino && (de = readdir(d)) && f->nmf < MAPS_RECORDED_MAX) {
		unsigned long long a, b;
		char link[4096];
		size_t k = SIZE_MAX;
		ssize_t n;
		int end = 0;

		if (sscanf(de->d_name, "%llx-%llx%n", &a, &b, &end) != 2 || de->d_name[end])
			continue;
		if (f->nmf == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct ll_cd_mapfile *nm = realloc(f->mf, nc * sizeof(*nm));

			if (!nm)
				break;
			f->mf = nm;
			cap = nc;
		}
		n = readlinkat(fd, de->d_name, link, sizeof(link) - 1);
		if (n > 0 && (size_t)n < sizeof(link) - 1) {
			link[n] = '\0';
			if (!strstr(link, " (deleted)"))
				k = seen_slot(seen, link);
		}
		if (k != SIZE_MAX && seen->path[k]) {
			f->mf[f->nmf] = f->mf[seen->idx[k]];
		} else {
			memset(&f->mf[f->nmf], 0, sizeof(f->mf[0]));
			gather_mapfile(fd, de->d_name, &mounts, f, &f->mf[f->nmf]);
			if (k != SIZE_MAX && nseen < SEEN_BUCKETS / 2 && (seen->path[k] = strdup(link))) {
				seen->idx[k] = f->nmf;
				nseen++;
			}
		}
		f->mf[f->nmf].start = a;
		f->mf[f->nmf].end = b;
		f->nmf++;
	}
	closedir(d);
	for (size_t i = 0; i < SEEN_BUCKETS; i++)
		free(seen->path[i]);
	free(seen);
	free(mounts.remote);
	if (f->nmf)
		qsort(f->mf, f->nmf, sizeof(*f->mf), cmp_mapfile);
}

static ssize_t read_link_into(int dirfd, const char *name, char *buf, size_t size)
{
	return readlinkat(dirfd, name, buf, size);
}

void ll_cd_proc_gather(const struct ll_cd_proc *p, struct ll_cd_proc_files *f, bool with_maps)
{
	int d = p->dirfd;
	const int fl = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;

	memset(f, 0, sizeof(*f));
	f->cmdline = f->cgroup = f->limits = f->stat = f->maps = -1;
	f->exe_len = f->cwd_len = -1;
	if (d < 0)
		return;
	f->have_proc = true;
	f->exe_len = read_link_into(d, "exe", f->exe, sizeof(f->exe));
	f->cwd_len = read_link_into(d, "cwd", f->cwd, sizeof(f->cwd));
	f->cmdline = openat(d, "cmdline", fl);
	f->cgroup = openat(d, "cgroup", fl);
	f->limits = openat(d, "limits", fl);
	f->stat = openat(d, "stat", fl);
	if (with_maps) {
		f->maps = openat(d, "maps", fl);
		gather_mapfiles(d, f);
	}
}

void ll_cd_proc_files_close(struct ll_cd_proc_files *f)
{
	int *fds[] = { &f->cmdline, &f->cgroup, &f->limits, &f->stat, &f->maps };

	for (size_t i = 0; i < LL_ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	for (size_t i = 0; i < f->nfds; i++)
		close(f->fds[i]);
	free(f->fds);
	free(f->fd_dev);
	free(f->fd_ino);
	free(f->mf);
	f->fds = NULL;
	f->fd_dev = NULL;
	f->fd_ino = NULL;
	f->mf = NULL;
	f->nfds = f->nmf = 0;
}

/* ---- unprivileged: parse what was opened -------------------------------- */

static json_object *read_cmdline(int fd, bool *truncated)
{
	char *buf = NULL;
	size_t len = 0;
	json_object *arr;

	if (fd < 0 || ll_read_prefix_fd(fd, CMDLINE_MAX, &buf, &len, truncated) < 0)
		return NULL;
	arr = json_object_new_array();
	for (size_t i = 0; i < len;) {
		size_t l = strnlen(buf + i, len - i);

		json_object_array_add(arr, ll_json_str_len(buf + i, l));
		i += l + 1;
	}
	free(buf);
	return arr;
}

static json_object *read_text(int fd)
{
	char *buf = NULL;
	size_t len = 0;
	json_object *j;

	if (fd < 0 || ll_read_prefix_fd(fd, 64 * 1024, &buf, &len, NULL) < 0)
		return NULL;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	j = ll_json_str_len(buf, len);
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
static json_object *read_limits(int fd)
{
	char *buf = NULL, *line, *save = NULL;
	json_object *o;
	int idx = -1;

	if (fd < 0 || ll_read_prefix_fd(fd, 64 * 1024, &buf, NULL, NULL) < 0)
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

static void on_deadline(int sig)
{
	(void)sig; /* only interrupts the read in progress (no SA_RESTART) */
}

/* The build-id of an open mapped file, read within READ_DEADLINE_MS: a
 * timer interrupts a read that hangs (a stalled device), and buildid.c gives
 * up on EINTR. */
static char *build_id_deadline(int fd)
{
	struct itimerval on = { .it_value = { READ_DEADLINE_MS / 1000, (READ_DEADLINE_MS % 1000) * 1000 } };
	struct itimerval off = { 0 };
	char *hex;

	setitimer(ITIMER_REAL, &on, NULL);
	hex = ll_cd_build_id_fd(fd);
	setitimer(ITIMER_REAL, &off, NULL);
	return hex;
}

static const struct ll_cd_mapfile *find_mapfile(const struct ll_cd_proc_files *f, uint64_t start,
						uint64_t end)
{
	struct ll_cd_mapfile key = { .start = start };
	const struct ll_cd_mapfile *m;

	if (!f->nmf)
		return NULL;
	m = bsearch(&key, f->mf, f->nmf, sizeof(*f->mf), cmp_mapfile);
	return m && m->end == end ? m : NULL;
}

/* The maps, bounded: a prefix of MAPS_TEXT_MAX bytes and MAPS_RECORDED_MAX
 * entries at most (*truncated then). Mapped files: what the privileged side
 * found through map_files/ (never a path of the process looked up). */
static json_object *read_maps(const struct ll_cd_proc_files *f, bool *truncated, char *why,
			      size_t whylen)
{
	struct ll_maps *maps = NULL;
	char **hexes = NULL;
	bool *done = NULL;
	json_object *arr;
	char *text = NULL;
	size_t len = 0;
	int r = -ENOENT;

	if (f->maps >= 0)
		r = ll_read_prefix_fd(f->maps, MAPS_TEXT_MAX, &text, &len, truncated);
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
	if (f->nfds) {
		hexes = calloc(f->nfds, sizeof(*hexes));
		done = calloc(f->nfds, sizeof(*done));
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < maps->n; i++) {
		const struct ll_map *m = &maps->v[i];
		const struct ll_cd_mapfile *mf;
		json_object *o, *file = NULL;
		char perms[5], dev[32];

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
		json_object_object_add(o, "path", m->path ? ll_json_str(m->path) : NULL);
		json_object_object_add(o, "deleted", json_object_new_boolean(m->deleted));
		mf = m->inode ? find_mapfile(f, m->start, m->end) : NULL;
		if (mf && mf->skipped) {
			json_object_object_add(o, "file_skipped", json_object_new_string(mf->skipped));
		} else if (mf && mf->stat_ok) {
			const char *bid = NULL;

			if (mf->slot >= 0 && (size_t)mf->slot < f->nfds && hexes && done) {
				if (!done[mf->slot]) {
					done[mf->slot] = true;
					hexes[mf->slot] = build_id_deadline(f->fds[mf->slot]);
				}
				bid = hexes[mf->slot];
			}
			file = json_object_new_object();
			json_object_object_add(file, "inode", json_object_new_int64((int64_t)mf->st.st_ino));
			json_object_object_add(file, "size", json_object_new_int64((int64_t)mf->st.st_size));
			json_object_object_add(file, "mtime", json_object_new_double(ts(&mf->st.st_mtim)));
			json_object_object_add(file, "ctime", json_object_new_double(ts(&mf->st.st_ctim)));
			json_object_object_add(file, "build_id", bid ? json_object_new_string(bid) : NULL);
		}
		json_object_object_add(o, "file", file);
		json_object_array_add(arr, o);
	}
	if (hexes)
		for (size_t i = 0; i < f->nfds; i++)
			free(hexes[i]);
	free(hexes);
	free(done);
	ll_maps_free(maps);
	return arr;
}

void ll_cd_proc_identity(const struct ll_cd_proc *p, json_object *meta)
{
	json_object_object_add(meta, "pidfd", json_object_new_boolean(p->via_pidfd));
	json_object_object_add(meta, "dumpable", json_object_new_boolean(p->dumpable));
	json_object_object_add(meta, "proc_error", p->why[0] ? json_object_new_string(p->why) : NULL);
}

void ll_cd_proc_describe(const struct ll_cd_proc_files *f, json_object *meta, bool with_maps,
			 bool proc_error_set)
{
	struct sigaction sa = { .sa_handler = on_deadline };
	bool cmd_trunc = false, maps_trunc = false, p = f->have_proc;
	char why[160] = "";
	double start;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	json_object_object_add(meta, "exe", p && f->exe_len >= 0 ? ll_json_str_len(f->exe, (size_t)f->exe_len) : NULL);
	json_object_object_add(meta, "cmdline", p ? read_cmdline(f->cmdline, &cmd_trunc) : NULL);
	json_object_object_add(meta, "cmdline_truncated", json_object_new_boolean(cmd_trunc));
	json_object_object_add(meta, "cwd", p && f->cwd_len >= 0 ? ll_json_str_len(f->cwd, (size_t)f->cwd_len) : NULL);
	json_object_object_add(meta, "cgroup", p ? read_text(f->cgroup) : NULL);
	json_object_object_add(meta, "rlimits", p ? read_limits(f->limits) : NULL);
	json_object_object_add(meta, "process_start_time",
			       p && f->stat >= 0 && start_time_fd(f->stat, &start) == 0
			       ? json_object_new_double(start) : NULL);
	json_object_object_add(meta, "maps", p && with_maps ? read_maps(f, &maps_trunc, why, sizeof(why))
							   : NULL);
	json_object_object_add(meta, "maps_truncated", json_object_new_boolean(maps_trunc));
	if (why[0] && !proc_error_set)
		json_object_object_add(meta, "proc_error", json_object_new_string(why));
}

bool ll_cd_proc_dumpable_at(const struct ll_crash_args *a, int dirfd, bool *dumping)
{
	*dumping = core_dumping(dirfd);
	return decide_dumpable(a, dirfd);
}
