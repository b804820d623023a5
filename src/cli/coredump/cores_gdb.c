/* cores_gdb.c: `lifeline cores gdb`: gdb on a stored core, without letting
 * the crashed process's bytes steer root's gdb.
 *
 * gdb reads the library list (link_map) from the core's memory, which the
 * crashed process wrote: an l_name naming a FIFO blocks root's gdb in open()
 * forever, a device node would be opened. So, run by root:
 *  - on a core the record says its uid may read (readable_by_uid): gdb runs
 *    as that uid (common/sandbox.c's drop), which opens only what it could
 *    open anyway;
 *  - on a root-only core (set-uid, root's own, or an old record): gdb runs as
 *    root with a private sysroot, a fresh 0700 directory holding copies of
 *    the executable and of the libraries the record's memory map names,
 *    each opened through ll_safe_open_regular() (regular files only, the
 *    inode checked; FIFOs, devices and symlinks are never opened): `set
 *    sysroot` and `solib-search-path` point there, the inferior environment
 *    is emptied (gdb would otherwise look for a library's basename along
 *    $PATH and $LD_LIBRARY_PATH), so a name from the core resolves only to a
 *    copy or to nothing.
 * Either way gdb gets -nx, auto-load off, debuginfod off, an environment of
 * PATH and a sane TERM only, its own session (no controlling terminal: it
 * cannot push input into root's shell with TIOCSTI) and process group; when
 * stdin is not a terminal, the group is killed after GDB_BATCH_TIMEOUT_S.
 * Not root: gdb is exec'ed directly, with the caller's own rights. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/coredump/cores_cli.h"
#include "cli/commands.h"
#include "cli/coredump/cores_gdb.h"
#include "cli/output.h"
#include "common/common.h"
#include "common/escape.h"
#include "common/sandbox.h"

#define GDB_BATCH_TIMEOUT_S 120
#define SYSROOT_MAX_FILES 512
#define SYSROOT_MAX_BYTES (4ull << 30)
#define GDB_MAX_ARGS 32

/* Remove the tree under dfd (closed), never following a symlink. */
static void rm_tree_at(int dfd)
{
	DIR *d = ll_opendir_at(dfd, NULL, 0); /* its own duplicate of dfd */
	struct dirent *de;

	close(dfd);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno != EISDIR)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rm_tree_at(sub);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static void rm_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		rm_tree_at(fd);
	rmdir(path);
}

/* Copy the regular file at path (absolute) to root/path. Components are
 * created with mkdirat/openat(O_NOFOLLOW) inside root only; "." and ".."
 * are refused. Adds the bytes to *total. */
static int copy_into(int rootfd, const char *path, uint64_t *total)
{
	char buf[4096], *comp, *save = NULL, *next;
	int dfd, src, dst, r;
	struct stat st;

	if (path[0] != '/' || strlen(path) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", path);
	src = ll_safe_open_regular(path, SYSROOT_MAX_BYTES - *total, &st);
	if (src < 0)
		return src;
	dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	r = dfd < 0 ? -errno : 0;
	for (comp = strtok_r(buf, "/", &save); r == 0 && comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			r = -EINVAL;
			break;
		}
		if (next) {
			int sub;

			if (mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			sub = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = -errno;
				break;
			}
			close(dfd);
			dfd = sub;
			continue;
		}
		dst = openat(dfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (dst < 0) {
			r = errno == EEXIST ? 0 : -errno;
			break;
		}
		r = ll_copy_read_write(src, dst, SYSROOT_MAX_BYTES - *total, total);
		if (close(dst) < 0 && r == 0)
			r = -errno;
		/* Also as root/<basename>, for solib-search-path (the core's
		 * name for a library may differ from the mapped path). */
		if (r == 0)
			linkat(dfd, comp, rootfd, comp, 0);
	}
	if (dfd >= 0)
		close(dfd);
	close(src);
	return r;
}

/* The top-level symlinks of / that stay inside it (merged /usr: /lib ->
 * usr/lib), mirrored, so that a name from the core such as
 * /lib/x86_64-linux-gnu/libc.so.6 finds the copy of /usr/lib/... */
static void mirror_root_links(int rootfd)
{
	DIR *d = opendir("/");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char target[256];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (target[0] == '/' || strstr(target, ".."))
			continue;
		symlinkat(target, rootfd, de->d_name);
	}
	if (d)
		closedir(d);
}

static void count(int r, unsigned *copied, unsigned *refused)
{
	if (r == 0)
		(*copied)++;
	else
		(*refused)++;
}

