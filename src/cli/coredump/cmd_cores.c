/* cmd_cores.c: `lifeline cores list|info|dump|gdb|rm|gc`: the store browser.
 *
 * A thin layer over lifeline/store.h: options and filters are parsed here,
 * entries come from ll_store_list(), an ID is resolved by ll_store_resolve()
 * (an id, a unique prefix, or nothing for the latest entry passing the
 * filters). `info` and `list --top` analyse the core through
 * cores_analyze.c (as the crash's uid when run by root on another user's
 * core); whatever comes from a record or a core is escaped once, as it is
 * printed (common/escape.h), and the analysis is printed from its JSON by
 * ll_core_analysis_print_json(). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/coredump/cores_analyze.h"
#include "cli/coredump/cores_gdb.h"
#include "cli/coredump/cores_cli.h"
#include "cli/text.h"
#include "common/common.h"
#include "common/escape.h"
#include "lifeline/inspect/core.h"
#include "lifeline/store.h"

struct copts {
	const char *sub;
	const char *store, *config, *output;
	bool json, force, top;
	struct ll_store_filter f;
	const char *id;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline cores list [--json] [--top] [FILTERS]\n"
		"       lifeline cores info [ID] [--json] [FILTERS]\n"
		"       lifeline cores dump [ID] -o FILE [--force] [FILTERS]\n"
		"       lifeline cores gdb [ID] [FILTERS]\n"
		"       lifeline cores rm ID\n"
		"       lifeline cores gc [--config FILE]\n\n"
		"Browse the cores stored by 'lifeline coredump'.\n"
		"ID is a store id (see 'lifeline cores list'), a unique prefix of one, or omitted\n"
		"for the latest core passing the filters.\n\n"
		"FILTERS: --exe NAME (path, base name or comm), --pid N, --since T, --until T\n"
		"         (T: seconds since the epoch, YYYY-MM-DD[ HH:MM[:SS]], or -2h, '30min ago')\n"
		"  --top          list: also analyse each core and show its innermost frame\n"
		"  --no-demangle  info, list --top: C++ names as in the files (mangled)\n"
		"  --store DIR    the store (default %s)\n"
		"  --config FILE  limits for gc (default %s)\n"
		"  -o, --output FILE  where dump writes the decompressed core ('-': stdout)\n",
		LL_STORE_DEFAULT_DIR, LL_COREDUMP_DEFAULT_CONFIG);
}

static int parse(int argc, char **argv, struct copts *o)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "exe", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "top", no_argument, NULL, 't' },
		{ "no-demangle", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->sub = argv[0];
	o->store = LL_STORE_DEFAULT_DIR;
	o->config = LL_COREDUMP_DEFAULT_CONFIG;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:f", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->store = optarg; break;
		case 'c': o->config = optarg; break;
		case 'j': o->json = true; break;
		case 'e': o->f.exe = optarg; break;
		case 'o': o->output = optarg; break;
		case 'f': o->force = true; break;
		case 't': o->top = true; break;
		case 'M': cores_analyze_demangle(false); break;
		case 'p':
			if (ll_parse_pid(optarg, &o->f.pid) < 0) {
				out_error("cores", "--pid '%s': expected a process id", optarg);
				return -1;
			}
			break;
		case 'S':
		case 'U':
			if (cores_parse_time(optarg, c == 'S' ? &o->f.since : &o->f.until) < 0) {
				out_error("cores", "--%s '%s': expected seconds since the epoch, "
					  "YYYY-MM-DD[ HH:MM[:SS]] or a relative time like -2h",
					  c == 'S' ? "since" : "until", optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout); return 1;
		default:
			out_error("cores", "unknown option or missing value '%s'; see 'lifeline cores --help'",
				  argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc)
		o->id = argv[optind++];
	if (optind < argc) {
		out_error("cores", "unexpected argument '%s'; see 'lifeline cores --help'", argv[optind]);
		return -1;
	}
	return 0;
}

static int open_store(const struct copts *o, int *fd)
{
	int r = ll_store_open(o->store, false, fd);

	if (r == -ENOENT)
		out_error("cores", "no store at %s: nothing was stored yet ('lifeline coredump --install' "
			  "sets the helper up), or give --store DIR", o->store);
	else if (r == -EPERM)
		out_error("cores", "store %s: refused: a store must be a directory (not a symlink) owned "
			  "by root and not writable by group or others", o->store);
	else if (r < 0)
		out_error("cores", "store %s: %s", o->store, strerror(-r));
	return r;
}

/* Text of a record (comm, exe, cmdline, ...) for a terminal: the record's
 * JSON strings are in the LL_ESC_JSON notation (common/escape.h), so their
 * escapes pass as they are and the rest gets the terminal policy. */
