/* start.c: ll_upgrade_start(), the old process's half of the hand-over.
 *
 * How it works. Under the module's lock: refuse while an upgrade runs or
 * after one succeeded; check the binary the way plugins are checked (it
 * exists, is executable, and is a complete ELF of this machine: a binary
 * caught mid-copy is refused with -EAGAIN) or a #! script; check that every
 * registered descriptor is still open; build the new environment (ours
 * without any LISTEN_* or LIFELINE_UPGRADE_*, then LISTEN_FDS,
 * LISTEN_FDNAMES, LISTEN_PID whose value the child writes itself just
 * before execve, LIFELINE_UPGRADE_READY and LIFELINE_UPGRADE_STATE); seal
 * the state blob in a memfd; push the descriptors to systemd's fd store
 * when NOTIFY_SOCKET is set; arm the deadline (timerfd); then ll_spawn()
 * with the map registered[i] -> 3+i, readiness socket -> 3+n, memfd -> 4+n,
 * in a thread of its own (the caller's thread serves on; an eventfd says
 * when the spawn is done). Everything that thread uses is copied first.
 * From then on monitor.c follows the new process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/common.h"
#include "lifeline/spawn.h"
#include "upgrade/upgrade_internal.h"

extern char **environ;

#define CMDLINE_MAX (1u << 20)

/* The binary /proc/self/exe names, as it is now on disk: a replaced binary
 * reads "PATH (deleted)"; PATH is then the new file. */
static int self_exe(char *buf, size_t size)
{
	static const char deleted[] = " (deleted)";
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	size_t len;

	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	len = (size_t)n;
	if (len > sizeof(deleted) - 1 && !strcmp(buf + len - (sizeof(deleted) - 1), deleted))
		buf[len - (sizeof(deleted) - 1)] = '\0';
	return 0;
}

/* Exists, regular, executable, and a complete ELF of this machine (or a
 * #! script, whose completeness cannot be told). */
