/* cmd_stale.c: `lifeline stale [--json] [PID...]`.
 *
 * For each process (every process in /proc when no PID is given) lists,
 * through ll_stale_scan(), the files it maps that were deleted or replaced
 * since (old code still running after an install) and the files now
 * shorter than their mapping (rewritten or truncated in place: touching the
 * pages past the end raises SIGBUS). Each is printed with its risk spelled
 * out. A named PID that cannot be read is reported (on stderr, and in the
 * JSON "errors") and the exit status is 1; in a whole-system scan, processes
 * that vanish are skipped and those we may not read are counted in a
 * warning, so that "no stale mappings" never hides what was not looked at. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "lifeline/plugin.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/text.h"
#include "common/escape.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline stale [--json] [PID...]\n\n"
		"List, per process, the mapped files that went stale under it:\n"
		"  deleted    the file was removed or replaced (install, mv) after it was\n"
		"             mapped: the process still runs the old code until it reloads\n"
		"             or restarts\n"
		"  truncated  the file is now shorter than its mapping (cp or a write in\n"
		"             place): a crash waiting to happen, touching the pages past\n"
		"             its end raises SIGBUS\n"
		"Without PID, every process is scanned; the ones this user may not read are\n"
		"counted in a warning on stderr (\"unreadable\" in JSON). memfd, SysV and POSIX\n"
		"shared memory mappings are not reported.\n\n"
		"  --json       print JSON\n"
		"  -h, --help   show this help\n\n"
		"Exit status: 0 scanned (stale mappings or not), 1 some PID could not be read,\n"
		"2 usage error.\n");
}

static const char *kind_name(enum ll_stale_kind k)
{
	return k == LL_STALE_TRUNCATED ? "truncated" : "deleted";
}

static void print_proc(const struct ll_stale_proc *sp)
{
	char a[32], b[32], c[32], e[4096 * 4 + 8];

	printf("%sPID %d (%s)%s\n", OUT_BOLD, (int)sp->pid, ll_esc(sp->comm, e, sizeof(e)), OUT_RESET);
	for (size_t i = 0; i < sp->n; i++) {
		const struct ll_stale_item *it = &sp->v[i];
		const char *col = it->kind == LL_STALE_TRUNCATED ? OUT_RED : OUT_YELLOW;

		printf("  %s%-9s%s  %-4s  %s  ", col, kind_name(it->kind), OUT_RESET, it->exec ? "code" : "data",
		       ll_esc(it->path, e, sizeof(e)));
		if (it->kind == LL_STALE_TRUNCATED)
			printf("(mapped %s, file now %s: %s past its end)\n", out_size(it->mapped_bytes, a),
			       out_size(it->file_size, b), out_size(it->past_eof, c));
		else
			printf("(%u mapping%s, %s)\n", it->nmaps, it->nmaps == 1 ? "" : "s",
			       out_size(it->mapped_bytes, a));
		printf("             %s\n", ll_stale_risk(it));
	}
}

static json_object *proc_json(const struct ll_stale_proc *sp)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();
	char dev[32];

	json_object_object_add(o, "pid", json_object_new_int(sp->pid));
	json_object_object_add(o, "comm", ll_json_str(sp->comm));
	for (size_t i = 0; i < sp->n; i++) {
		const struct ll_stale_item *it = &sp->v[i];
		json_object *j = json_object_new_object();

		snprintf(dev, sizeof(dev), "%u:%u", it->dev_major, it->dev_minor);
		json_object_object_add(j, "kind", json_object_new_string(kind_name(it->kind)));
		json_object_object_add(j, "path", ll_json_str(it->path));
		json_object_object_add(j, "device", json_object_new_string(dev));
		json_object_object_add(j, "inode", json_object_new_int64((int64_t)it->inode));
		json_object_object_add(j, "code", json_object_new_boolean(it->exec));
		json_object_object_add(j, "mappings", json_object_new_int((int)it->nmaps));
		json_object_object_add(j, "mapped_bytes", json_object_new_int64((int64_t)it->mapped_bytes));
		json_object_object_add(j, "file_size", it->file_size == UINT64_MAX ? NULL :
				       json_object_new_int64((int64_t)it->file_size));
		json_object_object_add(j, "past_eof_bytes", json_object_new_int64((int64_t)it->past_eof));
		json_object_object_add(j, "risk", json_object_new_string(ll_stale_risk(it)));
		json_object_array_add(items, j);
	}
	json_object_object_add(o, "stale", items);
	return o;
}

static int collect_all(pid_t **pids, size_t *n)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	*pids = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid;

		if (ll_parse_pid(de->d_name, &pid) < 0)
			continue;
		if (*n == cap) {
			pid_t *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(*pids, cap * sizeof(**pids));
			if (!nv) {
				closedir(d);
				return -ENOMEM;
			}
			*pids = nv;
		}
		(*pids)[(*n)++] = pid;
	}
	closedir(d);
	return 0;
}

int cmd_stale(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_object *jprocs = NULL, *jerrs = NULL;
	pid_t *pids = NULL;
	size_t npids = 0, nstale = 0, scanned = 0, unreadable = 0;
	bool json = false, all;
	int c, r, rc = LL_EXIT_OK;

	cli_std_fds();
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return LL_EXIT_OK;
		default:
			return cli_opt_error("stale", c, argv, longopts);
		}
	}
	all = optind == argc;
	if (all) {
		r = collect_all(&pids, &npids);
		if (r < 0) {
			out_error("stale", "cannot list /proc: %s", strerror(-r));
			return LL_EXIT_FAIL;
		}
	} else {
		pids = calloc((size_t)(argc - optind), sizeof(*pids));
		if (!pids)
			return LL_EXIT_FAIL;
		for (int i = optind; i < argc; i++) {
			if (ll_parse_pid(argv[i], &pids[npids]) < 0) {
				char e[256];

				out_error("stale", "'%s' is not a process id; give a positive decimal number (see "
					  "'ps -e' and 'lifeline stale --help')", ll_esc(argv[i], e, sizeof(e)));
				free(pids);
				return LL_EXIT_USAGE;
			}
			npids++;
		}
	}
	if (json) {
		jprocs = json_object_new_array();
		jerrs = json_object_new_array();
	}
	for (size_t i = 0; i < npids; i++) {
		struct ll_stale_proc *sp = NULL;

		r = ll_stale_scan(pids[i], &sp);
		if (r < 0) {
			if (all) { /* exited meanwhile (skipped), or not ours to read (counted) */
				if (r == -EACCES || r == -EPERM)
					unreadable++;
				continue;
			}
			rc = LL_EXIT_FAIL;
			if (r == -ESRCH || r == -ENOENT)
				out_error("stale", "pid %d: no such process (it may have exited; check with "
					  "'ps -p %d')", (int)pids[i], (int)pids[i]);
			else
				out_error("stale", "pid %d: %s%s", (int)pids[i], strerror(-r),
					  r == -EACCES || r == -EPERM ? "; run as root or as the process's owner" : "");
			if (json) {
				json_object *e = json_object_new_object();

				json_object_object_add(e, "pid", json_object_new_int(pids[i]));
				json_object_object_add(e, "error", json_object_new_string(strerror(-r)));
				json_object_array_add(jerrs, e);
			}
			continue;
		}
		scanned++;
		if (sp->n) {
			nstale++;
			if (json)
				json_object_array_add(jprocs, proc_json(sp));
			else
				print_proc(sp);
		}
		ll_stale_free(sp);
	}
	if (unreadable)
		fprintf(stderr, "lifeline stale: warning: %zu process%s could not be read (permission denied) "
			"and %s not checked: %s\n", unreadable, unreadable == 1 ? "" : "es",
			unreadable == 1 ? "was" : "were",
			geteuid() ? "run as root to scan every process"
				  : "even root may not read a process that holds capabilities this one lacks "
				    "or that a security module protects");
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "scanned", json_object_new_int64((int64_t)scanned));
		json_object_object_add(o, "unreadable", json_object_new_int64((int64_t)unreadable));
		json_object_object_add(o, "processes", jprocs);
		json_object_object_add(o, "errors", jerrs);
		if (out_json(o) < 0)
			rc = LL_EXIT_FAIL;
	} else if (nstale == 0) {
		printf("no stale mappings in %zu process%s scanned\n", scanned, scanned == 1 ? "" : "es");
	} else {
		printf("%zu of %zu process%s scanned %s stale mappings\n", nstale, scanned, scanned == 1 ? "" : "es",
		       nstale == 1 ? "has" : "have");
	}
	free(pids);
	return rc;
}
