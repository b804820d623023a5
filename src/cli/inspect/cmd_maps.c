/* cmd_maps.c: `lifeline maps PID... [--json] [--no-smaps]`.
 *
 * For each pid: read its smaps (or maps) through the inspect library, print
 * every mapping with its classification, size, RSS and PSS, then the totals
 * per module, per mapped file and per kind (ll_maps_summarize()). A pid that
 * fails gets one message naming it and what to do; the others are still
 * answered and the exit status is 1 at the end. --json prints one object for
 * one pid, an array of objects for several. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifeline/inspect/maps.h"
#include "common/common.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/text.h"
#include "common/escape.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline maps [--json] [--no-smaps] PID...\n\n"
		"Show each process's memory map: every mapping with its address range,\n"
		"permissions, file offset, classification (text, rodata, data, bss, heap,\n"
		"stack, anon, file, vdso, guard, other), size, RSS and PSS (from smaps) and\n"
		"path, \"(deleted)\" when the file was removed since it was mapped; then the\n"
		"totals per module, per mapped file and for heap, stacks and anonymous memory.\n\n"
		"  --json       print JSON: an object for one PID, an array for several\n"
		"  --no-smaps   read /proc/PID/maps only (faster; no RSS/PSS)\n"
		"  -h, --help   show this help\n\n"
		"Exit status: 0 all PIDs shown, 1 some PID could not be read (the others are\n"
		"still shown), 2 usage error.\n");
}

static void fmt_hex(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "0x%" PRIx64, v);
}

static void perms_str(unsigned p, char out[5])
{
	out[0] = p & LL_PERM_READ ? 'r' : '-';
	out[1] = p & LL_PERM_WRITE ? 'w' : '-';
	out[2] = p & LL_PERM_EXEC ? 'x' : '-';
	out[3] = p & LL_PERM_SHARED ? 's' : 'p';
	out[4] = '\0';
}

/* What to show in the path column of an unnamed mapping. */
static const char *anon_label(const struct ll_map *m, char *buf, size_t size)
{
	if (m->kind == LL_MAP_STACK && m->stack_tid) {
		snprintf(buf, size, "[stack of thread %d]", (int)m->stack_tid);
		return buf;
	}
	if (m->kind == LL_MAP_BSS)
		return "[bss]";
	return "";
}

static const char *total_type(const struct ll_maps_total *t)
{
	if (t->kind == LL_MAP_TEXT)
		return "module";
	return ll_map_kind_name(t->kind);
}

