/* cores_analyze.c: the analysis of a stored core for `lifeline cores info`
 * and `list --top`, never with root's rights.
 *
 * The core, its executable and its libraries are attacker bytes, and the
 * analysis (libdwfl, capstone, our unwinder) is a large parser. Run by root,
 * it always runs in a child, never in root's own process: as the crash's uid
 * when the record says the core is readable by it (readable_by_uid), and
 * otherwise (a set-uid crash, root's own, an old record) as the dedicated
 * system user lifeline-coredump (common/sandbox.c; nobody when it does not
 * exist), which no login can act as: the real uid of a set-uid crash never
 * gets a root-only core. The child is set up by ll_sandbox_enter()
 * (undumpable before the uid changes, no groups, all ids dropped, no new
 * privileges, RLIMIT_CORE 0, killed when we die), in its own session (no
 * controlling terminal: no TIOCSTI into root's shell), and exec's `lifeline
 * cores __analyze` (execveat of this very binary: a fresh image, nothing of
 * root's memory) with an EMPTY environment, the decompressed core on fd 3
 * (root's unlinked O_TMPFILE, mode 0444, which cannot be linked anywhere;
 * never chown'ed), the record as JSON on fd 4, no terminal (its answer, the
 * analysis as JSON, comes back through a pipe, bounded; cmd_cores.c prints
 * it with ll_core_analysis_print_json(), which trusts none of its strings). The
 * new image makes itself undumpable first thing. While it runs, root watches
 * it: a child stopped (SIGSTOP by its uid) or traced is killed at once with
 * its process group, and so is one past the time limit, so root's command
 * never hangs. Not root: the analysis runs in-process (the caller's own
 * rights). Between fork() and exec only system calls run. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/coredump/cores_analyze.h"
#include "cli/coredump/cores_cli.h"
#include "cli/output.h"
#include "common/common.h"
#include "common/escape.h"
#include "common/sandbox.h"
#include "lifeline/inspect/core.h"

#define CHILD_OUTPUT_MAX (64u << 20)
#define CHILD_TIME_MAX_MS (120 * 1000)
#define CHILD_WATCH_MS 200

static bool demangle = true; /* C++ names, unless --no-demangle */

void cores_analyze_demangle(bool on)
{
	demangle = on;
}

void cores_analysis_free(struct cores_analysis *o)
{
	json_object_put(o->json);
	free(o->top);
	memset(o, 0, sizeof(*o));
}

/* The analysis of the core at path (with its record meta), into o. */
static int analyze_here(const char *path, json_object *meta, const char *exe, struct cores_analysis *o)
{
	struct ll_core_options opts = { 0 };
	struct ll_core_analysis *a = NULL;
	json_object *id, *top;
	char *exe_path;
	int r;

	opts.metadata = meta;
	opts.no_demangle = !demangle;
	/* the store id, not the /proc/self/fd/N of the decompressed copy */
	if (meta && json_object_object_get_ex(meta, "id", &id) && json_object_is_type(id, json_type_string))
		opts.core_name = json_object_get_string(id);
	/* the record's exe is escaped for JSON (common/escape.h): the path's bytes */
	exe_path = exe && exe[0] == '/' ? ll_unescape(exe, strlen(exe), NULL) : NULL;
	opts.exe_hint = exe_path;
	opts.errbuf = o->err;
	opts.errbuf_size = sizeof(o->err);
	r = ll_core_analyze(path, &opts, &a);
	free(exe_path);
	if (r < 0) {
		if (!o->err[0])
			snprintf(o->err, sizeof(o->err), "analysis failed: %s", strerror(-r));
		return -1;
	}
	o->json = ll_core_analysis_json(a);
	/* the top frame as in the JSON (escaped for JSON), as the child sends it */
	if (json_object_object_get_ex(o->json, "top_frame", &top) && top)
		o->top = strdup(json_object_get_string(top));
	ll_core_analysis_free(a);
	return 0;
}

/* Is the child stopped or traced by somebody? (its /proc/PID/status) */
static bool child_held(pid_t pid)
{
	char path[64], *st = NULL, *p;
	bool held = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (ll_read_file(path, 64 * 1024, &st, NULL) < 0)
		return false;
	p = strstr(st, "\nState:");
	if (p) {
		p += 7;
		p += strspn(p, " \t");
		held = *p == 'T' || *p == 't';
	}
	p = strstr(st, "\nTracerPid:");
	if (p && strtol(p + 11, NULL, 10) != 0)
		held = true;
	free(st);
	return held;
}

