/* capture.c: the unprivileged stage of the helper, where the crashing
 * process's bytes are parsed and compressed.
 *
 * helper.c, as root, has opened everything that needs root: the /proc/PID
 * files and mapped files (procinfo.c's ll_cd_proc_gather()), the store, and
 * here the two output files, created in the store under temporary names with
 * their ACL (root-owned, readable by the crash's uid only when its core may
 * be). Then a child enters the sandbox (common/sandbox.c: the dedicated user
 * lifeline-coredump, or nobody when it does not exist; no capabilities,
 * PR_SET_NO_NEW_PRIVS, undumpable, RLIMIT_CORE 0, an empty environment, a
 * seccomp allow-list, killed when the helper dies). Inside, it reads its own
 * /proc/self/status into the record's "capture" object (what a reader, and
 * the tests, can check), parses /proc (ll_cd_proc_describe()), streams the
 * core through zstd into the core file and writes the JSON record into the
 * record file. It answers with one fixed-size struct on a pipe. The parent
 * parses nothing the child wrote: it renames the two files into place,
 * after forcing the struct's strings to printable text. A child that dies
 * (a parser bug, the seccomp list, a kill) leaves the parent to store what
 * was written as a truncated core and a record of its own saying why. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "common/sandbox.h"
#include "coredump/internal.h"

#define RECORD_JSON_MAX (8u << 20)

/* What the child answers. */
struct capture_answer {
	int stream_r;                    /* ll_cd_stream()'s return (0: a core file) */
	int record;                      /* 2: full record written, 1: short one, 0: none */
	int maps;                        /* 1: the maps side file was written */
	struct ll_coredump_result res;
	char not_stored[192];            /* why not stored, or "" */
};

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

