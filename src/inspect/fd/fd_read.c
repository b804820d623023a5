/* fd_read.c: ll_fds_read(), one process's descriptors.
 *
 * How it works: /proc/PID is opened once as a directory; fd/ and fdinfo/
 * are opened relative to it. The numbers come from getdents64 over fd/
 * (ascending, one large buffer). For each descriptor, fdinfo/N gives flags
 * (close-on-exec among them), offset, mount id and inode, and readlinkat
 * the target, which tells most types ("socket:[ino]", "pipe:[ino]",
 * "anon_inode:[eventfd]", "/memfd:name"). Sockets and pipes need no
 * readlink once their file system's mount id is known (their names are
 * "socket:[ino]" and "pipe:[ino]"). Only file targets need an fstatat for
 * their mode, reused while consecutive descriptors name the same (mount,
 * inode). A descriptor whose fdinfo matches the previous one's (mount,
 * inode, offset, flags) and which kcmp(KCMP_FILE) shows to share its open
 * file description (dup, fork: servers hold thousands) takes its target and
 * type without a readlink (kcmp costs a quarter of it). Sockets are then
 * looked up in the namespace's socket table (socktab.c), read once. The
 * kernel's work per descriptor dominates (a few microseconds, most of it
 * fdinfo: the only source of close-on-exec, flags and offset), so a large
 * table is handed out in chunks to up to one thread per CPU. No symlink is
 * followed, except the /proc/PID/fd/N magic links by fstatat, which opens
 * nothing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "common/common.h"
#include "inspect/fd/fd_internal.h"

const char *ll_fd_type_name(enum ll_fd_type t)
{
	static const char *const names[] = {
		[LL_FD_UNKNOWN] = "unknown", [LL_FD_FILE] = "file", [LL_FD_DIR] = "dir",
		[LL_FD_CHR] = "chr", [LL_FD_BLK] = "blk", [LL_FD_FIFO] = "fifo",
		[LL_FD_PIPE] = "pipe", [LL_FD_SOCKET] = "socket", [LL_FD_EVENTFD] = "eventfd",
		[LL_FD_EPOLL] = "epoll", [LL_FD_SIGNALFD] = "signalfd", [LL_FD_TIMERFD] = "timerfd",
		[LL_FD_INOTIFY] = "inotify", [LL_FD_FANOTIFY] = "fanotify", [LL_FD_MEMFD] = "memfd",
		[LL_FD_PIDFD] = "pidfd", [LL_FD_ANON] = "anon",
	};

	return (unsigned)t < LL_ARRAY_SIZE(names) && names[t] ? names[t] : "unknown";
}

const char *ll_sock_proto_name(enum ll_sock_proto p)
{
	static const char *const names[] = {
		[LL_SOCK_UNKNOWN] = "?", [LL_SOCK_TCP] = "tcp", [LL_SOCK_TCP6] = "tcp6",
		[LL_SOCK_UDP] = "udp", [LL_SOCK_UDP6] = "udp6", [LL_SOCK_UNIX] = "unix",
	};

	return (unsigned)p < LL_ARRAY_SIZE(names) ? names[p] : "?";
}

int ll_open_procdir(pid_t pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", pid ? (int)pid : (int)getpid());
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd;
}

int ll_proc_stat_at(int procdir, pid_t *ppid, unsigned long long *start, char comm[32])
{
	char *text = NULL, *close_paren, *open_paren;
	unsigned long long st = 0;
	int pp = 0, r;

	r = ll_read_file_at(procdir, "stat", 1 << 16, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	open_paren = strchr(text, '(');
	close_paren = strrchr(text, ')');
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &pp, &st) != 2) {
		free(text);
		return -EINVAL;
	}
	if (comm)
		snprintf(comm, 32, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	if (ppid)
		*ppid = pp;
	if (start)
		*start = st;
	free(text);
	return 0;
}

static uint64_t bracket_ino(const char *s)
{
	const char *b = strchr(s, '[');

	return b ? strtoull(b + 1, NULL, 10) : 0;
}

/* The type as far as the link target tells; LL_FD_UNKNOWN for paths. */
static enum ll_fd_type type_of_target(const char *t)
{
	static const struct {
		const char *name;
		enum ll_fd_type type;
	} anon[] = {
		{ "[eventfd]", LL_FD_EVENTFD }, { "[eventpoll]", LL_FD_EPOLL },
		{ "[signalfd]", LL_FD_SIGNALFD }, { "[timerfd]", LL_FD_TIMERFD },
		{ "inotify", LL_FD_INOTIFY }, { "[fanotify]", LL_FD_FANOTIFY },
		{ "[pidfd]", LL_FD_PIDFD },
	};