/* Read all of fd (at most max bytes) into a NUL-terminated buffer, within
 * deadline_ms. pid > 0: the writer, checked every CHILD_WATCH_MS; when it is
 * stopped or traced, give up at once (*held). */
static char *read_bounded(int fd, size_t max, int deadline_ms, pid_t pid, bool *held, size_t *lenp)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	struct timespec t0, t;

	if (held)
		*held = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (buf) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;
		ssize_t n;
		int pr;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = deadline_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			goto fail;
		pr = poll(&p, 1, pid > 0 && left > CHILD_WATCH_MS ? CHILD_WATCH_MS : (int)left);
		if (pr < 0 && errno != EINTR)
			goto fail;
		if (pr <= 0) {
			if (pid > 0 && child_held(pid)) {
				if (held)
					*held = true;
				goto fail;
			}
			continue;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			char *nb;

			if (cap >= max)
				goto fail;
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				goto fail;
			buf = nb;
		}
	}
	if (buf)
		buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	return NULL;
}

/* Whom the analysis of e runs as: the crash's uid when its record lets it
 * read the core, else the dedicated user. */
static void analysis_identity(const struct ll_store_entry *e, struct ll_sandbox_id *id)
{
	json_object *v;

	if (e->uid != 0 && json_object_object_get_ex(e->meta, "readable_by_uid", &v) &&
	    json_object_get_boolean(v)) {
		memset(id, 0, sizeof(*id));
		id->uid = e->uid;
		id->gid = json_object_object_get_ex(e->meta, "gid", &v) ? (gid_t)json_object_get_int64(v)
									 : (gid_t)e->uid;
		if (id->gid == 0)
			id->gid = (gid_t)e->uid;
		snprintf(id->user, sizeof(id->user), "uid %u", (unsigned)e->uid);
		return;
	}
	ll_sandbox_identity(NULL, id);
}

