/* stale.c: mappings that are a deploy gone half-way.
 *
 * Two cases, per process and per mapped file (device + inode):
 *  - DELETED: the file was unlinked or renamed over since it was mapped (an
 *    install or mv): the process still runs the old code and will until it
 *    reloads or restarts. memfd, SysV shm and /dev/zero mappings are not
 *    files anyone deployed and are skipped; so are non-executable deleted
 *    files in /dev/shm (POSIX shared memory, unlinked on purpose).
 *  - TRUNCATED: the file is now shorter than the part of it that is mapped
 *    (rewritten in place, e.g. by cp): touching a page past the new end of
 *    file raises SIGBUS, and the pages before it may hold different code.
 *    Inaccessible (---p) mappings, the holes a loader reserves between
 *    segments, are left out of this check.
 * A file rewritten in place to the very same size is not detected: its
 * mapping then shows the new bytes, indistinguishable from the old.
 * The file's current size is read through /proc/PID/map_files (the very
 * inode mapped, deleted or not), falling back to the path when that is not
 * allowed and it still names the same inode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lifeline/inspect/maps.h"
#include "plugin/plugin_private.h"

static bool skipped_deleted(const struct ll_map *m)
{
	static const char *const prefixes[] = { "/memfd:", "/SYSV", "/dev/zero", "/anon_hugepage", "/[" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(m->path, prefixes[i], strlen(prefixes[i])))
			return true;
	return !strncmp(m->path, "/dev/shm/", 9) && !(m->perms & LL_PERM_EXEC);
}

/* The current size of the file behind mapping m of pid, or -errno. */
static int64_t file_size(pid_t pid, const struct ll_map *m)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	if (stat(path, &st) == 0)
		return st.st_size;
	if (!m->deleted && stat(m->path, &st) == 0 && st.st_ino == m->inode && major(st.st_dev) == m->dev_major &&
	    minor(st.st_dev) == m->dev_minor)
		return st.st_size;
	return -ENOENT;
}

static struct ll_stale_item *find_item(struct ll_stale_proc *sp, const struct ll_map *m)
{
	for (size_t i = 0; i < sp->n; i++)
		if (sp->v[i].inode == m->inode && sp->v[i].dev_major == m->dev_major &&
		    sp->v[i].dev_minor == m->dev_minor)
			return &sp->v[i];
	return NULL;
}

/* Fold mapping m into the items of sp (one per file); cap: allocated. */
static int add_mapping(struct ll_stale_proc *sp, size_t *cap, pid_t pid, const struct ll_map *m)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct ll_stale_item *it = find_item(sp, m);
	uint64_t map_end = m->offset + (m->end - m->start), eof;
	int64_t size;

	if (!it) {
		if (sp->n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 4;
			struct ll_stale_item *nv = realloc(sp->v, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			sp->v = nv;
			*cap = ncap;
		}
		it = &sp->v[sp->n];
		memset(it, 0, sizeof(*it));
		it->path = strdup(m->path);
		if (!it->path)
			return -ENOMEM;
		sp->n++;
		it->dev_major = m->dev_major;
		it->dev_minor = m->dev_minor;
		it->inode = m->inode;
		it->kind = LL_STALE_DELETED;
		size = file_size(pid, m);
		it->file_size = size < 0 ? UINT64_MAX : (uint64_t)size;
	}
	it->nmaps++;
	it->mapped_bytes += m->end - m->start;
	if (m->perms & LL_PERM_EXEC)
		it->exec = true;
	/* A ---p mapping is a hole the loader reserved between segments (it may
	 * run past the end of file by design): never touched, never SIGBUS. */
	if (it->file_size != UINT64_MAX && (m->perms & (LL_PERM_READ | LL_PERM_WRITE | LL_PERM_EXEC))) {
		eof = (it->file_size + page - 1) / page * page;
		if (map_end > eof) {
			it->kind = LL_STALE_TRUNCATED;
			it->past_eof += map_end - (m->offset > eof ? m->offset : eof);
		}
	}
	return 0;
}

int ll_stale_scan(pid_t pid, struct ll_stale_proc **out)
{
	struct ll_stale_proc *sp;
	struct ll_maps *m = NULL;
	size_t cap = 0, keep = 0;
	int r;

	*out = NULL;
	if (pid == 0)
		pid = getpid();
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->pid = pid;
	r = ll_maps_read(pid, 0, &m);
	if (r < 0)
		goto fail;
	ll_proc_comm(pid, sp->comm);
	for (size_t i = 0; i < m->n; i++) {
		const struct ll_map *e = &m->v[i];

		if (!e->inode || !e->path || e->path[0] != '/')
			continue;
		if (e->deleted && skipped_deleted(e))
			continue;
		r = add_mapping(sp, &cap, pid, e);
		if (r < 0)
			goto fail;
	}
	/* Keep only the files that are deleted or truncated. */
	for (size_t i = 0; i < sp->n; i++) {
		struct ll_stale_item *it = &sp->v[i];
		bool deleted = false;

		for (size_t k = 0; k < m->n; k++)
			if (m->v[k].deleted && m->v[k].inode == it->inode && m->v[k].dev_major == it->dev_major &&
			    m->v[k].dev_minor == it->dev_minor)
				deleted = true;
		if (it->kind == LL_STALE_TRUNCATED || deleted)
			sp->v[keep++] = *it;
		else
			free(it->path);
	}
	sp->n = keep;
	ll_maps_free(m);
	*out = sp;
	return 0;
fail:
	ll_maps_free(m);
	ll_stale_free(sp);
	return r;
}

void ll_stale_free(struct ll_stale_proc *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->n; i++)
		free(sp->v[i].path);
	free(sp->v);
	free(sp);
}

const char *ll_stale_risk(const struct ll_stale_item *it)
{
	if (it->kind == LL_STALE_TRUNCATED)
		return it->exec ? "a crash waiting to happen: the file was cut short or rewritten in place under "
				  "the running code; touching the pages past its end raises SIGBUS and the "
				  "rest may now hold different code"
				: "the file was cut short under the mapping: reading past its new end raises SIGBUS";
	return it->exec ? "old code still running: the file was replaced or removed after it was mapped; the "
			  "process keeps the old version until it reloads or restarts"
			: "a deleted file is still mapped: the process sees its old contents until it remaps it";
}
