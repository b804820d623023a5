/* port.c: ll_fds_port_holders(), every process holding a TCP or UDP socket
 * on a local port, and which of them opened it.
 *
 * How it works: one pass over /proc: for each process, readlinkat over its
 * fd/ directory collects socket inodes; the process's namespace socket
 * table (parsed once per namespace, socktab.c) says which are on the port.
 * Then, for each holder, its parent is checked: if the parent holds the
 * same socket (kcmp KCMP_FILE), the holder inherited it. Among holders of
 * one socket that did not inherit it from a living parent, the oldest
 * (start time) is named the opener; the others got it from a parent that
 * has since exited, or by SCM_RIGHTS. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"
#include "inspect/fd/fd_internal.h"

struct holders {
	struct ll_port_holder *v;
	size_t n, cap;
};

static int add_holder(struct holders *h, pid_t pid, int fd, uint64_t ino, const struct ll_fd_socket *s)
{
	struct ll_port_holder *x;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct ll_port_holder *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	x = &h->v[h->n++];
	memset(x, 0, sizeof(*x));
	x->pid = pid;
	x->fd = fd;
	x->ino = ino;
	x->sock = *s;
	return 0;
}

static int scan_process(int procdir, pid_t pid, uint16_t port, struct ll_socktab_cache **cache,
			struct holders *h)
{
	const struct ll_socktab *tab = NULL;
	size_t first = h->n;
	struct dirent *d;
	DIR *dir = ll_opendir_at(procdir, "fd", O_NOFOLLOW);
	int r = 0;

	if (!dir) /* gone, a kernel thread, or not permitted */
		return errno == ENOMEM || errno == EMFILE || errno == ENFILE ? -errno : 0;
	while ((d = readdir(dir))) {
		char target[64];
		const struct ll_fd_socket *s;
		uint64_t ino;
		ssize_t n;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		n = readlinkat(dirfd(dir), d->d_name, target, sizeof(target) - 1);
		if (n < 8)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:[", 8))
			continue;
		if (!tab && ll_socktab_cache_get(cache, procdir, &tab) < 0)
			break;
		ino = strtoull(target + 8, NULL, 10);
		s = ll_socktab_find(tab, ino);
		if (!s || s->local_port != port || s->proto == LL_SOCK_UNIX || s->proto == LL_SOCK_UNKNOWN)
			continue;
		r = add_holder(h, pid, atoi(d->d_name), ino, s);
		if (r < 0)
			break;
	}
	closedir(dir);
	if (h->n > first) {
		pid_t ppid = 0;
		unsigned long long start = 0;
		char comm[32] = "";

		ll_proc_stat_at(procdir, &ppid, &start, comm);
		for (size_t i = first; i < h->n; i++) {
			h->v[i].ppid = ppid;
			h->v[i].start_time = start;
			memcpy(h->v[i].comm, comm, sizeof(comm));
		}
	}
	return r;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct ll_port_holder *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->start_time != y->start_time)
		return x->start_time < y->start_time ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Decide inherited_from and opener within holders [i, j) of one socket. */
static void judge(struct ll_port_holder *v, size_t i, size_t j)
{
	int opener_set = 0;

	for (size_t k = i; k < j; k++)
		for (size_t p = i; p < j; p++)
			if (v[p].pid == v[k].ppid &&
			    syscall(SYS_kcmp, v[p].pid, v[k].pid, KCMP_FILE, v[p].fd, v[k].fd) == 0) {
				v[k].inherited_from = v[p].pid;
				break;
			}
	/* Sorted by start time: the first holder that did not inherit it. */
	for (size_t k = i; k < j; k++)
		if (!v[k].inherited_from && !opener_set) {
			/* several fds of one process: all of them are the opener's */
			for (size_t q = k; q < j; q++)
				if (v[q].pid == v[k].pid)
					v[q].opener = true;
			opener_set = 1;
		}
}

int ll_fds_port_holders(uint16_t port, struct ll_port_holder **out, size_t *n)
{
	struct ll_socktab_cache *cache = NULL;
	struct holders h = { 0 };
	struct dirent *d;
	DIR *proc;
	int r = 0;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((d = readdir(proc))) {
		int procdir;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		procdir = openat(dirfd(proc), d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (procdir < 0)
			continue;
		r = scan_process(procdir, (pid_t)atoi(d->d_name), port, &cache, &h);
		close(procdir);
		if (r < 0)
			break;
	}
	closedir(proc);
	ll_socktab_cache_free(cache);
	if (r < 0) {
		free(h.v);
		return r;
	}
	if (h.n > 1)
		qsort(h.v, h.n, sizeof(*h.v), cmp_holder);
	for (size_t i = 0; i < h.n;) {
		size_t j = i + 1;

		while (j < h.n && h.v[j].ino == h.v[i].ino)
			j++;
		judge(h.v, i, j);
		i = j;
	}
	*out = h.v;
	*n = h.n;
	return 0;
}