static char *read_comm(pid_t pid)
{
	char path[64], *text = NULL;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (ll_read_file(path, 4096, &text, NULL) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static void print_text(const struct ll_maps *maps, const struct ll_maps_total *tot, size_t ntot,
		       bool smaps)
{
	char *comm = read_comm(maps->pid);
	char s1[32], s2[32], s3[32], perms[5], label[64], pbuf[4096 * 4 + 8];
	uint64_t size = 0, rss = 0, pss = 0;

	printf("%spid %d%s%s%s%s: %zu mappings\n", OUT_BOLD, (int)maps->pid, comm ? " (" : "",
	       comm ? ll_esc(comm, pbuf, sizeof(pbuf)) : "", comm ? ")" : "", OUT_RESET, maps->n);
	free(comm);
	printf("%-33s %-4s %-8s %-6s %10s %10s %10s  %s\n", "RANGE", "PERM", "OFFSET", "KIND", "SIZE",
	       "RSS", "PSS", "PATH");
	for (size_t i = 0; i < maps->n; i++) {
		const struct ll_map *m = &maps->v[i];
		char range[40];

		perms_str(m->perms, perms);
		snprintf(range, sizeof(range), "%012" PRIx64 "-%012" PRIx64, m->start, m->end);
		printf("%-33s %s %08" PRIx64 " %-6s %10s %10s %10s  %s%s%s%s\n", range, perms, m->offset,
		       ll_map_kind_name(m->kind), out_size(m->end - m->start, s1),
		       smaps ? out_size(m->rss, s2) : "-", smaps ? out_size(m->pss, s3) : "-",
		       m->path ? ll_esc(m->path, pbuf, sizeof(pbuf))
			       : anon_label(m, label, sizeof(label)),
		       m->deleted ? OUT_RED : "", m->deleted ? " (deleted)" : "",
		       m->deleted ? OUT_RESET : "");
	}
	printf("\n%sTotals%s (a module's row counts its file mappings and its bss)\n", OUT_BOLD,
	       OUT_RESET);
	printf("%-7s %5s %10s %10s %10s  %s\n", "TYPE", "MAPS", "SIZE", "RSS", "PSS", "NAME");
	for (size_t i = 0; i < ntot; i++) {
		const struct ll_maps_total *t = &tot[i];

		size += t->size;
		rss += t->rss;
		pss += t->pss;
		printf("%-7s %5zu %10s %10s %10s  %s%s%s%s\n", total_type(t), t->nmaps,
		       out_size(t->size, s1), smaps ? out_size(t->rss, s2) : "-",
		       smaps ? out_size(t->pss, s3) : "-", ll_esc(t->name, pbuf, sizeof(pbuf)),
		       t->deleted ? OUT_RED : "",
		       t->deleted ? " (deleted)" : "", t->deleted ? OUT_RESET : "");
	}
	printf("%-7s %5zu %10s %10s %10s\n\n", "all", maps->n, out_size(size, s1),
	       smaps ? out_size(rss, s2) : "-", smaps ? out_size(pss, s3) : "-");
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static void add_hex(json_object *o, const char *key, uint64_t v)
{
	char buf[24];

	fmt_hex(buf, sizeof(buf), v);
	json_object_object_add(o, key, json_object_new_string(buf));
}

static json_object *map_json(const struct ll_map *m, bool smaps)
{
	json_object *o = json_object_new_object();
	char perms[5], dev[24];

	perms_str(m->perms, perms);
	snprintf(dev, sizeof(dev), "%02x:%02x", m->dev_major, m->dev_minor);
	add_hex(o, "start", m->start);
	add_hex(o, "end", m->end);
	add_u64(o, "size", m->end - m->start);
	json_object_object_add(o, "perms", json_object_new_string(perms));
	add_hex(o, "offset", m->offset);
	json_object_object_add(o, "dev", json_object_new_string(dev));
	add_u64(o, "inode", m->inode);
	json_object_object_add(o, "kind", json_object_new_string(ll_map_kind_name(m->kind)));
	json_object_object_add(o, "path", ll_json_str(m->path));
	json_object_object_add(o, "deleted", json_object_new_boolean(m->deleted));
	json_object_object_add(o, "module", json_object_new_boolean(m->module));
	if (m->stack_tid)
		json_object_object_add(o, "stack_tid", json_object_new_int(m->stack_tid));
	if (smaps) {
		add_u64(o, "rss", m->rss);
		add_u64(o, "pss", m->pss);
		add_u64(o, "shared_clean", m->shared_clean);
		add_u64(o, "shared_dirty", m->shared_dirty);
		add_u64(o, "private_clean", m->private_clean);
		add_u64(o, "private_dirty", m->private_dirty);
		add_u64(o, "anonymous", m->anonymous);
		add_u64(o, "swap", m->swap);
		add_u64(o, "locked", m->locked);
		if (m->vm_flags)
			json_object_object_add(o, "vm_flags", json_object_new_string(m->vm_flags));
	}
	return o;
}

static json_object *process_json(const struct ll_maps *maps, const struct ll_maps_total *tot,
				 size_t ntot, bool smaps)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object *all = json_object_new_object();
	uint64_t size = 0, rss = 0, pss = 0, swap = 0;
	char *comm = read_comm(maps->pid);

	json_object_object_add(o, "pid", json_object_new_int(maps->pid));
	json_object_object_add(o, "command", ll_json_str(comm));
	free(comm);
	json_object_object_add(o, "smaps", json_object_new_boolean(smaps));
	for (size_t i = 0; i < maps->n; i++)
		json_object_array_add(arr, map_json(&maps->v[i], smaps));
	json_object_object_add(o, "mappings", arr);
	arr = json_object_new_array();
	for (size_t i = 0; i < ntot; i++) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "name", ll_json_str(tot[i].name));
		json_object_object_add(t, "type", json_object_new_string(total_type(&tot[i])));
		json_object_object_add(t, "deleted", json_object_new_boolean(tot[i].deleted));
		add_u64(t, "mappings", tot[i].nmaps);
		add_u64(t, "size", tot[i].size);
		if (smaps) {
			add_u64(t, "rss", tot[i].rss);
			add_u64(t, "pss", tot[i].pss);
			add_u64(t, "swap", tot[i].swap);
		}
		size += tot[i].size;
		rss += tot[i].rss;
		pss += tot[i].pss;
		swap += tot[i].swap;
		json_object_array_add(arr, t);
	}
	json_object_object_add(o, "totals", arr);
	add_u64(all, "mappings", maps->n);
	add_u64(all, "size", size);
	if (smaps) {
		add_u64(all, "rss", rss);
		add_u64(all, "pss", pss);
		add_u64(all, "swap", swap);
	}
	json_object_object_add(o, "total", all);
	return o;
}

