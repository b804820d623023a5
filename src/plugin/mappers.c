/* mappers.c: which processes map a given file (device + inode)?
 *
 * Walks /proc, reads each process's maps through the inspect module and
 * keeps those with a mapping whose device and inode are the file's. Used by
 * `lifeline install` to list who still runs the file it is about to
 * replace. Processes that exit meanwhile or cannot be read are skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/common.h"
#include "lifeline/inspect/maps.h"
#include "plugin/plugin_private.h"

int ll_proc_comm(pid_t pid, char comm[32])
{
	char path[64], *text = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	r = ll_read_file(path, 256, &text, &len);
	if (r < 0) {
		snprintf(comm, 32, "?");
		return r;
	}
	while (len && (text[len - 1] == '\n'))
		text[--len] = '\0';
	snprintf(comm, 32, "%s", text);
	free(text);
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct ll_mapper *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int ll_file_mappers(dev_t dev, ino_t ino, struct ll_mapper **out, size_t *n)
{
	struct ll_mapper *v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	*out = NULL;
	*n = 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct ll_maps *m = NULL;
		struct ll_mapper one = { 0 };
		pid_t pid;

		if (ll_parse_pid(de->d_name, &pid) < 0)
			continue;
		if (ll_maps_read(pid, 0, &m) < 0)
			continue;
		for (size_t i = 0; i < m->n; i++) {
			const struct ll_map *e = &m->v[i];

			if (e->inode != (uint64_t)ino || e->dev_major != major(dev) || e->dev_minor != minor(dev))
				continue;
			one.bytes += e->end - e->start;
			if (e->perms & LL_PERM_EXEC)
				one.exec = true;
		}
		ll_maps_free(m);
		if (!one.bytes)
			continue;
		one.pid = pid;
		ll_proc_comm(pid, one.comm);
		if (count == cap) {
			struct ll_mapper *nv;

			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[count++] = one;
	}
	if (count)
		qsort(v, count, sizeof(*v), by_pid);
	*out = v;
	*n = count;
	v = NULL;
out:
	closedir(d);
	free(v);
	return r;
}
