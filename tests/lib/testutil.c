/* testutil.c: global-state save/restore, temp dirs, running commands. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ll_config.h"
#include "testutil.h"

static const char *const saved_names[] = {
	"kernel/core_pattern", "kernel/core_pipe_limit", "fs/suid_dumpable",
};
static char saved_values[3][512];
static int saved_ok[3];
static struct rlimit saved_core;
static int saved;
static char tmpdirs[8][256];
static int ntmpdirs;

int tu_sysctl_write(const char *name, const char *value)
{
	char path[256];
	int fd, r = 0;
	size_t len = strlen(value);

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		r = -errno;
	close(fd);
	return r;
}

int tu_sysctl_read(const char *name, char *buf, size_t size)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

static void restore_global_state(void)
{
	if (!saved)
		return;
	for (size_t i = 0; i < 3; i++)
		if (saved_ok[i])
			tu_sysctl_write(saved_names[i], saved_values[i]);
	setrlimit(RLIMIT_CORE, &saved_core);
}

static void cleanup_tmpdirs(void)
{
	if (getenv("LL_TEST_KEEP"))
		return;
	for (int i = 0; i < ntmpdirs; i++)
		tu_rm_rf(tmpdirs[i]);
}

#define TU_MAX_USERS 8
static char users[TU_MAX_USERS][40];
static int nusers;

static void run_quiet(const char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

void tu_user_delete(const char *name)
{
	const char *kill_argv[] = { "pkill", "-KILL", "-u", name, NULL };
	const char *del_argv[] = { "userdel", "-f", name, NULL };

	if (!name || !*name)
		return;
	run_quiet(kill_argv);
	run_quiet(del_argv);
	for (int i = 0; i < nusers && i < TU_MAX_USERS; i++)
		if (strcmp(users[i], name) == 0)
			users[i][0] = '\0';
}

static void cleanup_users(void)
{
	for (int i = 0; i < nusers; i++)
		if (users[i][0]) {
			char name[sizeof(users[i])];

			memcpy(name, users[i], sizeof(name));
			tu_user_delete(name);
		}
}

static void on_exit_cleanup(void)
{
	restore_global_state();
	cleanup_users();
	cleanup_tmpdirs();
}

static void on_term(int sig)
{
	restore_global_state();
	cleanup_users();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void register_cleanup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	atexit(on_exit_cleanup);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, on_term);
}

void tu_save_global_state(void)
{
	if (saved)
		return;
	for (size_t i = 0; i < 3; i++)
		saved_ok[i] = tu_sysctl_read(saved_names[i], saved_values[i],
					     sizeof(saved_values[i])) == 0;
	getrlimit(RLIMIT_CORE, &saved_core);
	saved = 1;
	register_cleanup();
}

int tu_user_create(const char *tag, uid_t *uid, gid_t *gid, char *name, size_t name_size)
{
	char user[40];
	struct passwd *pw;

	if (geteuid() != 0)
		return -EPERM;
	if (!tag || strlen(tag) > 12 || nusers >= TU_MAX_USERS)
		return -EINVAL;
	snprintf(user, sizeof(user), "llt-%s-%d", tag, (int)getpid());
	register_cleanup();
	tu_user_delete(user); /* a leftover of a killed run with a reused pid */
	{
		const char *argv[] = { "useradd", "--system", "--no-create-home", "--user-group",
				       "--shell", "/usr/sbin/nologin", user, NULL };

		run_quiet(argv);
	}
	pw = getpwnam(user);
	if (!pw)
		return -ENOENT;
	snprintf(users[nusers++], sizeof(users[0]), "%s", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (name && name_size)
		snprintf(name, name_size, "%s", user);
	return 0;
}

int tu_mkdtemp(char *buf, size_t size)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, size, "%s/lifeline-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(buf))
		return -errno;
	if (ntmpdirs < 8)
		snprintf(tmpdirs[ntmpdirs++], sizeof(tmpdirs[0]), "%s", buf);
	register_cleanup();
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

int tu_rm_rf(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

static char *slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

int tu_run(char *const argv[], const char *in, char **out, char **err)
{
	char outpath[] = "/tmp/tu-out-XXXXXX", errpath[] = "/tmp/tu-err-XXXXXX";
	int ofd = mkstemp(outpath), efd = mkstemp(errpath), pin[2], status = 0;
	pid_t pid;

	if (ofd < 0 || efd < 0 || pipe2(pin, O_CLOEXEC) < 0)
		return -errno;
	unlink(outpath);
	unlink(errpath);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	if (in) {
		signal(SIGPIPE, SIG_IGN);
		size_t len = strlen(in);
		while (len > 0) {
			ssize_t n = write(pin[1], in, len);
			if (n <= 0)
				break;
			in += n;
			len -= (size_t)n;
		}
	}
	close(pin[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (out) {
		lseek(ofd, 0, SEEK_SET);
		*out = slurp_fd(ofd);
	}
	if (err) {
		lseek(efd, 0, SEEK_SET);
		*err = slurp_fd(efd);
	}
	close(ofd);
	close(efd);
	return status;
}

const char *tu_lifeline(void)
{
	const char *p = getenv("LIFELINE");

	return p ? p : LL_BUILD_ROOT "/src/cli/lifeline";
}

const char *tu_build_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("LL_BUILD_ROOT");

	snprintf(buf, sizeof(buf), "%s/%s", root ? root : LL_BUILD_ROOT, rel);
	return buf;
}

const char *tu_source_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("LL_SOURCE_ROOT");

	snprintf(buf, sizeof(buf), "%s/%s", root ? root : LL_SOURCE_ROOT, rel);
	return buf;
}

int tu_sanitized(void)
{
	return LL_SANITIZED;
}