static void printable(char *s, size_t size)
{
	s[size - 1] = '\0';
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* The "capture" object: who parsed this crash, read from /proc/self/status
 * inside the sandbox (before the seccomp list forbids opening it). */
static json_object *self_report(const struct ll_sandbox_id *sid)
{
	static const char *const keys[] = { "Uid:", "Gid:", "CapEff:", "CapPrm:", "NoNewPrivs:" };
	static const char *const names[] = { "uid", "gid", "cap_eff", "cap_prm", "no_new_privs" };
	json_object *o = json_object_new_object();
	char *status = NULL;

	json_object_object_add(o, "user", json_object_new_string(sid->user));
	json_object_object_add(o, "note", sid->note[0] ? json_object_new_string(sid->note) : NULL);
	if (ll_read_file("/proc/self/status", 64 * 1024, &status, NULL) == 0) {
		for (size_t i = 0; i < LL_ARRAY_SIZE(keys); i++) {
			char line[64], *p = strstr(status, keys[i]);
			size_t n;

			if (!p)
				continue;
			p += strlen(keys[i]);
			p += strspn(p, " \t");
			n = strcspn(p, "\n");
			snprintf(line, sizeof(line), "%.*s", (int)(n < 63 ? n : 63), p);
			json_object_object_add(o, names[i], json_object_new_string(line));
		}
	}
	free(status);
	json_object_object_add(o, "dumpable", json_object_new_boolean(prctl(PR_GET_DUMPABLE) == 1));
	return o;
}

static int write_record(int fd, json_object *meta)
{
	const char *text = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = ll_write_all(fd, text, strlen(text));

	return r < 0 ? r : ll_write_all(fd, "\n", 1);
}

/* The child: never returns. */
static void __attribute__((noreturn))
capture_child(const struct ll_coredump_config *cfg, const struct ll_crash_args *a, int in_fd,
	      const struct ll_cd_proc_files *files, json_object *meta, bool with_maps,
	      const char *not_stored, const struct ll_sandbox_id *sid, pid_t parent, int core_fd,
	      int rec_fd, int maps_fd, int answer_fd, const char *id)
{
	static struct capture_answer ans;
	struct ll_cd_limits lim = {
		.max_raw = min3(cfg->external_size_max, cfg->process_size_max, a->core_limit),
		.keep_free = cfg->keep_free,
		.level = cfg->compression_level,
		.idle_timeout_ms = cfg->idle_timeout > 0 && cfg->idle_timeout <= 86400
				   ? (int)cfg->idle_timeout * 1000 : 0,
	};
	struct ll_cd_stream_result sr;
	struct ll_coredump_result *res = &ans.res;
	json_object *report, *core;
	char core_name[300];
	int r;

	r = ll_sandbox_enter(sid->uid, sid->gid, LL_SANDBOX_PDEATHSIG);
	if (r < 0 || getppid() != parent)
		_exit(2); /* nothing parsed: the parent says why */
	report = self_report(sid);
	r = ll_sandbox_seccomp();
	json_object_object_add(report, "seccomp", json_object_new_string(r == 0 ? "filter" : strerror(-r)));
	json_object_object_add(meta, "capture", report);
	ll_cd_proc_describe(files, meta, with_maps, json_object_object_get_ex(meta, "proc_error", &core) &&
			    core);
	if (strlen(json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE)) > RECORD_JSON_MAX) {
		/* Paths full of control bytes (6 bytes each, escaped): the maps
		 * go, the rest stays; and before the core is streamed, so the
		 * memory is back to small while it streams. */
		json_object_object_add(meta, "maps", NULL);
		json_object_object_add(meta, "maps_dropped",
				       json_object_new_string("the record would exceed 8 MiB"));
	}
	snprintf(core_name, sizeof(core_name), "%s.zst", id);
	if (!not_stored && core_fd >= 0) {
		ans.stream_r = ll_cd_stream(in_fd, core_fd, &lim, &sr);
		res->size = sr.read;
		res->compressed_size = sr.written;
		res->truncated = sr.truncated;
		snprintf(res->reason, sizeof(res->reason), "%s", sr.reason);
		snprintf(res->format, sizeof(res->format), "%s", sr.format);
		res->raw_stored = sr.raw;
		res->expected_size = sr.expected;
		res->stored = ans.stream_r == 0;
		if (ans.stream_r < 0)
			snprintf(ans.not_stored, sizeof(ans.not_stored), "write-failed (%s)",
				 strerror(-ans.stream_r));
	} else {
		ans.stream_r = -ENOENT;
		snprintf(ans.not_stored, sizeof(ans.not_stored), "%s", not_stored ? not_stored : "");
		snprintf(res->reason, sizeof(res->reason), "%.127s", ans.not_stored);
	}
	core = ll_cd_core_object(res, res->stored ? core_name : NULL, res->truncated ? res->reason : NULL,
				 res->stored ? NULL : ans.not_stored);
	json_object_object_add(meta, "core", core);
	if (rec_fd >= 0) {
		char name[300], maps_name[300];
		json_object *side = NULL;

		/* The maps go to their side file (record.c), which list and gc
		 * never read; the record stays small. */
		if (ll_cd_record_names(id, name, maps_name, sizeof(name)) == 0)
			side = ll_cd_record_split(meta, id, maps_name);
		if (side && (maps_fd < 0 || write_record(maps_fd, side) < 0)) {
			json_object_object_add(meta, "maps_file", NULL);
			json_object_object_add(meta, "maps_count", NULL);
			json_object_object_add(meta, "maps_dropped",
					       json_object_new_string("no space for the maps file"));
		} else if (side) {
			ans.maps = 1;
		}
		json_object_put(side);
		if (write_record(rec_fd, meta) == 0) {
			ans.record = 2;
		} else {
			/* Most likely no space: keep the outcome at least. */
			json_object_object_add(meta, "maps_file", NULL);
			json_object_object_add(meta, "maps_count", NULL);
			json_object_object_add(meta, "maps_dropped",
					       json_object_new_string("no space for the full record"));
			ans.maps = 0;
			if (ftruncate(rec_fd, 0) == 0 && lseek(rec_fd, 0, SEEK_SET) == 0 &&
			    write_record(rec_fd, meta) == 0)
				ans.record = 1;
		}
	}
	ll_write_all(answer_fd, &ans, sizeof(ans));
	_exit(0);
}

