/* retire.c: old versions out of the address space, in batches, without
 * needing a new descriptor.
 *
 * A version that stopped serving is queued (p->retiring, at most
 * LL_PLUGIN_MAX_RETIRING); a flush waits for ONE grace period for the whole
 * queue (synchronize_rcu: every call that started on any of them has left),
 * runs each one's fini, dlclose()s it, and then checks in ONE pass over
 * /proc/self/maps which snapshots are still mapped. /proc/self/maps is read
 * through a descriptor opened once, when the plugin is opened (lseek to 0
 * regenerates it), so that retiring works even when the process is out of
 * descriptors. A version whose snapshot is gone is released (its memfd
 * closed); one still mapped (nodelete, STB_GNU_UNIQUE, a pending
 * thread_local destructor) keeps its memfd open, as does one whose check
 * failed: both stay on p->closed and are checked again at every later
 * flush, and released as soon as they are found unmapped. Events
 * (UNLOADED, STILL_MAPPED) come from the thread that flushes. All of it
 * runs under p->lock. */
#include "ll_config.h"
#if !LL_SANITIZED
#define _LGPL_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "plugin/plugin_private.h"

int ll_retire_open_maps(struct ll_plugin *p)
{
	p->maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	return p->maps_fd < 0 ? -errno : 0;
}

/* Parse one maps line's device and inode and mark the closed versions whose
 * snapshot it maps. */
static void mark_line(struct ll_plugin *p, const char *line)
{
	unsigned maj, min;
	unsigned long long ino;

	/* start-end perms offset maj:min inode [path] */
	if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) != 3 || ino == 0)
		return;
	for (struct ll_pversion *v = p->closed; v; v = v->next)
		if ((unsigned long long)v->snap.ino == ino && major(v->snap.dev) == maj && minor(v->snap.dev) == min)
			v->mapped = true;
}

/* One pass over /proc/self/maps: set ->mapped on each closed version still
 * mapped. 0 or -errno (nothing known then). */
static int scan_maps(struct ll_plugin *p)
{
	char buf[16384];
	size_t have = 0;

	for (struct ll_pversion *v = p->closed; v; v = v->next)
		v->mapped = false;
	if (p->maps_fd < 0)
		return -EBADF;
	if (lseek(p->maps_fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(p->maps_fd, buf + have, sizeof(buf) - 1 - have);
		char *line, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			mark_line(p, line);
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than the buffer: no device field to miss there */
		memmove(buf, line, have);
	}
	if (have) {
		buf[have] = '\0';
		mark_line(p, buf);
	}
	return 0;
}

static void describe(const struct ll_pversion *v, char *which, size_t size)
{
	if (v->number)
		snprintf(which, size, "version %u", v->number);
	else
		snprintf(which, size, "a rejected version");
}

/* Check every dlclose'd version: release what left the address space,
 * report (once) what did not. */
static void recheck(struct ll_plugin *p)
{
	struct ll_pversion **pp = &p->closed;
	char msg[1024], why[512], which[32];
	int r;

	if (!p->closed)
		return;
	r = scan_maps(p);
	while (*pp) {
		struct ll_pversion *v = *pp;

		if (r == 0 && !v->mapped) {
			*pp = v->next;
			if (v->number) {
				snprintf(msg, sizeof(msg), "%s: version %u unloaded and unmapped", p->path, v->number);
				ll_plugin_emit(p, LL_PLUGIN_EV_UNLOADED, v->number, 0, msg);
			}
			if (v->reported)
				ll_plugin_count_stuck(p, -1);
			ll_snapshot_release(&v->snap);
			free(v);
			continue;
		}
		if (!v->reported) {
			describe(v, which, sizeof(which));
			if (r == 0) {
				ll_snapshot_explain_nodelete(&v->snap, why, sizeof(why));
				snprintf(msg, sizeof(msg), "%s: %s is still mapped after dlclose: %s; its snapshot "
					 "stays open", p->path, which, why);
			} else {
				snprintf(msg, sizeof(msg), "%s: %s: cannot check that it was unmapped (%s); its "
					 "snapshot stays open and it is checked again at the next retire", p->path,
					 which, strerror(-r));
			}
			v->reported = true;
			ll_plugin_count_stuck(p, +1);
			ll_plugin_emit(p, LL_PLUGIN_EV_STILL_MAPPED, v->number, r == 0 ? -EBUSY : r, msg);
		}
		pp = &v->next;
	}
}

void ll_retire_closed(struct ll_plugin *p, struct ll_pversion *v)
{
	v->next = p->closed;
	p->closed = v;
	recheck(p);
}

void ll_retire_queue(struct ll_plugin *p, struct ll_pversion *v)
{
	v->next = p->retiring;
	p->retiring = v;
	p->nretiring++;
	ll_plugin_count_retiring(p, p->nretiring);
}

void ll_retire_flush(struct ll_plugin *p)
{
	struct ll_pversion *batch = p->retiring;

	if (!batch && !p->closed)
		return;
	p->retiring = NULL;
	p->nretiring = 0;
	if (batch)
		synchronize_rcu(); /* one grace period for the whole batch */
	while (batch) {
		struct ll_pversion *v = batch;

		batch = v->next;
		if (v->desc && v->desc->fini && !v->pinned)
			v->desc->fini();
		if (!v->pinned)
			dlclose(v->handle);
		v->next = p->closed;
		p->closed = v;
	}
	ll_plugin_count_retiring(p, 0);
	recheck(p);
}

void ll_retire_close(struct ll_plugin *p)
{
	ll_retire_flush(p);
	/* What stays mapped keeps its memfd open for good: were its number
	 * reused, dlopen("/proc/self/fd/N") would hand back the old object. */
	while (p->closed) {
		struct ll_pversion *v = p->closed;

		p->closed = v->next;
		free(v);
	}
	if (p->maps_fd >= 0)
		close(p->maps_fd);
	p->maps_fd = -1;
}
