/* watch.c: automatic reload through inotify on the plugin's directory.
 *
 * The directory (not the file) is watched, so that both kinds of update are
 * seen: a rename over the file (install, mv: IN_MOVED_TO), and a rewrite in
 * place or a new file (cp: IN_CLOSE_WRITE once the writer is done;
 * IN_CREATE for a hard link). A rename puts a complete file in place: it is
 * loaded as soon as the events already queued are read. A close-after-write
 * starts a quiet period (debounce_ms) that further events restart, so that
 * a burst of writes and closes gives one reload; a bare IN_CREATE waits
 * 200 ms for the close that usually follows (a hard link has none). When
 * the quiet period ends the file is reloaded. A file
 * still being written is refused by the snapshot checks and retried at the
 * writer's close. One thread per watched plugin, all signals blocked; it is
 * stopped through an eventfd. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "plugin/plugin_private.h"

#define CREATE_QUIET_MS 200

static void *watch_main(void *arg)
{
	struct ll_plugin *p = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int timeout = -1;

	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = p->inotify_fd, .events = POLLIN },
			{ .fd = p->stop_fd, .events = POLLIN },
		};
		int n = poll(pf, 2, timeout);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[1].revents)
			break;
		if (n == 0) {
			timeout = -1;
			pthread_mutex_lock(&p->lock);
			ll_plugin_load_locked(p, p->opts.flags & LL_PLUGIN_SKIP_SAME, true);
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		if (!(pf[0].revents & POLLIN))
			continue;
		for (;;) {
			ssize_t len = read(p->inotify_fd, buf, sizeof(buf));

			if (len <= 0)
				break;
			for (char *c = buf; c < buf + len;) {
				const struct inotify_event *ev = (const struct inotify_event *)c;

				c += sizeof(*ev) + ev->len;
				if (ev->mask & IN_Q_OVERFLOW) {
					timeout = (int)p->opts.debounce_ms;
					continue;
				}
				if (!ev->len || strcmp(ev->name, p->base) != 0)
					continue;
				if (ev->mask & IN_MOVED_TO)
					timeout = 0; /* renamed into place: complete */
				else if (ev->mask & IN_CLOSE_WRITE)
					timeout = (int)(p->opts.settle_ms > p->opts.debounce_ms ? p->opts.settle_ms
												  : p->opts.debounce_ms);
				else if ((ev->mask & IN_CREATE) && timeout < 0)
					timeout = CREATE_QUIET_MS;
			}
		}
	}
	return NULL;
}

int ll_watch_prepare(struct ll_plugin *p)
{
	int r;

	p->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (p->inotify_fd < 0)
		return -errno;
	if (inotify_add_watch(p->inotify_fd, p->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0) {
		r = -errno;
		goto fail;
	}
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (p->stop_fd < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	close(p->inotify_fd);
	p->inotify_fd = -1;
	return r;
}

int ll_watch_start(struct ll_plugin *p)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };
	sigset_t all, old;
	int r;

	/* Asynchronous signals are the host's business, not this thread's;
	 * the synchronous fatal ones stay unblocked, so that a crash in the
	 * watcher (in a plugin's init, say) reaches the crash reporter. */
	sigfillset(&all);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigdelset(&all, fatal[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&p->watch_thread, NULL, watch_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	pthread_setname_np(p->watch_thread, "ll-plugin-watch");
	p->watching = true;
	return 0;
}

void ll_watch_stop(struct ll_plugin *p)
{
	uint64_t one = 1;

	if (p->watching) {
		if (write(p->stop_fd, &one, sizeof(one)) < 0) {
			/* an eventfd write of 1 cannot fail short of a bug; join anyway */
		}
		pthread_join(p->watch_thread, NULL);
		p->watching = false;
	}
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->inotify_fd >= 0)
		close(p->inotify_fd);
	p->inotify_fd = p->stop_fd = -1;
}