/* The private sysroot: the executable and every file of the record's maps. */
static int make_sysroot(const struct ll_store_entry *e, const char *exe, char *dir, size_t size,
			unsigned *copied, unsigned *refused)
{
	const char *tmp = secure_getenv("TMPDIR");
	json_object *maps, *m, *v;
	uint64_t total = 0;
	int rootfd;

	*copied = *refused = 0;
	snprintf(dir, size, "%s/lifeline-gdb-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -errno;
	rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	mirror_root_links(rootfd);
	if (exe[0] == '/')
		count(copy_into(rootfd, exe, &total), copied, refused);
	if (json_object_object_get_ex(e->meta, "maps", &maps) && json_object_is_type(maps, json_type_array)) {
		size_t n = json_object_array_length(maps);

		for (size_t i = 0; i < n && *copied + *refused < SYSROOT_MAX_FILES; i++) {
			const char *path;
			char probe[4200];
			struct stat st;

			m = json_object_array_get_idx(maps, i);
			if (!json_object_object_get_ex(m, "path", &v) || !json_object_is_type(v, json_type_string))
				continue;
			/* escaped in the record (common/escape.h): the path's bytes */
			path = ll_unescape(json_object_get_string(v), (size_t)json_object_get_string_len(v), NULL);
			if (!path || path[0] != '/' || strstr(path, " (deleted)")) {
				free((char *)path);
				continue;
			}
			snprintf(probe, sizeof(probe), "%s%s", dir, path);
			if (fstatat(AT_FDCWD, probe, &st, AT_SYMLINK_NOFOLLOW) != 0) /* else copied already */
				count(copy_into(rootfd, path, &total), copied, refused);
			free((char *)path);
		}
	}
	close(rootfd);
	return 0;
}

/* TERM for gdb's line editing, if it is a plain terminal name. */
static void term_env(char *buf, size_t size)
{
	const char *t = getenv("TERM");

	buf[0] = '\0';
	if (t && *t && strlen(t) < 64 && strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789.-_+") == strlen(t))
		snprintf(buf, size, "TERM=%s", t);
}

/* gdb's path along our PATH, found before the child drops its rights (and
 * its environment); "" when there is none. */
static void find_gdb(char *out, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save = NULL;

	out[0] = '\0';
	snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (dir[0] != '/')
			continue; /* a relative PATH entry is the current directory's */
		snprintf(out, size, "%s/gdb", dir);
		if (access(out, X_OK) == 0)
			return;
	}
	out[0] = '\0';
}

/* Run argv as a child (its own session), as uid/gid when uid != 0; wait,
 * with a time limit when stdin is not a terminal. Returns the exit code. */
static int run_gdb(char **argv, uid_t uid, gid_t gid)
{
	char term[80], *envp[3] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL, NULL };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	bool timed = !isatty(STDIN_FILENO);
	char gdb[4200];
	struct timespec t0, t;
	int status = 0;
	pid_t pid;

	find_gdb(gdb, sizeof(gdb));
	if (!gdb[0]) {
		out_error("cores", "cannot run gdb: not found in PATH (install the gdb package, or use "
			  "'lifeline cores dump')");
		return LL_EXIT_FAIL;
	}
	term_env(term, sizeof(term));
	if (term[0])
		envp[1] = term;
	fflush(NULL);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid < 0) {
		out_error("cores", "cannot fork gdb: %s", strerror(errno));
		return LL_EXIT_FAIL;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		if (setsid() < 0 || (uid != 0 && (chdir("/") < 0 ||
						  ll_sandbox_enter(uid, gid, LL_SANDBOX_PDEATHSIG) < 0)))
			_exit(126);
		execve(gdb, argv, envp);
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &status, timed ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (timed && t.tv_sec - t0.tv_sec >= GDB_BATCH_TIMEOUT_S) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			out_error("cores", "gdb did not finish within %d s with no terminal on stdin: "
				  "killed it and its process group", GDB_BATCH_TIMEOUT_S);
			status = -1;
			break;
		}
		if (timed)
			usleep(50 * 1000);
	}
	/* Anything gdb left in its group goes too. */
	kill(-pid, SIGKILL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (status == -1)
		return LL_EXIT_FAIL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		out_error("cores", "cannot run gdb (install the gdb package, or use 'lifeline cores dump')");
		return LL_EXIT_FAIL;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126) {
		out_error("cores", "cannot drop to uid %u to run gdb", (unsigned)uid);
		return LL_EXIT_FAIL;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? LL_EXIT_OK : LL_EXIT_FAIL;
}