static const char *safe(const char *s, char *buf, size_t size)
{
	return ll_escape_buf(s, s ? strlen(s) : 0, LL_ESC_FROM_JSON, buf, size);
}

static const char *fmt_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, 32, "(time %lld)", (long long)t); /* a year past 2^31 */
	return buf;
}

static const char *core_reason(const struct ll_store_entry *e)
{
	json_object *c, *v;

	if (!json_object_object_get_ex(e->meta, "core", &c) || !c)
		return NULL;
	if (json_object_object_get_ex(c, "not_stored_reason", &v) && v)
		return json_object_get_string(v);
	if (json_object_object_get_ex(c, "truncated_reason", &v) && v)
		return json_object_get_string(v);
	return NULL;
}

static json_object *entry_json(const struct ll_store_entry *e)
{
	json_object *o = json_object_new_object(), *v;
	const char *why = core_reason(e);

	json_object_object_add(o, "id", json_object_new_string(e->id));
	json_object_object_add(o, "time", json_object_new_int64(e->time));
	json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	json_object_object_add(o, "uid", json_object_new_int64(e->uid));
	json_object_object_add(o, "signal", json_object_new_int(e->signal));
	json_object_object_add(o, "signal_name",
			       json_object_object_get_ex(e->meta, "signal_name", &v) ? json_object_get(v) : NULL);
	json_object_object_add(o, "exe", json_object_new_string(e->exe));
	json_object_object_add(o, "comm", json_object_new_string(e->comm));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)e->size));
	json_object_object_add(o, "disk_size", json_object_new_int64((int64_t)e->disk_size));
	json_object_object_add(o, "stored", json_object_new_boolean(e->core_file != NULL));
	json_object_object_add(o, "truncated", json_object_new_boolean(e->truncated));
	json_object_object_add(o, "reason", why ? json_object_new_string(why) : NULL);
	return o;
}

/* The innermost frame of e's core for `list --top`, or NULL (why in buf). */
static const char *top_of(int storefd, const struct ll_store_entry *e, char *buf, size_t size)
{
	struct cores_analysis an;
	const char *top = NULL;

	if (cores_analyze(storefd, e, &an) < 0)
		snprintf(buf, size, "%s", an.err);
	else if (an.top)
		top = buf, snprintf(buf, size, "%s", an.top);
	else
		snprintf(buf, size, "no frame");
	cores_analysis_free(&an);
	return top;
}

/* `list` goes through the store one record at a time (ll_store_foreach):
 * its memory does not grow with the records' contents. */
struct list_ctx {
	const struct copts *o;
	int storefd;
	json_object *arr;
	size_t seen, shown;
};

