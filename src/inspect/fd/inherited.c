/* inherited.c: ll_fds_mark_inherited(), which descriptors a process shares
 * with its parent (the same open file description, as after fork or a
 * spawn that leaked them).
 *
 * How it works: kcmp(KCMP_FILE) tells whether two descriptors of two
 * processes point to the same struct file, and orders them when they do
 * not. Every descriptor of both processes goes into one array sorted by
 * (inode, kcmp order): the same open file description ends up adjacent, and
 * kcmp is only asked between descriptors of one inode, O(n log n) times
 * even when thousands of descriptors name /dev/null. A run of equal
 * elements holding entries of both processes marks the child's entries
 * with the parent's descriptor. */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inspect/fd/fd_internal.h"

struct ent {
	pid_t pid;
	int fd;
	uint64_t ino;
	size_t child_idx; /* index in the child's list, or SIZE_MAX for the parent */
};

/* kcmp(KCMP_FILE): 0 same, 1 less, 2 greater, -1 error (first error
 * other than EBADF, a descriptor closed meanwhile, kept in *err). */
static int kcmp_file(pid_t p1, int fd1, pid_t p2, int fd2, int *err)
{
	long r = syscall(SYS_kcmp, p1, p2, KCMP_FILE, fd1, fd2);

	if (r < 0) {
		if (!*err && errno != EBADF)
			*err = -errno;
		return -1;
	}
	return (int)r;
}

static int cmp_ent(const void *a, const void *b, void *err)
{
	const struct ent *x = a, *y = b;
	int k;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	k = kcmp_file(x->pid, x->fd, y->pid, y->fd, err);
	if (k == 1)
		return -1;
	if (k == 2)
		return 1;
	if (k == 0)
		return 0;
	/* not comparable (closed meanwhile): a stable, arbitrary order */
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

int ll_fds_mark_inherited(struct ll_fds *fds, pid_t ppid)
{
	struct ll_fds *parent = NULL;
	struct ent *e = NULL;
	size_t n = 0;
	int r, shared = 0, err = 0;

	if (!fds)
		return -EINVAL;
	if (!ppid)
		ppid = fds->ppid;
	for (size_t i = 0; i < fds->n; i++)
		fds->v[i].parent_fd = -1;
	if (ppid <= 0)
		return 0;
	/* Is kcmp usable at all? (Same descriptor of the same process.) */
	if (fds->n && syscall(SYS_kcmp, fds->pid, fds->pid, KCMP_FILE, fds->v[0].fd, fds->v[0].fd) < 0 &&
	    (errno == ENOSYS || errno == EPERM))
		return -errno;
	r = ll_fds_read(ppid, LL_FDS_NO_SOCKETS, &parent);
	if (r < 0)
		return r;
	e = malloc((fds->n + parent->n + 1) * sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < fds->n; i++)
		if (fds->v[i].ino)
			e[n++] = (struct ent){ fds->pid, fds->v[i].fd, fds->v[i].ino, i };
	for (size_t i = 0; i < parent->n; i++)
		if (parent->v[i].ino)
			e[n++] = (struct ent){ ppid, parent->v[i].fd, parent->v[i].ino, SIZE_MAX };
	qsort_r(e, n, sizeof(*e), cmp_ent, &err);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		int pfd = e[i].child_idx == SIZE_MAX ? e[i].fd : -1;

		while (j < n && e[j].ino == e[i].ino &&
		       kcmp_file(e[i].pid, e[i].fd, e[j].pid, e[j].fd, &err) == 0) {
			if (pfd < 0 && e[j].child_idx == SIZE_MAX)
				pfd = e[j].fd;
			j++;
		}
		if (pfd >= 0)
			for (size_t k = i; k < j; k++)
				if (e[k].child_idx != SIZE_MAX) {
					fds->v[e[k].child_idx].parent_fd = pfd;
					shared++;
				}
		i = j;
	}
	/* kcmp refused (another user namespace, no permission): say so
	 * rather than report "nothing shared". */
	r = err ? err : shared;
out:
	free(e);
	ll_fds_free(parent);
	return r;
}