static int analyze_in_child(int storefd, const struct ll_store_entry *e, struct cores_analysis *o)
{
	json_object *res = NULL, *v;
	struct ll_sandbox_id id;
	const char *meta_text;
	char *out = NULL, *const envp[] = { NULL };
	size_t outlen = 0;
	uint64_t size;
	bool trunc, held = false;
	int core = -1, meta = -1, exe = -1, devnull = -1, p[2] = { -1, -1 }, status = 0, r = -1;
	pid_t pid;
	char *argv[9];
	int n = 0;

	analysis_identity(e, &id);
	argv[n++] = "lifeline";
	argv[n++] = "cores";
	argv[n++] = "__analyze";
	if (!demangle)
		argv[n++] = "--no-demangle";
	if (e->exe[0] == '/') {
		argv[n++] = "--exe";
		argv[n++] = (char *)e->exe;
	}
	argv[n] = NULL;

	core = cores_decompress_tmp(storefd, e, false, &size, &trunc);
	if (core < 0) {
		snprintf(o->err, sizeof(o->err), "cannot decompress the core: %s", strerror(-core));
		return -1;
	}
	meta_text = json_object_to_json_string_ext(e->meta, JSON_C_TO_STRING_PLAIN);
	meta = memfd_create("lifeline-record", MFD_CLOEXEC);
	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Root's file, readable through the descriptor the child holds (its
	 * /proc/self/fd/3): unlinked, and O_EXCL, so never linkable. */
	if (meta < 0 || exe < 0 || devnull < 0 || pipe2(p, O_CLOEXEC) < 0 ||
	    write(meta, meta_text, strlen(meta_text)) != (ssize_t)strlen(meta_text) ||
	    lseek(meta, 0, SEEK_SET) < 0 || fchmod(core, 0444) < 0) {
		snprintf(o->err, sizeof(o->err), "cannot set up the analysis: %s", strerror(errno));
		goto out;
	}
	/* Above the child's targets (0-5), so that every dup2() below really
	 * duplicates (and so clears close-on-exec). */
	{
		int *fds[] = { &core, &meta, &exe, &devnull, &p[1] };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
			int hi = fcntl(*fds[i], F_DUPFD_CLOEXEC, 10);

			if (hi < 0) {
				snprintf(o->err, sizeof(o->err), "cannot set up the analysis: %s", strerror(errno));
				goto out;
			}
			close(*fds[i]);
			*fds[i] = hi;
		}
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(o->err, sizeof(o->err), "cannot fork the analysis: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* System calls only from here to the exec. */
		if (dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 || dup2(devnull, 2) < 0 ||
		    dup2(core, 3) < 0 || dup2(meta, 4) < 0 || dup2(exe, 5) < 0)
			_exit(126);
		syscall(SYS_close_range, 6, ~0U, 0);
		if (chdir("/") < 0 || setsid() < 0 || ll_sandbox_enter(id.uid, id.gid, LL_SANDBOX_PDEATHSIG) < 0)
			_exit(126);
		syscall(SYS_execveat, 5, "", argv, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	out = read_bounded(p[0], CHILD_OUTPUT_MAX, CHILD_TIME_MAX_MS, pid, &held, &outlen);
	if (!out)
		kill(-pid, SIGKILL), kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res = out ? json_tokener_parse(out) : NULL;
	if (!res || !json_object_is_type(res, json_type_object)) {
		snprintf(o->err, sizeof(o->err), "the analysis (run as %s) failed%s", id.user,
			 held ? ": it was stopped or traced by another process, so it was killed" :
			 !out ? ": no answer in time or too much output" :
			 WIFSIGNALED(status) ? ": it crashed" : "");
		goto out;
	}
	if (json_object_object_get_ex(res, "error", &v) && v) {
		snprintf(o->err, sizeof(o->err), "%s", json_object_get_string(v));
		goto out;
	}
	if (json_object_object_get_ex(res, "analysis", &v) && v)
		o->json = json_object_get(v);
	if (json_object_object_get_ex(res, "top_frame", &v) && v)
		o->top = strdup(json_object_get_string(v));
	o->uid = (int)id.uid;
	r = o->json ? 0 : -1;
	if (r < 0)
		snprintf(o->err, sizeof(o->err), "the analysis (run as %s) gave no result", id.user);
out:
	json_object_put(res);
	free(out);
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	if (core >= 0)
		close(core);
	if (meta >= 0)
		close(meta);
	if (exe >= 0)
		close(exe);
	if (devnull >= 0)
		close(devnull);
	return r;
}

int cores_analyze(int storefd, const struct ll_store_entry *e, struct cores_analysis *o)
{
	char path[64];
	uint64_t size;
	bool trunc;
	int fd, r;

	memset(o, 0, sizeof(*o));
	if (!e->core_file) {
		snprintf(o->err, sizeof(o->err), "no core stored");
		return -1;
	}
	if (geteuid() == 0)
		return analyze_in_child(storefd, e, o);
	fd = cores_decompress_tmp(storefd, e, false, &size, &trunc);
	if (fd < 0) {
		snprintf(o->err, sizeof(o->err), "cannot decompress the core: %s", strerror(-fd));
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o->uid = (int)geteuid();
	r = analyze_here(path, e->meta, e->exe, o);
	close(fd);
	return r;
}

int cores_analyze_child(int argc, char **argv)
{
	struct cores_analysis o = { 0 };
	json_object *meta = NULL, *res = json_object_new_object();
	const char *exe = NULL;
	char *text;
	size_t len = 0;

	const struct rlimit zero = { 0, 0 };

	/* Undumpable: the user whose core this is cannot ptrace us. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &zero);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-demangle"))
			demangle = false;
		else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
			exe = argv[++i];
	}
	text = read_bounded(4, CHILD_OUTPUT_MAX, CHILD_TIME_MAX_MS, 0, NULL, &len);
	meta = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (analyze_here("/proc/self/fd/3", meta, exe, &o) < 0) {
		json_object_object_add(res, "error", json_object_new_string(o.err));
	} else {
		json_object_object_add(res, "analysis", json_object_get(o.json));
		json_object_object_add(res, "top_frame", o.top ? json_object_new_string(o.top) : NULL);
	}
	cores_analysis_free(&o);
	json_object_put(meta);
	return out_json(res) == 0 ? 0 : 1;
}