int cores_gdb(int storefd, const struct ll_store_entry *e)
{
	char core[64], exe[4096], sysroot[4200] = "", exe_arg[8400];
	char iex_sysroot[4300], iex_search[4300];
	char *argv[GDB_MAX_ARGS];
	json_object *v;
	uint64_t size;
	bool trunc, as_user;
	uid_t uid = 0;
	gid_t gid = 0;
	int fd, n = 0, rc;

	fd = cores_decompress_tmp(storefd, e, true, &size, &trunc);
	if (fd < 0) {
		out_error("cores", "%s: cannot decompress: %s", e->id, strerror(-fd));
		return LL_EXIT_FAIL;
	}
	snprintf(core, sizeof(core), "/proc/self/fd/%d", fd);
	{
		/* the record's exe is escaped (common/escape.h): the path's bytes */
		char *raw = ll_unescape(e->exe, strlen(e->exe), NULL);

		snprintf(exe, sizeof(exe), "%s", raw ? raw : "");
		free(raw);
	}
	{
		char *del = strstr(exe, " (deleted)");

		if (del && !del[10])
			*del = '\0';
	}
	if (trunc)
		fprintf(stderr, "lifeline cores: note: the stored core is truncated\n");
	as_user = e->uid != 0 && json_object_object_get_ex(e->meta, "readable_by_uid", &v) &&
		  json_object_get_boolean(v);
	argv[n++] = "gdb";
	argv[n++] = "-nx";
	argv[n++] = "-iex";
	argv[n++] = "set auto-load off";
	argv[n++] = "-iex";
	argv[n++] = "set debuginfod enabled off";
	if (geteuid() != 0) {
		/* The caller's own rights: as before, gdb replaces us. */
		fprintf(stderr, "lifeline cores: running gdb with -nx and auto-load off (the executable and "
			"its libraries belong to the crashing user)\n");
		if (exe[0] == '/') {
			argv[n++] = "-se";
			argv[n++] = exe;
		}
		argv[n++] = "-c";
		argv[n++] = core;
		argv[n] = NULL;
		fflush(NULL);
		execvp("gdb", argv);
		out_error("cores", "cannot run gdb: %s (install the gdb package, or use 'lifeline cores dump')",
			  strerror(errno));
		close(fd);
		return LL_EXIT_FAIL;
	}
	if (as_user) {
		uid = e->uid;
		gid = json_object_object_get_ex(e->meta, "gid", &v) ? (gid_t)json_object_get_int64(v) : 0;
		if (gid == 0)
			gid = (gid_t)uid;
		/* gdb as the uid reopens the core through its descriptor. */
		if (fchmod(fd, 0444) < 0) {
			out_error("cores", "%s: cannot set up the core for uid %u: %s", e->id, (unsigned)uid,
				  strerror(errno));
			close(fd);
			return LL_EXIT_FAIL;
		}
		fprintf(stderr, "lifeline cores: running gdb as uid %u (the crash's uid, which may read this "
			"core), with -nx and auto-load off\n", (unsigned)uid);
		if (exe[0] == '/') {
			argv[n++] = "-se";
			argv[n++] = exe;
		}
	} else {
		unsigned copied = 0, refused = 0;
		int r = make_sysroot(e, exe, sysroot, sizeof(sysroot), &copied, &refused);

		if (r < 0) {
			out_error("cores", "%s: this core is root's only (set-uid, or root's own), and gdb would "
				  "open whatever files the core names; the private sysroot for it could not be "
				  "made (%s), so gdb is not run", e->id, strerror(-r));
			if (sysroot[0])
				rm_tree(sysroot);
			close(fd);
			return LL_EXIT_FAIL;
		}
		fprintf(stderr, "lifeline cores: root-only core: gdb runs with a private sysroot of %u "
			"regular files copied from the record's memory map (%u not copied: not regular files "
			"or unreadable); the library names in the core resolve only there\n", copied, refused);
		snprintf(iex_sysroot, sizeof(iex_sysroot), "set sysroot %s", sysroot);
		snprintf(iex_search, sizeof(iex_search), "set solib-search-path %s", sysroot);
		argv[n++] = "-iex";
		argv[n++] = "set confirm off";
		argv[n++] = "-iex";
		argv[n++] = "unset environment";
		argv[n++] = "-iex";
		argv[n++] = iex_sysroot;
		argv[n++] = "-iex";
		argv[n++] = iex_search;
		snprintf(exe_arg, sizeof(exe_arg), "%s%s", sysroot, exe);
		if (exe[0] == '/' && access(exe_arg, R_OK) == 0) {
			argv[n++] = "-se";
			argv[n++] = exe_arg;
		}
	}
	argv[n++] = "-c";
	argv[n++] = core;
	argv[n] = NULL;
	rc = run_gdb(argv, uid, gid);
	if (sysroot[0])
		rm_tree(sysroot);
	close(fd);
	return rc;
}
