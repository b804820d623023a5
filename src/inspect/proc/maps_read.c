/* maps_read.c: read a live process's map from /proc, find its thread
 * stacks, look addresses up, free.
 *
 * ll_maps_read() opens /proc/PID once and does everything relative to that
 * directory (ll_maps_read_at() takes one the caller opened, e.g. checked
 * against a pidfd), so a pid reused mid-way cannot mix two processes. The
 * directory stays open in the map for ll_maps_resolve() (map_files, mem).
 * Thread stacks: each thread blocked in a system call exposes its stack
 * pointer in /proc/PID/task/TID/syscall; the anonymous mapping holding it is
 * that thread's stack. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "inspect/proc/maps_private.h"

const struct ll_map *ll_maps_find(const struct ll_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!maps)
		return NULL;
	hi = maps->n;
	/* first entry with start > addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= maps->v[lo - 1].end)
		return NULL;
	return &maps->v[lo - 1];
}

void ll_maps_free(struct ll_maps *maps)
{
	if (!maps)
		return;
	for (size_t i = 0; i < maps->n; i++) {
		free(maps->v[i].path);
		free(maps->v[i].vm_flags);
	}
	free(maps->v);
	ll_maps_private_free(maps->priv);
	free(maps);
}

/* The stack pointer of a thread sleeping in a system call, from
 * "NR ARG1..ARG6 SP PC" (or "-1 SP PC" when blocked outside one). */
static int thread_sp(int dirfd, const char *tid, uint64_t *sp)
{
	char path[300], *text = NULL, *tok[9], *save = NULL;
	int n = 0, r;

	snprintf(path, sizeof(path), "task/%s/syscall", tid);
	r = ll_read_file_at(dirfd, path, 4096, &text, NULL);
	if (r < 0)
		return r;
	for (char *t = strtok_r(text, " \n", &save); t && n < 9; t = strtok_r(NULL, " \n", &save))
		tok[n++] = t;
	r = -ENODATA; /* "running": no stack pointer to read */
	if ((n == 9 || n == 3) && strncmp(tok[n - 2], "0x", 2) == 0)
		r = ll_parse_u64(tok[n - 2], 1, sp);
	free(text);
	return r;
}

/* Mark the mapping holding each sleeping thread's stack pointer. Threads
 * whose stack pointer cannot be read (running, or not allowed) are skipped:
 * this is best effort and never fails the read. */
static void find_thread_stacks(struct ll_maps *maps, int dirfd)
{
	struct dirent *de;
	DIR *d = ll_opendir_at(dirfd, "task", 0);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct ll_map *m;
		uint64_t sp;
		pid_t tid;
		int r;

		if (ll_parse_pid(de->d_name, &tid) < 0)
			continue;
		/* a thread caught running may be about to sleep: look twice more */
		r = thread_sp(dirfd, de->d_name, &sp);
		for (int again = 0; r == -ENODATA && again < 2; again++) {
			sched_yield();
			r = thread_sp(dirfd, de->d_name, &sp);
		}
		if (r < 0)
			continue;
		m = (struct ll_map *)ll_maps_find(maps, sp);
		if (!m)
			continue;
		if (m->kind == LL_MAP_STACK) {
			if (!m->stack_tid || tid == maps->pid)
				m->stack_tid = tid;
		} else if (m->kind == LL_MAP_ANON || m->kind == LL_MAP_BSS) {
			m->kind = LL_MAP_STACK;
			m->module = false;
			m->stack_tid = tid;
		}
	}
	closedir(d);
}

static pid_t read_pid_at(int dirfd)
{
	char *text = NULL;
	pid_t pid = 0;
	size_t n;

	if (ll_read_file_at(dirfd, "stat", 4096, &text, NULL) < 0)
		return 0;
	n = strspn(text, "0123456789");
	text[n] = '\0';
	if (ll_parse_pid(text, &pid) < 0)
		pid = 0;
	free(text);
	return pid;
}

static int errno_of_proc(int r)
{
	if (r == -ENOENT || r == -ESRCH)
		return -ESRCH;
	if (r == -EPERM || r == -EACCES)
		return -EACCES;
	return r;
}

int ll_maps_read_at(int proc_pid_dirfd, unsigned flags, struct ll_maps **out)
{
	const bool smaps = flags & LL_MAPS_SMAPS;
	struct ll_maps *maps = NULL;
	char *text = NULL;
	size_t len = 0;
	int r, keep;

	if (!out || proc_pid_dirfd < 0)
		return -EINVAL;
	*out = NULL;
	r = ll_read_file_at(proc_pid_dirfd, smaps ? "smaps" : "maps",
			    smaps ? LL_SMAPS_MAX_TEXT : LL_MAPS_MAX_TEXT, &text, &len);
	if (r < 0) {
		r = errno_of_proc(r);
		goto out;
	}
	r = ll_maps_parse(text, len, flags & LL_MAPS_SMAPS, &maps);
	if (r < 0)
		goto out;
	maps->pid = read_pid_at(proc_pid_dirfd);
	if (!(flags & LL_MAPS_NO_THREADS))
		find_thread_stacks(maps, proc_pid_dirfd);
	keep = fcntl(proc_pid_dirfd, F_DUPFD_CLOEXEC, 3);
	if (keep < 0) {
		r = -errno;
		goto out;
	}
	maps->priv->dirfd = keep;
	*out = maps;
	maps = NULL;
out:
	ll_maps_free(maps);
	free(text);
	return r;
}

int ll_maps_read(pid_t pid, unsigned flags, struct ll_maps **out)
{
	char path[32];
	int dirfd, r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (pid < 0)
		return -EINVAL;
	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self");
	else
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno_of_proc(-errno);
	r = ll_maps_read_at(dirfd, flags, out);
	close(dirfd);
	return r;
}