/* One pid: 0, or -1 after printing why it failed. */
static int show_pid(const char *arg, bool json, bool smaps, json_object *jarr)
{
	struct ll_maps *maps = NULL;
	struct ll_maps_total *tot = NULL;
	size_t ntot = 0;
	pid_t pid;
	int r;

	if (ll_parse_pid(arg, &pid) < 0) {
		char ebuf[256];

		out_error("maps", "'%s' is not a process id: give a positive decimal number "
				  "such as 1234 (see 'ps -e')", ll_esc(arg, ebuf, sizeof(ebuf)));
		return -1;
	}
	r = ll_maps_read(pid, smaps ? LL_MAPS_SMAPS : 0, &maps);
	if (r == 0)
		r = ll_maps_summarize(maps, &tot, &ntot);
	switch (r) {
	case 0:
		break;
	case -ESRCH:
		out_error("maps", "pid %d: no such process (it may have exited; check with 'ps -p %d')",
			  (int)pid, (int)pid);
		break;
	case -EACCES:
		if (geteuid() != 0)
			out_error("maps", "pid %d: permission denied reading /proc/%d/%s: run as root "
					  "or as the user that owns the process", (int)pid, (int)pid,
				  smaps ? "smaps" : "maps");
		else
			out_error("maps", "pid %d: permission denied reading /proc/%d/%s even as root: "
					  "the process holds capabilities this one lacks, or a security "
					  "module (Yama, SELinux, AppArmor) forbids it; run lifeline with the "
					  "same capabilities or from the process's own namespace",
				  (int)pid, (int)pid, smaps ? "smaps" : "maps");
		break;
	case -EINVAL:
		out_error("maps", "pid %d: /proc/%d/%s has a line this parser does not understand; "
				  "please report it with the file attached", (int)pid, (int)pid,
			  smaps ? "smaps" : "maps");
		break;
	default:
		out_error("maps", "pid %d: reading /proc/%d/%s failed: %s", (int)pid, (int)pid,
			  smaps ? "smaps" : "maps", strerror(-r));
		break;
	}
	if (r == 0) {
		if (maps->n == 0 && !json)
			printf("pid %d has no mappings (a kernel thread, or a process that is "
			       "exiting)\n\n", (int)pid);
		else if (json)
			json_object_array_add(jarr, process_json(maps, tot, ntot, smaps));
		else
			print_text(maps, tot, ntot, smaps);
	}
	free(tot);
	ll_maps_free(maps);
	return r == 0 ? 0 : -1;
}

int cmd_maps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-smaps", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, smaps = true;
	json_object *jarr;
	int c, failed = 0, npids;

	cli_std_fds();
	optind = 0; /* full reset: the demo calls us after other commands */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			smaps = false;
			break;
		case 'h':
			usage(stdout);
			return LL_EXIT_OK;
		default:
			return cli_opt_error("maps", c, argv, opts);
		}
	}
	npids = argc - optind;
	if (npids <= 0) {
		out_error("maps", "which process? give one or more PIDs; see 'lifeline maps --help'");
		return LL_EXIT_USAGE;
	}
	jarr = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		if (show_pid(argv[i], json, smaps, jarr) < 0)
			failed++;
		fflush(stdout);
	}
	if (json && npids == 1 && json_object_array_length(jarr) == 1) {
		json_object *one = json_object_get(json_object_array_get_idx(jarr, 0));

		json_object_put(jarr);
		jarr = one;
	}
	if (json && (npids > 1 || !failed)) {
		if (out_json(jarr) < 0)
			failed++;
	} else {
		json_object_put(jarr);
	}
	return failed ? LL_EXIT_FAIL : LL_EXIT_OK;
}