static int list_one(struct ll_store_entry *e, void *ctx)
{
	struct list_ctx *lc = ctx;
	const struct copts *o = lc->o;
	int storefd = lc->storefd;
	char t[32], sz[32], dsz[32], b[128], sb[64];
	json_object *sn;
	const char *base;

	lc->seen++;
	if (!ll_store_match(e, &o->f))
		return 0;
	lc->shown++;
	if (o->top && e->core_file)
		ll_store_entry_maps(storefd, e); /* the analysis places modules with them */
	if (o->json) {
		json_object *j = entry_json(e);

		if (o->top) {
			char tb[512];
			const char *top = top_of(storefd, e, tb, sizeof(tb));

			json_object_object_add(j, "top_frame", top ? json_object_new_string(top) : NULL);
		}
		json_object_array_add(lc->arr, j);
		return 0;
	}
	base = strrchr(e->exe, '/');
	base = base ? base + 1 : (*e->exe ? e->exe : e->comm);
	json_object_object_get_ex(e->meta, "signal_name", &sn);
	printf("%-19s %7d %5u %-7s %9s %s%9s%s  %-24.24s %s\n", fmt_time(e->time, t), (int)e->pid,
	       (unsigned)e->uid, sn ? safe(json_object_get_string(sn), sb, sizeof(sb)) : "?",
	       out_size(e->size, sz),
	       e->core_file ? (e->truncated ? OUT_YELLOW : "") : OUT_RED,
	       e->core_file ? (e->truncated ? "truncated" : out_size(e->disk_size, dsz)) : "none",
	       OUT_RESET, safe(base, b, sizeof(b)), e->id);
	if (o->top && e->core_file) {
		char tb[512], tb2[1024];
		const char *top = top_of(storefd, e, tb, sizeof(tb));

		if (top)
			printf("%s%21s%s %s\n", OUT_DIM, "top frame:", OUT_RESET, safe(top, tb2, sizeof(tb2)));
		else
			printf("%s%21s%s (%s)\n", OUT_DIM, "top frame:", OUT_RESET, ll_esc(tb, tb2, sizeof(tb2)));
	}
	return 0;
}

static int do_list(const struct copts *o, int storefd)
{
	struct list_ctx lc = { .o = o, .storefd = storefd, .arr = o->json ? json_object_new_array() : NULL };
	size_t unreadable = 0;
	int r;

	if (!o->json)
		printf("%s%-19s %7s %5s %-7s %9s %9s  %-24s %s%s\n", OUT_BOLD, "TIME", "PID", "UID", "SIGNAL",
		       "SIZE", "STORED", "EXE", "ID", OUT_RESET);
	r = ll_store_foreach(storefd, list_one, &lc, &unreadable);
	if (r < 0) {
		out_error("cores", "store %s: %s", o->store, strerror(-r));
		json_object_put(lc.arr);
		return LL_EXIT_FAIL;
	}
	if (o->json)
		out_json(lc.arr);
	else if (!lc.shown)
		printf("(%s)\n", lc.seen ? "no stored crash matches the filters" : "no stored crashes");
	if (unreadable)
		fprintf(stderr, "lifeline cores: %zu record(s) could not be read (permission or damaged)\n",
			unreadable);
	return LL_EXIT_OK;
}

/* Resolve o->id; prints the error. Returns the index or -1. */
static int pick(const struct copts *o, const struct ll_store_list *l)
{
	int i = ll_store_resolve(l, o->id, &o->f);
	char idb[256];

	if (i == -EEXIST)
		out_error("cores", "'%s' matches several cores: give more of the id (see 'lifeline cores list')",
			  ll_esc(o->id, idb, sizeof(idb)));
	else if (i < 0 && o->id && *o->id)
		out_error("cores", "no stored core '%s'; 'lifeline cores list' shows the ids (an id, a "
			  "unique prefix of one, or none for the latest)", ll_esc(o->id, idb, sizeof(idb)));
	else if (i < 0)
		out_error("cores", "no stored core%s in %s; 'lifeline cores list' shows what there is",
			  (o->f.exe || o->f.pid || o->f.since || o->f.until) ? " matches the filters" : "",
			  o->store);
	return i < 0 ? -1 : i;
}

