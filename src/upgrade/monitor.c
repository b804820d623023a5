/* monitor.c: following the new process until it is ready or rolled back.
 *
 * How it works. Three descriptors describe a running upgrade: the read end
 * of the readiness pipe (the new process writes one byte, then closes it),
 * the new process's pidfd and a timerfd for the deadline. All three (and
 * the control socket) sit in one epoll set that the service polls
 * (ll_upgrade_fd()); ll_upgrade_dispatch() then looks at each without
 * blocking. The readiness byte wins over everything; an end of file without
 * it means the new process died (its status is taken from the pidfd, then
 * waitpid) or closed the pipe on purpose (killed: a protocol error); the
 * deadline kills it. A killed or dead new process is always reaped before
 * the rollback is reported, so no two versions serve at once. On READY,
 * MAINPID=<new> goes to systemd when NOTIFY_SOCKET is set. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "upgrade/upgrade_internal.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* How long an end of file on the readiness pipe may come before the
 * pidfd says the process ended. */
#define EXIT_GRACE_MS 1000

void up_ep_add(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (up_g.ep >= 0 && fd >= 0)
		epoll_ctl(up_g.ep, EPOLL_CTL_ADD, fd, &ev);
}

int ll_upgrade_fd(void)
{
	int r;

	pthread_mutex_lock(&up_g.lock);
	if (up_g.ep < 0) {
		up_g.ep = epoll_create1(EPOLL_CLOEXEC);
		if (up_g.ep >= 0) {
			up_ep_add(up_g.ready_rd);
			up_ep_add(up_g.pidfd);
			up_ep_add(up_g.timer);
			up_ep_add(up_g.ctl_listen);
			up_ep_add(up_g.ctl_conn);
		}
	}
	r = up_g.ep >= 0 ? up_g.ep : -errno;
	pthread_mutex_unlock(&up_g.lock);
	return r;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		if (up_g.ep >= 0)
			epoll_ctl(up_g.ep, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
	}
	*fd = -1;
}

/* The crash report of pid in dir: crash-<exe>-<pid>-<time>.txt. */
static void find_crash_report(pid_t pid, char *out, size_t size)
{
	char needle[32];
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	if (!up_g.crash_dir[0] || !(d = opendir(up_g.crash_dir)))
		return;
	snprintf(needle, sizeof(needle), "-%d-", (int)pid);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "crash-", 6) && strstr(e->d_name, needle)) {
			int n = snprintf(out, size, "%s/%s", up_g.crash_dir, e->d_name);

			if (n < 0 || (size_t)n >= size)
				out[0] = '\0';
			break;
		}
	closedir(d);
}

void up_finish(enum ll_upgrade_phase phase, enum ll_upgrade_reason reason, int error,
	       struct ll_upgrade_status *out, const char *fmt, ...)
{
	struct ll_upgrade_status *s = &up_g.st;
	va_list ap;

	close_fd(&up_g.ready_rd);
	close_fd(&up_g.pidfd);
	close_fd(&up_g.timer);
	s->phase = phase;
	s->reason = reason;
	s->error = error;
	s->ready_us = up_now_us() - up_g.t0_us;
	if (reason == LL_UPGRADE_REASON_SIGNALED)
		find_crash_report(s->new_pid, s->crash_report, sizeof(s->crash_report));
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	if (s->crash_report[0]) {
		size_t len = strlen(s->why);

		snprintf(s->why + len, sizeof(s->why) - len, " (crash report: %s)", s->crash_report);
	}
	up_control_reply(s);
	*out = *s;
}