/* Read the child's answer: all of it, or nothing. */
static bool read_answer(int fd, struct capture_answer *ans)
{
	size_t got = 0;

	while (got < sizeof(*ans)) {
		ssize_t n = read(fd, (char *)ans + got, sizeof(*ans) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

int ll_cd_capture(int storefd, const struct ll_coredump_config *cfg, const struct ll_crash_args *a,
		  int in_fd, const struct ll_cd_proc_files *files, json_object *meta, bool with_maps,
		  const char *not_stored, uid_t share, struct ll_coredump_result *res, char *core_name,
		  size_t cnsz, char *why, size_t whysz)
{
	char core_tmp[300] = "", rec_tmp[300] = "", maps_tmp[300] = "", json[300], maps_name[300];
	struct capture_answer ans;
	struct ll_sandbox_id sid;
	int core_fd = -1, rec_fd = -1, maps_fd = -1, p[2] = { -1, -1 }, status = 0, r = 0;
	bool answered = false;
	pid_t pid;

	ll_sandbox_identity(NULL, &sid);
	r = ll_cd_record_names(res->id, json, maps_name, sizeof(json));
	if (r < 0)
		return r;
	if (!not_stored) {
		core_fd = ll_cd_temp_file(storefd, res->id, core_tmp, sizeof(core_tmp));
		if (core_fd < 0) {
			snprintf(why, whysz, "write-failed (%s)", strerror(-core_fd));
			not_stored = why;
		} else {
			ll_cd_share(core_fd, share); /* failing, it stays root-only */
		}
	}
	rec_fd = ll_cd_temp_file(storefd, json, rec_tmp, sizeof(rec_tmp));
	if (rec_fd >= 0)
		ll_cd_share(rec_fd, share);
	if (with_maps) {
		maps_fd = ll_cd_temp_file(storefd, maps_name, maps_tmp, sizeof(maps_tmp));
		if (maps_fd >= 0)
			ll_cd_share(maps_fd, share);
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		goto fallback;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fallback;
	}
	if (pid == 0) {
		close(p[0]);
		close(storefd);
		if (a->pidfd >= 0)
			close(a->pidfd);
		capture_child(cfg, a, in_fd, files, meta, with_maps, not_stored, &sid, getppid(), core_fd,
			      rec_fd, maps_fd, p[1], res->id);
	}
	close(p[1]);
	p[1] = -1;
	answered = read_answer(p[0], &ans);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!answered || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			snprintf(why, whysz, "the capture process died (signal %d)", WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
			snprintf(why, whysz, "the capture process could not drop its privileges to %s",
				 sid.user);
		else
			snprintf(why, whysz, "the capture process gave no answer (exit %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		r = -ECHILD;
		goto fallback;
	}
	/* The child's numbers are only logged and kept; its strings made text. */
	snprintf(ans.res.id, sizeof(ans.res.id), "%s", res->id);
	printable(ans.res.reason, sizeof(ans.res.reason));
	printable(ans.res.format, sizeof(ans.res.format));
	printable(ans.not_stored, sizeof(ans.not_stored));
	*res = ans.res;
	if (res->stored) {
		snprintf(core_name, cnsz, "%s.zst", res->id);
		r = ll_cd_rename(storefd, core_tmp, core_name, true);
		if (r < 0) {
			/* The child's record names id.zst: the record is ours. */
			snprintf(why, whysz, "write-failed (%s)", strerror(-r));
			res->stored = false;
			goto fallback;
		}
		core_tmp[0] = '\0';
	} else {
		snprintf(why, whysz, "%s", ans.not_stored);
	}
	if (ans.record == 0) {
		r = -EIO;
		goto record;
	}
	/* The maps file first: a record never names a file that is not there. */
	if (ans.maps && ll_cd_rename(storefd, maps_tmp, maps_name, false) == 0)
		maps_tmp[0] = '\0';
	r = ll_cd_rename(storefd, rec_tmp, json, false);
	if (r == 0) {
		rec_tmp[0] = '\0';
		if (ans.record == 1)
			ll_store_log(storefd, "pid %d (%s): full record not written, short one written",
				     (int)a->pid, res->id);
		goto out;
	}
	goto record;
fallback:
	/* Whatever the child wrote of the core is kept, marked truncated. */
	if (core_fd >= 0 && core_tmp[0]) {
		struct stat st;

		if (r != -EEXIST && fstat(core_fd, &st) == 0 && st.st_size > 0) {
			snprintf(core_name, cnsz, "%s.zst", res->id);
			if (ll_cd_rename(storefd, core_tmp, core_name, true) == 0) {
				core_tmp[0] = '\0';
				res->stored = true;
				res->truncated = true;
				res->compressed_size = (uint64_t)st.st_size;
				snprintf(res->reason, sizeof(res->reason), "%s", why);
			}
		}
	}
	if (!res->stored && !why[0])
		snprintf(why, whysz, "capture-failed (%s)", strerror(r < 0 ? -r : EIO));
	json_object_object_add(meta, "capture_error", json_object_new_string(why));
record:
	json_object_object_add(meta, "core", ll_cd_core_object(res, res->stored ? core_name : NULL,
							       res->truncated ? res->reason : NULL,
							       res->stored ? NULL : why));
	r = ll_cd_record_write(storefd, res->id, meta, false, share);
out:
	if (core_tmp[0])
		unlinkat(storefd, core_tmp, 0);
	if (rec_tmp[0])
		unlinkat(storefd, rec_tmp, 0);
	if (maps_tmp[0])
		unlinkat(storefd, maps_tmp, 0);
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	if (core_fd >= 0)
		close(core_fd);
	if (rec_fd >= 0)
		close(rec_fd);
	if (maps_fd >= 0)
		close(maps_fd);
	return r;
}