static void print_meta(const struct ll_store_entry *e)
{
	json_object *m = e->meta, *v, *c = NULL;
	char t[32], sz[32], csz[32], b[4096];

	printf("%sid%s         %s\n", OUT_BOLD, OUT_RESET, e->id);
	printf("time       %s\n", fmt_time(e->time, t));
	json_object_object_get_ex(m, "signal_name", &v);
	printf("process    pid %d, uid %u, gid %" PRId64 ", killed by %s (%d)\n", (int)e->pid,
	       (unsigned)e->uid, json_object_object_get_ex(m, "gid", &c) ? json_object_get_int64(c) : -1,
	       v ? safe(json_object_get_string(v), b, sizeof(b)) : "?", e->signal);
	printf("exe        %s\n", *e->exe ? safe(e->exe, b, sizeof(b)) : "(unknown)");
	printf("comm       %s\n", safe(e->comm, b, sizeof(b)));
	/* a record is data: a key of an unexpected type is skipped, never
	 * handed to json-c's array calls (which assert on anything else) */
	if (json_object_object_get_ex(m, "cmdline", &v) && json_object_is_type(v, json_type_array)) {
		printf("cmdline   ");
		for (size_t i = 0; i < json_object_array_length(v); i++)
			printf(" %s", safe(json_object_get_string(json_object_array_get_idx(v, i)), b, sizeof(b)));
		printf("\n");
	}
	if (json_object_object_get_ex(m, "cwd", &v) && v)
		printf("cwd        %s\n", safe(json_object_get_string(v), b, sizeof(b)));
	if (json_object_object_get_ex(m, "cgroup", &v) && v) {
		/* The unified hierarchy's line ("0::/path") says the most. */
		const char *cg = json_object_get_string(v), *u = strstr(cg, "0::");
		const char *line = u && (u == cg || u[-1] == '\n') ? u : cg;

		printf("cgroup     %.*s\n", (int)strcspn(line, "\n"), safe(line, b, sizeof(b)));
	}
	json_object_object_get_ex(m, "pidfd", &v);
	printf("/proc      read %s", v && json_object_get_boolean(v) ? "through the %F pidfd" :
	       "through /proc/PID with a start-time check");
	if (json_object_object_get_ex(m, "proc_error", &v) && v)
		printf(" (%s)", safe(json_object_get_string(v), b, sizeof(b)));
	printf("\n");
	if (!json_object_object_get_ex(m, "readable_by_uid", &v))
		json_object_object_get_ex(m, "dumpable", &v);
	printf("access     %s\n", v && json_object_get_boolean(v) ? "root and the crashing user" :
	       "root only (set-uid or undumpable process, or a root crash)");
	if (json_object_object_get_ex(m, "core", &c) && c) {
		json_object *ratio;
		const char *why = core_reason(e);

		json_object_object_get_ex(c, "ratio", &ratio);
		if (e->core_file)
			printf("core       %s, %s compressed (ratio %.1f)%s%s%s\n", out_size(e->size, sz),
			       out_size(e->disk_size, csz), ratio ? json_object_get_double(ratio) : 0.0,
			       e->truncated ? ", TRUNCATED: " : "", e->truncated && why ? safe(why, b, sizeof(b)) : "",
			       "");
		else
			printf("core       %snot stored%s: %s\n", OUT_RED, OUT_RESET,
			       why ? safe(why, b, sizeof(b)) : "(no reason recorded)");
	}
}