/* The new process ended (or is about to): reap it, then roll back. */
static void rollback_dead(struct ll_upgrade_status *out, bool hard_kill, enum ll_upgrade_reason why_kill)
{
	pid_t pid = up_g.st.new_pid;
	int status = 0, r;

	if (hard_kill)
		syscall(SYS_pidfd_send_signal, up_g.pidfd, SIGKILL, NULL, 0);
	r = ll_spawn_wait(pid, up_g.pidfd, hard_kill ? -1 : EXIT_GRACE_MS, &status);
	if (r == -ETIMEDOUT) {
		/* Closed the pipe without a word and lives on: stop it. */
		syscall(SYS_pidfd_send_signal, up_g.pidfd, SIGKILL, NULL, 0);
		ll_spawn_wait(pid, up_g.pidfd, -1, &status);
		why_kill = LL_UPGRADE_REASON_PROTOCOL;
		hard_kill = true;
	}
	up_g.st.wait_status = status;
	if (hard_kill && why_kill == LL_UPGRADE_REASON_TIMEOUT)
		up_finish(LL_UPGRADE_ROLLED_BACK, why_kill, -ETIMEDOUT, out,
			  "the new process %d was not ready within the deadline: killed; this process serves on",
			  (int)pid);
	else if (hard_kill)
		up_finish(LL_UPGRADE_ROLLED_BACK, LL_UPGRADE_REASON_PROTOCOL, -EPROTO, out,
			  "the new process %d closed the readiness pipe without signalling ready: killed; "
			  "this process serves on", (int)pid);
	else if (r == -ECHILD)
		up_finish(LL_UPGRADE_ROLLED_BACK, LL_UPGRADE_REASON_EXITED, -ECHILD, out,
			  "the new process %d ended before it was ready (its status was reaped elsewhere: "
			  "a SIGCHLD handler?); this process serves on", (int)pid);
	else if (WIFSIGNALED(status))
		up_finish(LL_UPGRADE_ROLLED_BACK, LL_UPGRADE_REASON_SIGNALED, -ECHILD, out,
			  "the new process %d was killed by signal %d (%s) before it was ready; this process serves on",
			  (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		up_finish(LL_UPGRADE_ROLLED_BACK, LL_UPGRADE_REASON_EXITED, -ECHILD, out,
			  "the new process %d exited with status %d before it was ready; this process serves on",
			  (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) == 1;
}

/* One look at the running upgrade. Lock held. true when it ended. */
static bool step(struct ll_upgrade_status *out)
{
	char b = 0;
	ssize_t n;

	if (up_g.st.phase != LL_UPGRADE_RUNNING)
		return false;
	if (readable(up_g.ready_rd)) {
		n = read(up_g.ready_rd, &b, 1);
		if (n == 1 && b == UP_READY_BYTE) {
			char msg[64];

			snprintf(msg, sizeof(msg), "MAINPID=%d", (int)up_g.st.new_pid);
			up_notify(msg, NULL, 0);
			up_finish(LL_UPGRADE_READY, LL_UPGRADE_REASON_NONE, 0, out,
				  "the new process %d is ready after %.1f ms: stop accepting, drain, exit",
				  (int)up_g.st.new_pid, (double)(up_now_us() - up_g.t0_us) / 1000.0);
			return true;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return false;
		rollback_dead(out, false, LL_UPGRADE_REASON_EXITED);
		return true;
	}
	if (readable(up_g.pidfd)) {
		rollback_dead(out, false, LL_UPGRADE_REASON_EXITED);
		return true;
	}
	if (readable(up_g.timer)) {
		rollback_dead(out, true, LL_UPGRADE_REASON_TIMEOUT);
		return true;
	}
	return false;
}

int ll_upgrade_dispatch(struct ll_upgrade_status *st)
{
	struct ll_upgrade_status done;
	ll_upgrade_cb cb;
	void *arg;
	bool ended;
	int phase;

	up_control_accept();
	pthread_mutex_lock(&up_g.lock);
	ended = step(&done);
	cb = up_g.cb;
	arg = up_g.cb_arg;
	phase = (int)up_g.st.phase;
	if (st)
		*st = up_g.st;
	pthread_mutex_unlock(&up_g.lock);
	if (ended && cb)
		cb(&done, arg);
	return phase;
}

int ll_upgrade_wait(int timeout_ms, struct ll_upgrade_status *st)
{
	uint64_t end = timeout_ms < 0 ? UINT64_MAX : up_now_us() + (uint64_t)timeout_ms * 1000u;
	int phase;

	for (;;) {
		struct pollfd p[3];
		uint64_t now;
		int n = 0;

		phase = ll_upgrade_dispatch(st);
		now = up_now_us();
		if (phase != LL_UPGRADE_RUNNING || now >= end)
			return phase;
		pthread_mutex_lock(&up_g.lock);
		p[n++] = (struct pollfd){ .fd = up_g.ready_rd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = up_g.pidfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = up_g.timer, .events = POLLIN };
		pthread_mutex_unlock(&up_g.lock);
		/* at most 100 ms a round: other threads may change the set */
		if (poll(p, (nfds_t)n, end - now > 100000 ? 100 : (int)((end - now) / 1000) + 1) < 0 &&
		    errno != EINTR)
			return -errno;
	}
}

int ll_upgrade_status(struct ll_upgrade_status *st)
{
	int phase;

	pthread_mutex_lock(&up_g.lock);
	if (st)
		*st = up_g.st;
	phase = (int)up_g.st.phase;
	pthread_mutex_unlock(&up_g.lock);
	return phase;
}