static int check_binary(const char *exe, char *why, size_t why_size)
{
	struct stat st;
	void *map = MAP_FAILED;
	int fd, r;

	fd = open(exe, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		return ll_fail_why(r, why, why_size, "cannot open the new binary %s: %s%s", exe, strerror(-r),
			       r == -ENOENT ? " (install it first)" : "");
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = ll_fail_why(-EACCES, why, why_size, "the new binary %s is not a regular file", exe);
		goto out;
	}
	if (access(exe, X_OK) < 0 || !(st.st_mode & 0111)) {
		r = ll_fail_why(-EACCES, why, why_size, "the new binary %s is not executable (chmod +x it)", exe);
		goto out;
	}
	if (st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (st.st_size > 0 && map == MAP_FAILED) {
		r = ll_fail_why(-errno, why, why_size, "cannot map the new binary %s: %s", exe, strerror(errno));
		goto out;
	}
	if (st.st_size >= 2 && !memcmp(map, "#!", 2)) {
		r = 0;
		goto out;
	}
	{
		char elfwhy[256];

		r = ll_elf_check_complete(map == MAP_FAILED ? "" : map, (size_t)st.st_size, LL_ELF_EXECUTABLE,
					  elfwhy, sizeof(elfwhy));
		if (r < 0)
			ll_fail_why(r, why, why_size, "the new binary %s is refused: %s%s", exe, elfwhy,
				r == -EAGAIN ? "; install binaries with `lifeline install` (atomic rename), then retry"
					     : "");
	}
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return r;
}

/* This process's own arguments, from /proc/self/cmdline: a malloc'ed
 * vector whose strings live in *store. */
static int self_argv(char ***argv, char **store)
{
	size_t len = 0, n = 0, k = 0;
	char *buf = NULL;
	int r = ll_read_file("/proc/self/cmdline", CMDLINE_MAX, &buf, &len);

	if (r < 0)
		return r;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\0';
	if (len && buf[len - 1] != '\0')
		n++;
	*argv = calloc(n + 1, sizeof(char *));
	if (!*argv || len == 0) {
		free(buf);
		free(*argv);
		*argv = NULL;
		return len == 0 ? -ENOENT : -ENOMEM;
	}
	for (size_t i = 0; i < len && k < n; i += strlen(buf + i) + 1)
		(*argv)[k++] = buf + i;
	*store = buf;
	return 0;
}

static bool handover_var(const char *e)
{
	static const char *const vars[] = { "LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "LISTEN_PIDFDID=",
					    UP_ENV_READY "=", UP_ENV_STATE "=" };

	for (size_t i = 0; i < LL_ARRAY_SIZE(vars); i++)
		if (!strncmp(e, vars[i], strlen(vars[i])))
			return true;
	return false;
}

/* A NULL-terminated vector and its strings in one malloc'ed block (the
 * spawn runs in another thread: nothing of the caller's may be used after
 * ll_upgrade_start() returns). skip (may be NULL) drops entries; extra
 * (may be NULL) entries are appended. */
static char **copy_vector(char *const *v, bool (*skip)(const char *), char *const *extra)
{
	size_t n = 0, bytes = 0, k = 0;
	char **out, *p;

	for (int pass = 0; pass < 2; pass++)
		for (char *const *e = pass ? extra : v; e && *e; e++)
			if (pass || !skip || !skip(*e)) {
				n++;
				bytes += strlen(*e) + 1;
			}
	out = malloc((n + 1) * sizeof(char *) + bytes);
	if (!out)
		return NULL;
	p = (char *)(out + n + 1);
	for (int pass = 0; pass < 2; pass++)
		for (char *const *e = pass ? extra : v; e && *e; e++)
			if (pass || !skip || !skip(*e)) {
				size_t len = strlen(*e) + 1;

				memcpy(p, *e, len);
				out[k++] = p;
				p += len;
			}
	out[k] = NULL;
	return out;
}

/* base without the hand-over variables, plus ours; *pid_slot points at
 * LISTEN_PID's value (16 bytes), which the child writes. */
static char **build_env(char *const *base, size_t nfds, const char *names, int ready_fd, int state_fd,
			char **pid_slot)
{
	size_t size = strlen(names) + 64;
	char fdsvar[32], readyvar[64], statevar[64], pidvar[32], *namesvar = malloc(size), **env;
	char *extra[6] = { 0 };
	int k = 0;

	if (!namesvar)
		return NULL;
	snprintf(fdsvar, sizeof(fdsvar), "LISTEN_FDS=%zu", nfds);
	snprintf(namesvar, size, "LISTEN_FDNAMES=%s", names);
	snprintf(pidvar, sizeof(pidvar), "LISTEN_PID=%-15s", "");
	snprintf(readyvar, sizeof(readyvar), UP_ENV_READY "=%d", ready_fd);
	snprintf(statevar, sizeof(statevar), UP_ENV_STATE "=%d", state_fd);
	if (nfds) {
		extra[k++] = pidvar; /* first: found again below */
		extra[k++] = fdsvar;
		extra[k++] = namesvar;
	}
	extra[k++] = readyvar;
	if (state_fd >= 0)
		extra[k++] = statevar;
	env = copy_vector(base, handover_var, extra);
	free(namesvar);
	*pid_slot = NULL;
	for (char **e = env; nfds && e && *e; e++)
		if (!strncmp(*e, "LISTEN_PID=", 11)) {
			*pid_slot = *e + 11;
			break;
		}
	return env;
}

/* The state blob in a memfd sealed against every change. */
static int seal_state(const void *buf, size_t len)
{
	int fd = memfd_create("lifeline-upgrade-state", MFD_CLOEXEC | MFD_ALLOW_SEALING), r;

	if (fd < 0)
		return -errno;
	if (ll_write_all(fd, buf, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = errno ? -errno : -EIO;
		close(fd);
		return r;
	}
	return fd;
}

/* FDSTORE=1 for each registered descriptor, under its name. Best effort:
 * systemd may refuse (no FileDescriptorStoreMax=); the upgrade goes on. */
static void push_fdstore(void)
{
	char msg[LL_UPGRADE_NAME_MAX + 32];

	for (size_t i = 0; i < up_g.nfds; i++) {
		snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", up_g.fds[i].name);
		up_notify(msg, &up_g.fds[i].fd, 1);
	}
}

static int arm_deadline(int ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Refuse while an upgrade runs or after one succeeded. Lock held. */
static int refuse_busy(char *why, size_t why_size)
{
	const struct ll_upgrade_status *s = &up_g.st;

	if (s->phase == LL_UPGRADE_RUNNING)
		return ll_fail_why(-EBUSY, why, why_size,
			       "an upgrade is running already (new pid %d, started %llu ms ago): wait for its outcome",
			       (int)s->new_pid, (unsigned long long)((up_now_us() - up_g.t0_us) / 1000));
	if (s->phase == LL_UPGRADE_READY)
		return ll_fail_why(-EBUSY, why, why_size,
			       "this process handed over to pid %d already and is draining: upgrade pid %d instead",
			       (int)s->new_pid, (int)s->new_pid);
	return 0;
}

/* The spawn, in its own thread: ll_spawn() suspends the calling thread
 * until the child has called execve, which on a loaded machine is a whole
 * scheduling period (the new task queues behind the others): the
 * service's own thread must go on serving meanwhile. */
static void *spawn_thread(void *arg)
{
	struct up_job *j = arg;
	struct ll_spawn_opts so = { .path = j->exe, .fds = j->map, .nfds = j->nmap, .envp = j->envp,
				    .pid_slot = j->pid_slot, .pid_slot_size = j->pid_slot ? 16 : 0 };
	uint64_t one = 1;

	j->r = ll_spawn(j->argv, &so, &j->pid, &j->pidfd);
	/* the child holds its copies now */
	close(j->child_end);
	if (j->state_fd >= 0)
		close(j->state_fd);
	j->child_end = j->state_fd = -1;
	if (write(j->done_fd, &one, sizeof(one)) < 0)
		j->r = j->r < 0 ? j->r : -errno; /* cannot happen with an eventfd */
	return NULL;
}

void up_job_free(struct up_job *j)
{
	if (!j)
		return;
	if (j->child_end >= 0)
		close(j->child_end);
	if (j->state_fd >= 0)
		close(j->state_fd);
	free(j->argv);
	free(j->envp);
	free(j);
}

static int launch(struct up_job *j)
{
	sigset_t all, old;
	int r;

	/* the thread takes no signal meant for the service */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&j->thread, NULL, spawn_thread, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		/* no thread: spawn here, the outcome is the same */
		spawn_thread(j);
		j->joined = true;
	}
	return 0;
}

int ll_upgrade_start(const struct ll_upgrade_opts *opts, char *why, size_t why_size)
{
	static const struct ll_upgrade_opts defaults;
	const struct ll_upgrade_opts *o = opts ? opts : &defaults;
	struct ll_upgrade_status done;
	struct up_job *job = NULL;
	char **own_argv = NULL, *argv_store = NULL;
	int pipefd[2] = { -1, -1 }, state_fd = -1, timer = -1, done_fd = -1, r;
	enum ll_upgrade_reason reason = LL_UPGRADE_REASON_ERROR;
	size_t n, off = 0;
	char local_why[512];

	if (!why || !why_size) {
		why = local_why;
		why_size = sizeof(local_why);
	}
	why[0] = '\0';
	pthread_mutex_lock(&up_g.lock);
	r = refuse_busy(why, why_size);
	if (r < 0) {
		pthread_mutex_unlock(&up_g.lock);
		return r;
	}
	memset(&up_g.st, 0, sizeof(up_g.st));
	up_g.st.phase = LL_UPGRADE_RUNNING;
	up_g.st.old_pid = getpid();
	up_g.t0_us = up_now_us();
	up_g.cb = o->callback;
	up_g.cb_arg = o->callback_arg;
	{
		const char *cd = o->crash_dir ? o->crash_dir : secure_getenv("LIFELINE_CRASH_DIR");

		snprintf(up_g.crash_dir, sizeof(up_g.crash_dir), "%s", cd ? cd : "");
	}
	n = up_g.nfds;
	up_g.st.nfds = (unsigned)n;
	up_g.st.state_size = up_g.state_len;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(up_g.st.fdnames + off, sizeof(up_g.st.fdnames) - off, "%s%s", i ? ":" : "",
					up_g.fds[i].name);
	job = calloc(1, sizeof(*job));
	if (!job) {
		r = ll_fail_why(-ENOMEM, why, why_size, "out of memory");
		goto fail;
	}
	job->child_end = job->state_fd = job->pidfd = -1;

	r = o->exe ? (snprintf(job->exe, sizeof(job->exe), "%s", o->exe) < (int)sizeof(job->exe) ? 0 : -ENAMETOOLONG)
		   : self_exe(job->exe, sizeof(job->exe));
	if (r < 0) {
		ll_fail_why(r, why, why_size, "cannot name the new binary (/proc/self/exe): %s", strerror(-r));
		goto fail;
	}
	snprintf(up_g.st.exe, sizeof(up_g.st.exe), "%s", job->exe);
	reason = LL_UPGRADE_REASON_REFUSED;
	r = check_binary(job->exe, why, why_size);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (fcntl(up_g.fds[i].fd, F_GETFD) < 0) {
			r = ll_fail_why(-EBADF, why, why_size,
				    "descriptor %d registered as '%s' is closed: ll_upgrade_unregister() it first",
				    up_g.fds[i].fd, up_g.fds[i].name);
			goto fail;
		}
	reason = LL_UPGRADE_REASON_ERROR;
	if (!o->argv && (r = self_argv(&own_argv, &argv_store)) < 0) {
		ll_fail_why(r, why, why_size, "cannot read this process's arguments (/proc/self/cmdline): %s",
			strerror(-r));
		goto fail;
	}
	/* a socket pair rather than a pipe: the new process's send() gets
	 * EPIPE, not SIGPIPE, when this process is gone */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipefd) < 0) {
		r = ll_fail_why(-errno, why, why_size, "cannot create the readiness socket: %s", strerror(errno));
		goto fail;
	}
	if (up_g.state_len && (r = seal_state(up_g.state, up_g.state_len)) < 0) {
		ll_fail_why(r, why, why_size, "cannot seal the state blob in a memfd: %s", strerror(-r));
		goto fail;
	}
	state_fd = up_g.state_len ? r : -1;
	for (size_t i = 0; i < n; i++)
		job->map[job->nmap++] = (struct ll_spawn_fd){ up_g.fds[i].fd, 3 + (int)i };
	job->map[job->nmap++] = (struct ll_spawn_fd){ pipefd[1], 3 + (int)n };
	if (state_fd >= 0)
		job->map[job->nmap++] = (struct ll_spawn_fd){ state_fd, 4 + (int)n };
	job->argv = copy_vector(o->argv ? o->argv : own_argv, NULL, NULL);
	job->envp = build_env(o->envp ? o->envp : environ, n, up_g.st.fdnames, 3 + (int)n,
			      state_fd >= 0 ? 4 + (int)n : -1, &job->pid_slot);
	if (!job->argv || !job->envp) {
		r = ll_fail_why(-ENOMEM, why, why_size, "cannot build the new process's arguments and environment");
		goto fail;
	}
	timer = arm_deadline(o->ready_timeout_ms > 0 ? o->ready_timeout_ms : LL_UPGRADE_READY_TIMEOUT_MS);
	done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (timer < 0 || done_fd < 0) {
		r = timer < 0 ? timer : -errno;
		ll_fail_why(r, why, why_size, "cannot create the deadline timer or the spawn event: %s", strerror(-r));
		goto fail;
	}
	push_fdstore();
	job->child_end = pipefd[1];
	job->state_fd = state_fd;
	job->done_fd = done_fd;
	pipefd[1] = state_fd = -1;
	up_g.ready_rd = pipefd[0];
	up_g.timer = timer;
	up_g.spawn_done = done_fd;
	up_g.job = job;
	up_ep_add(up_g.ready_rd);
	up_ep_add(up_g.timer);
	up_ep_add(up_g.spawn_done);
	launch(job);
	snprintf(up_g.st.why, sizeof(up_g.st.why), "starting %.400s with %zu descriptor%s; waiting for it",
		 job->exe, n, n == 1 ? "" : "s");
	snprintf(why, why_size, "%s", up_g.st.why);
	free(own_argv);
	free(argv_store);
	pthread_mutex_unlock(&up_g.lock);
	return 0;

fail:
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	if (state_fd >= 0)
		close(state_fd);
	if (timer >= 0)
		close(timer);
	if (done_fd >= 0)
		close(done_fd);
	up_job_free(job);
	free(own_argv);
	free(argv_store);
	up_finish(LL_UPGRADE_ROLLED_BACK, reason, r, &done, "%s", why);
	pthread_mutex_unlock(&up_g.lock);
	if (done.phase == LL_UPGRADE_ROLLED_BACK && o->callback)
		o->callback(&done, o->callback_arg);
	return r;
}