static int do_info(const struct copts *o, int storefd)
{
	struct ll_store_list l;
	json_object *out = NULL;
	int i, r, rc = LL_EXIT_OK;

	r = ll_store_list(storefd, &l);
	if (r < 0) {
		out_error("cores", "store %s: %s", o->store, strerror(-r));
		return LL_EXIT_FAIL;
	}
	i = pick(o, &l);
	if (i < 0) {
		ll_store_list_free(&l);
		return LL_EXIT_FAIL;
	}
	struct ll_store_entry *e = &l.v[i];

	ll_store_entry_maps(storefd, e); /* for the analysis (and --json's metadata) */
	if (o->json) {
		out = json_object_new_object();
		json_object_object_add(out, "id", json_object_new_string(e->id));
		json_object_object_add(out, "metadata", json_object_get(e->meta));
	} else {
		print_meta(e);
	}
	if (e->core_file) {
		struct cores_analysis an;
		int ar = cores_analyze(storefd, e, &an);

		if (o->json) {
			json_object_object_add(out, "analysis", ar == 0 ? json_object_get(an.json) : NULL);
			json_object_object_add(out, "top_frame", ar == 0 && an.top ? json_object_new_string(an.top) : NULL);
			json_object_object_add(out, "analysis_error", ar == 0 ? NULL : ll_json_str(an.err));
			json_object_object_add(out, "analysis_uid", ar == 0 ? json_object_new_int(an.uid) : NULL);
		} else if (ar == 0) {
			/* printed from the analysis' JSON (the child's answer is
			 * not trusted: every string is escaped as it is printed) */
			printf("\n");
			ll_core_analysis_print_json(an.json, stdout, out_color());
		} else {
			char b[600];

			printf("\nanalysis   %s\n", ll_esc(an.err, b, sizeof(b))); /* raw text */
		}
		if (ar < 0)
			rc = LL_EXIT_FAIL;
		cores_analysis_free(&an);
	} else if (o->json) {
		json_object_object_add(out, "analysis", NULL);
		json_object_object_add(out, "top_frame", NULL);
		json_object_object_add(out, "analysis_error", json_object_new_string("no core stored"));
	}
	if (o->json)
		out_json(out);
	ll_store_list_free(&l);
	return rc;
}

static int do_dump(const struct copts *o, int storefd)
{
	struct ll_store_list l;
	uint64_t size = 0;
	bool trunc = false, to_stdout;
	int i, fd, r, rc = LL_EXIT_FAIL;

	if (!o->output) {
		out_error("cores", "dump needs -o FILE (or -o - for stdout)");
		return LL_EXIT_USAGE;
	}
	to_stdout = !strcmp(o->output, "-");
	if (to_stdout && isatty(STDOUT_FILENO)) {
		out_error("cores", "refusing to write a core to a terminal; redirect stdout or give -o FILE");
		return LL_EXIT_USAGE;
	}
	r = ll_store_list(storefd, &l);
	if (r < 0) {
		out_error("cores", "store %s: %s", o->store, strerror(-r));
		return LL_EXIT_FAIL;
	}
	i = pick(o, &l);
	if (i < 0)
		goto out;
	if (!l.v[i].core_file) {
		out_error("cores", "%s: no core stored (%s)", l.v[i].id,
			  core_reason(&l.v[i]) ? core_reason(&l.v[i]) : "no reason recorded");
		goto out;
	}
	fd = to_stdout ? STDOUT_FILENO
		       : open(o->output, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
			      (o->force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0) {
		out_error("cores", "%s: %s%s", o->output, strerror(errno),
			  errno == EEXIST ? " (add --force to overwrite it)" : "");
		goto out;
	}
	r = ll_store_decompress(storefd, &l.v[i], fd, &size, &trunc);
	if (!to_stdout && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		out_error("cores", "%s: decompressing %s: %s", o->output, l.v[i].id, strerror(-r));
		goto out;
	}
	fprintf(to_stdout ? stderr : stdout, "%s: %" PRIu64 " bytes%s\n", to_stdout ? "stdout" : o->output,
		size, trunc ? " (the stored core is truncated)" : "");
	rc = LL_EXIT_OK;
out:
	ll_store_list_free(&l);
	return rc;
}

static int do_gdb(const struct copts *o, int storefd)
{
	struct ll_store_list l;
	int i, r;

	r = ll_store_list(storefd, &l);
	if (r < 0) {
		out_error("cores", "store %s: %s", o->store, strerror(-r));
		return LL_EXIT_FAIL;
	}
	i = pick(o, &l);
	if (i < 0 || !l.v[i].core_file) {
		if (i >= 0)
			out_error("cores", "%s: no core stored", l.v[i].id);
		ll_store_list_free(&l);
		return LL_EXIT_FAIL;
	}
	ll_store_entry_maps(storefd, &l.v[i]); /* the sysroot copies the mapped files */
	r = cores_gdb(storefd, &l.v[i]);
	ll_store_list_free(&l);
	return r;
}

static int do_rm(const struct copts *o, int storefd)
{
	struct ll_store_list l;
	int i, r;

	if (!o->id || !*o->id) {
		out_error("cores", "rm needs an ID (see 'lifeline cores list')");
		return LL_EXIT_USAGE;
	}
	r = ll_store_list(storefd, &l);
	if (r < 0) {
		out_error("cores", "store %s: %s", o->store, strerror(-r));
		return LL_EXIT_FAIL;
	}
	i = pick(o, &l);
	if (i >= 0) {
		r = ll_store_remove(storefd, l.v[i].id);
		if (r < 0)
			out_error("cores", "rm %s: %s", l.v[i].id, strerror(-r));
		else
			printf("removed %s\n", l.v[i].id);
	}
	ll_store_list_free(&l);
	return i >= 0 && r == 0 ? LL_EXIT_OK : LL_EXIT_FAIL;
}

static int do_gc(const struct copts *o, int storefd)
{
	struct ll_coredump_config cfg;
	struct ll_store_gc_stats st;
	char err[256], sz[32];
	int r;

	ll_coredump_config_init(&cfg);
	r = ll_coredump_config_load(&cfg, o->config, err, sizeof(err));
	/* A missing default file means the defaults; a missing --config FILE
	 * is a mistake worth saying. */
	if (r < 0 && (r != -ENOENT || strcmp(o->config, LL_COREDUMP_DEFAULT_CONFIG))) {
		out_error("cores", "%s: %s", o->config, r == -EINVAL ? err : strerror(-r));
		return LL_EXIT_FAIL;
	}
	r = ll_store_gc(storefd, &cfg, 0, &st);
	if (r < 0) {
		out_error("cores", "gc of %s: %s", o->store, strerror(-r));
		return LL_EXIT_FAIL;
	}
	if (o->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "cores_removed", json_object_new_int(st.cores_removed));
		json_object_object_add(j, "records_removed", json_object_new_int(st.records_removed));
		json_object_object_add(j, "temp_removed", json_object_new_int(st.temp_removed));
		json_object_object_add(j, "bytes_freed", json_object_new_int64((int64_t)st.bytes_freed));
		out_json(j);
	} else {
		printf("removed %u core(s), %u record(s), %u temporary file(s); freed %s\n", st.cores_removed,
		       st.records_removed, st.temp_removed, out_size(st.bytes_freed, sz));
	}
	return LL_EXIT_OK;
}