	if (!strncmp(t, "socket:[", 8))
		return LL_FD_SOCKET;
	if (!strncmp(t, "pipe:[", 6))
		return LL_FD_PIPE;
	if (!strncmp(t, "pidfd:", 6))
		return LL_FD_PIDFD;
	if (!strncmp(t, "/memfd:", 7))
		return LL_FD_MEMFD;
	if (!strncmp(t, "anon_inode:", 11)) {
		for (size_t i = 0; i < LL_ARRAY_SIZE(anon); i++)
			if (!strcmp(t + 11, anon[i].name))
				return anon[i].type;
		return LL_FD_ANON;
	}
	return LL_FD_UNKNOWN;
}

static enum ll_fd_type type_of_mode(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return LL_FD_FILE;
	case S_IFDIR: return LL_FD_DIR;
	case S_IFCHR: return LL_FD_CHR;
	case S_IFBLK: return LL_FD_BLK;
	case S_IFIFO: return LL_FD_FIFO;
	case S_IFSOCK: return LL_FD_SOCKET;
	default: return LL_FD_UNKNOWN;
	}
}

/* fdinfo/N: "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t123\n..." */
static int read_fdinfo(int infodir, const char *name, struct ll_fd *f)
{
	char buf[512];
	ssize_t n;
	int fd = openat(infodir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (!strncmp(l, "pos:", 4))
			f->pos = strtoull(l + 4, NULL, 10);
		else if (!strncmp(l, "flags:", 6))
			f->flags = (unsigned)strtoul(l + 6, NULL, 8);
		else if (!strncmp(l, "mnt_id:", 7))
			f->mnt_id = (int)strtol(l + 7, NULL, 10);
		else if (!strncmp(l, "ino:", 4))
			f->ino = strtoull(l + 4, NULL, 10);
	}
	f->cloexec = (f->flags & O_CLOEXEC) != 0;
	f->flags &= ~(unsigned)O_CLOEXEC;
	return 0;
}

