/* wait.c: waiting for a spawned child, with a timeout.
 *
 * With a pidfd the wait is a poll(2) for POLLIN on it (readable once the
 * process has ended), restarted with the remaining time after a signal.
 * Without one (kernels before 5.3), waitid(WNOHANG | WNOWAIT) is asked at
 * growing intervals up to 10 ms. The child is reaped with waitpid only once
 * it has ended, so a timeout leaves it running and waitable. */
#include <errno.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>

#include "lifeline/spawn.h"
#include "spawn/spawn_internal.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ll_spawn_wait_ready(pid_t pid, int pidfd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	long sleep_us = 100;

	for (;;) {
		long long left = deadline - now_ms();

		if (left < 0)
			left = 0;
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			int n = poll(&p, 1, (int)left);

			if (n > 0)
				return 0;
			if (n < 0 && errno != EINTR)
				return -errno;
			if (n == 0)
				return -ETIMEDOUT;
		} else {
			siginfo_t si = { 0 };
			struct timespec ts;

			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
				if (errno != EINTR)
					return -errno;
				continue;
			}
			if (si.si_pid == pid)
				return 0;
			if (left == 0)
				return -ETIMEDOUT;
			ts.tv_sec = 0;
			ts.tv_nsec = (sleep_us < left * 1000 ? sleep_us : left * 1000) * 1000;
			nanosleep(&ts, NULL);
			if (sleep_us < 10000)
				sleep_us *= 2;
		}
	}
}

int ll_spawn_wait(pid_t pid, int pidfd, int timeout_ms, int *status)
{
	int st = 0;
	pid_t w;

	if (pid <= 0)
		return -EINVAL;
	if (timeout_ms >= 0) {
		int r = ll_spawn_wait_ready(pid, pidfd, timeout_ms);

		if (r < 0)
			return r;
	}
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		return -errno;
	if (status)
		*status = st;
	return 0;
}