int cmd_cores(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct copts *o, int storefd);
	} subs[] = {
		{ "list", do_list }, { "info", do_info }, { "dump", do_dump },
		{ "gdb", do_gdb }, { "rm", do_rm }, { "gc", do_gc },
	};
	struct copts o;
	char idb[256];
	int storefd, r;

	if (argc >= 2 && !strcmp(argv[1], "__analyze")) /* the unprivileged analysis child */
		return cores_analyze_child(argc - 1, argv + 1);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? LL_EXIT_USAGE : LL_EXIT_OK;
	}
	for (size_t s = 0; s < LL_ARRAY_SIZE(subs); s++) {
		if (strcmp(argv[1], subs[s].name))
			continue;
		r = parse(argc - 1, argv + 1, &o);
		if (r != 0)
			return r > 0 ? LL_EXIT_OK : LL_EXIT_USAGE;
		if (o.id && !strcmp(o.sub, "list")) {
			out_error("cores", "list takes no ID; use --exe, --pid, --since, --until");
			return LL_EXIT_USAGE;
		}
		if (open_store(&o, &storefd) < 0)
			return LL_EXIT_FAIL;
		r = subs[s].run(&o, storefd);
		close(storefd);
		return r;
	}
	out_error("cores", "unknown subcommand '%s'; one of list, info, dump, gdb, rm, gc (the "
		  "subcommand comes first: 'lifeline cores list --store DIR')",
		  ll_esc(argv[1], idb, sizeof(idb)));
	return LL_EXIT_USAGE;
}