static int cmp_fd(const void *a, const void *b)
{
	const struct ll_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

void ll_fds_free(struct ll_fds *fds)
{
	if (!fds)
		return;
	for (size_t i = 0; i < fds->n; i++)
		free(fds->v[i].target);
	free(fds->v);
	free(fds);
}

/* Phase 2 work: the table, handed out in chunks to whichever thread is
 * free (on a loaded machine threads do not run at the same pace). */
#define CHUNK 512
struct work {
	struct ll_fd *v;
	size_t n;
	_Atomic size_t next;
};

/* Phase 2 state: one per thread. */
struct reader {
	pid_t pid;
	int fddir, infodir;
	struct work *work;
	int err;              /* -EACCES, -ENOMEM */
	size_t unreadable;
};

/* Whether f is another descriptor of prev's open file description (dup,
 * fork): the same mount, inode, offset and flags in fdinfo, and kcmp
 * KCMP_FILE says so (one cheap call instead of a readlink and a stat:
 * servers hold thousands of dups). *kcmp_ok turns off on ENOSYS/EPERM. */
static bool same_description(const struct reader *rd, const struct ll_fd *prev, const struct ll_fd *f,
			     bool *kcmp_ok)
{
	long r;

	if (!*kcmp_ok || !prev || !prev->target || prev->mnt_id < 0 || f->mnt_id != prev->mnt_id ||
	    f->ino != prev->ino || f->pos != prev->pos || f->flags != prev->flags)
		return false;
	r = syscall(SYS_kcmp, rd->pid, rd->pid, KCMP_FILE, prev->fd, f->fd);
	if (r < 0 && (errno == ENOSYS || errno == EPERM || errno == EACCES))
		*kcmp_ok = false;
	return r == 0;
}

/* fdinfo, readlink and (for paths) the mode of each descriptor; a
 * descriptor closed meanwhile gets fd = -1. */
static void *read_range(void *arg)
{
	struct reader *rd = arg;
	uint64_t last_ino = 0;
	int last_mnt = -1, sock_mnt = -1, pipe_mnt = -1;
	enum ll_fd_type last_type = LL_FD_UNKNOWN;
	const struct ll_fd *prev = NULL;
	bool kcmp_ok = true;
	size_t i = 0, end = 0;

	for (;;) {
		struct ll_fd *f;
		char name[16], target[4096];
		int have_info;
		ssize_t n;

		if (rd->err)
			break;
		if (i == end) { /* the next chunk */
			i = atomic_fetch_add(&rd->work->next, CHUNK);
			if (i >= rd->work->n || rd->err)
				break;
			end = i + CHUNK < rd->work->n ? i + CHUNK : rd->work->n;
		}
		f = &rd->work->v[i++];
		snprintf(name, sizeof(name), "%d", f->fd);
		have_info = rd->infodir >= 0 && read_fdinfo(rd->infodir, name, f) == 0;
		if (!have_info)
			f->mnt_id = -1;
		if (have_info && same_description(rd, prev, f, &kcmp_ok)) {
			f->target = strdup(prev->target);
			if (!f->target) {
				rd->err = -ENOMEM;
				break;
			}
			f->type = prev->type;
			continue; /* prev stays the description's first descriptor */
		}
		if (have_info && f->ino && (f->mnt_id == sock_mnt || f->mnt_id == pipe_mnt)) {
			/* sockfs and pipefs name every file "socket:[ino]" and
			 * "pipe:[ino]": the readlink would tell nothing new */
			snprintf(target, sizeof(target), "%s:[%llu]", f->mnt_id == sock_mnt ? "socket" : "pipe",
				 (unsigned long long)f->ino);
		} else {
			n = readlinkat(rd->fddir, name, target, sizeof(target) - 1);
			if (n < 0) {
				if (errno == EACCES || errno == EPERM)
					rd->err = -EACCES; /* the process is not ours to look at */
				rd->unreadable++;  /* closed meanwhile */
				f->fd = -1;
				continue;
			}
			target[n] = '\0';
		}
		f->target = strdup(target);
		if (!f->target) {
			rd->err = -ENOMEM;
			break;
		}
		prev = have_info ? f : NULL;
		f->type = type_of_target(target);
		if (f->type == LL_FD_SOCKET || f->type == LL_FD_PIPE) {
			f->ino = bracket_ino(target);
			if (have_info && f->type == LL_FD_SOCKET)
				sock_mnt = f->mnt_id;
			else if (have_info)
				pipe_mnt = f->mnt_id;
		}
		if (f->type == LL_FD_UNKNOWN && target[0] == '/') {
			struct stat st;

			if (f->ino && f->mnt_id >= 0 && f->ino == last_ino && f->mnt_id == last_mnt) {
				f->type = last_type;
			} else if (fstatat(rd->fddir, name, &st, 0) == 0) {
				f->type = type_of_mode(st.st_mode);
				if (!f->ino)
					f->ino = st.st_ino;
				last_ino = f->ino;
				last_mnt = f->mnt_id;
				last_type = f->type;
			}
		}
	}
	return NULL;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define DENTS_BUF (256u << 10) /* few getdents64 calls even for 100,000 fds */

/* Phase 1: the descriptor numbers, from getdents64 with a large buffer
 * (each call on /proc/PID/fd has a high fixed cost; readdir's 32 KiB buffer
 * doubles the time). */
static int list_fds(int fddir, struct ll_fds *fds)
{
	char *buf = malloc(DENTS_BUF);
	size_t cap = 0;
	long n;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	if (lseek(fddir, 0, SEEK_SET) < 0) {
		free(buf);
		return -errno;
	}
	while ((n = syscall(SYS_getdents64, fddir, buf, DENTS_BUF)) > 0 && !r) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			struct ll_fd *f;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			if (fds->n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct ll_fd *nv = realloc(fds->v, ncap * sizeof(*nv));

				if (!nv) {
					r = -ENOMEM;
					break;
				}
				fds->v = nv;
				cap = ncap;
			}
			f = &fds->v[fds->n++];
			memset(f, 0, sizeof(*f));
			f->fd = atoi(d->d_name);
			f->mnt_id = -1;
			f->parent_fd = -1;
		}
	}
	if (n < 0 && !r)
		r = errno == ENOENT ? -ESRCH : -errno;
	free(buf);
	return r;
}

#define PER_THREAD 2048 /* descriptors below which a thread is not worth it */
#define MAX_THREADS 8

/* Phase 2 over all entries, split among threads on a large table: the
 * kernel's work per descriptor (fd lookup, fdinfo formatting) dominates and
 * runs in parallel. */
static int read_all(pid_t pid, int fddir, int infodir, struct ll_fds *fds)
{
	struct reader rd[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	struct work work = { .v = fds->v, .n = fds->n };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = fds->n / PER_THREAD + 1, started = 1;
	int r = 0;

	if (ncpu < 1)
		ncpu = 1;
	if (nt > (size_t)ncpu)
		nt = (size_t)ncpu;
	if (nt > MAX_THREADS)
		nt = MAX_THREADS;
	for (size_t t = 0; t < nt; t++)
		rd[t] = (struct reader){ pid, fddir, infodir, &work, 0, 0 };
	for (size_t t = 1; t < nt; t++, started++)
		if (pthread_create(&th[t], NULL, read_range, &rd[t]) != 0)
			break;
	read_range(&rd[0]); /* takes over the chunks of threads not started */
	for (size_t t = 1; t < started; t++)
		pthread_join(th[t], NULL);
	for (size_t t = 0; t < nt; t++) {
		fds->unreadable += rd[t].unreadable;
		if (rd[t].err && !r)
			r = rd[t].err;
	}
	return r;
}

int ll_fds_read_at(int procdir, pid_t pid, unsigned flags, struct ll_socktab_cache **cache,
		   struct ll_fds **out)
{
	struct ll_fds *fds = calloc(1, sizeof(*fds));
	const struct ll_socktab *tab = NULL;
	int fddir = -1, infodir = -1, r = 0, sorted = 1, tab_tried = 0;
	size_t k = 0;

	if (!fds)
		return -ENOMEM;
	fds->pid = pid;
	r = ll_proc_stat_at(procdir, &fds->ppid, NULL, fds->comm);
	if (r < 0)
		goto out;
	fddir = openat(procdir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fddir < 0) {
		r = errno == ENOENT ? -ESRCH : -errno;
		goto out;
	}
	if (!(flags & LL_FDS_NO_FDINFO))
		infodir = openat(procdir, "fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	r = list_fds(fddir, fds);
	if (r < 0)
		goto out;
	r = read_all(pid, fddir, infodir, fds);
	/* Phase 3: drop the closed ones, resolve sockets, sort. */
	for (size_t i = 0; i < fds->n; i++) {
		struct ll_fd *f = &fds->v[i];

		if (f->fd < 0)
			continue;
		if (k && fds->v[k - 1].fd > f->fd)
			sorted = 0;
		if (r == 0 && f->type == LL_FD_SOCKET && !(flags & LL_FDS_NO_SOCKETS)) {
			const struct ll_fd_socket *s;

			if (!tab_tried) {
				tab_tried = 1;
				if (ll_socktab_cache_get(cache, procdir, &tab) < 0)
					tab = NULL;
			}
			s = ll_socktab_find(tab, f->ino);
			if (s) {
				f->sock = *s;
				f->has_socket = true;
			}
		}
		if (k != i)
			fds->v[k] = *f;
		k++;
	}
	fds->n = k;
	if (r < 0)
		goto out;
	if (!sorted)
		qsort(fds->v, fds->n, sizeof(*fds->v), cmp_fd);
out:
	if (fddir >= 0)
		close(fddir);
	if (infodir >= 0)
		close(infodir);
	if (r < 0) {
		ll_fds_free(fds);
		return r;
	}
	*out = fds;
	return 0;
}

int ll_fds_read(pid_t pid, unsigned flags, struct ll_fds **out)
{
	struct ll_socktab_cache *cache = NULL;
	int procdir = ll_open_procdir(pid), r;

	if (procdir < 0)
		return procdir;
	r = ll_fds_read_at(procdir, pid ? pid : getpid(), flags, &cache, out);
	ll_socktab_cache_free(cache);
	close(procdir);
	return r;
}
