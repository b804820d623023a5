/* cmd_fds.c: `lifeline fds`, a process's descriptors, the ones it shares
 * with its parent (--inherited: the leak diagnosis), and the holders of a
 * port (--port). A thin layer over include/lifeline/inspect/fds.h: this file
 * only parses options and formats (a table, or JSON with json-c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifeline/inspect/fds.h"
#include "common/common.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/text.h"
#include "common/escape.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline fds [--json] [--inherited] PID...\n"
		"       lifeline fds [--json] --port PORT\n\n"
		"Lists each descriptor of each PID: number, type, open flags, close-on-exec,\n"
		"offset and target; sockets with protocol, endpoints and state.\n\n"
		"  --inherited  only the descriptors PID shares with its parent process (the same\n"
		"               open file description, by kcmp): what a spawn leaked into it\n"
		"  --port PORT  every process holding a TCP/UDP socket on local port PORT, and\n"
		"               which one opened it (the others inherited it)\n"
		"  --json       JSON output\n"
		"  -h, --help   this help\n\n"
		"Exit status: 0 success, 1 a process could not be read, 2 usage error.\n");
}

/* "rw,append,nonblock" (O_LARGEFILE, always set on 64-bit, is left out) */
static const char *flags_str(unsigned fl, char *buf, size_t size)
{
	static const struct {
		unsigned bits;
		const char *name;
	} names[] = {
		{ O_APPEND, "append" }, { O_NONBLOCK, "nonblock" }, { O_SYNC, "sync" },
		{ O_DIRECT, "direct" }, { O_NOATIME, "noatime" }, { O_PATH, "path" },
		{ O_ASYNC, "async" }, { O_DIRECTORY, "directory" },
	};
	size_t used;

	switch (fl & O_ACCMODE) {
	case O_RDONLY: used = (size_t)snprintf(buf, size, "r"); break;
	case O_WRONLY: used = (size_t)snprintf(buf, size, "w"); break;
	default: used = (size_t)snprintf(buf, size, "rw"); break;
	}
	for (size_t i = 0; i < LL_ARRAY_SIZE(names) && used < size; i++)
		if ((fl & names[i].bits) == names[i].bits)
			used += (size_t)snprintf(buf + used, size - used, ",%s", names[i].name);
	if ((fl & O_DSYNC) && (fl & O_SYNC) != O_SYNC && used < size)
		snprintf(buf + used, size - used, ",dsync");
	return buf;
}

/* A target for a terminal, escaped (common/escape.h). */
static void put_clean(const char *s, FILE *f)
{
	static char buf[4096 * 4 + 8];
	size_t n = strlen(s);

	if (!ll_escape_needed(s, n, 0))
		fwrite(s, 1, n, f); /* the common case: clean */
	else
		fputs(ll_escape_buf(s, n, 0, buf, sizeof(buf)), f);
}

static void print_sock(const struct ll_fd *f)
{
	const struct ll_fd_socket *s = &f->sock;

	if (!f->has_socket) {
		fputs("socket (not tcp/udp/unix) ", stdout);
		put_clean(f->target, stdout);
		return;
	}
	if (s->proto == LL_SOCK_UNIX) {
		printf("unix %s %s ", s->unix_type == 2 ? "dgram" : s->unix_type == 5 ? "seqpacket" : "stream",
		       s->state);
		put_clean(s->local[0] ? s->local : "(unnamed)", stdout);
		return;
	}
	printf("%s %s -> %s %s", ll_sock_proto_name(s->proto), s->local, s->remote, s->state);
}

static void print_table(const struct ll_fds *fds, bool inherited, int shared)
{
	char fl[128], ec[80];

	printf("%sPID %d (%s)%s, parent %d: %zu descriptors", OUT_BOLD, (int)fds->pid,
	       ll_esc(fds->comm, ec, sizeof(ec)),
	       OUT_RESET, (int)fds->ppid, fds->n);
	if (inherited)
		printf(", %d shared with the parent", shared);
	printf("\n%6s %-8s %-14s %-7s %10s  %s%s\n", "FD", "TYPE", "FLAGS", "CLOEXEC", "OFFSET", "TARGET",
	       inherited ? "  [PARENT FD]" : "");
	for (size_t i = 0; i < fds->n; i++) {
		const struct ll_fd *f = &fds->v[i];

		if (inherited && f->parent_fd < 0)
			continue;
		printf("%6d %-8s %-14s %-7s %10llu  ", f->fd, ll_fd_type_name(f->type),
		       flags_str(f->flags, fl, sizeof(fl)), f->cloexec ? "yes" : "no",
		       (unsigned long long)f->pos);
		if (f->type == LL_FD_SOCKET)
			print_sock(f);
		else
			put_clean(f->target, stdout);
		if (inherited)
			printf("  [parent fd %d]", f->parent_fd);
		putchar('\n');
	}
}

static json_object *sock_json(const struct ll_fd_socket *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "proto", json_object_new_string(ll_sock_proto_name(s->proto)));
	json_object_object_add(o, "local", ll_json_str(s->local));
	if (s->proto != LL_SOCK_UNIX) {
		json_object_object_add(o, "remote", json_object_new_string(s->remote));
		json_object_object_add(o, "local_port", json_object_new_int(s->local_port));
		json_object_object_add(o, "remote_port", json_object_new_int(s->remote_port));
	}
	json_object_object_add(o, "state", json_object_new_string(s->state));
	return o;
}

static json_object *fds_json(const struct ll_fds *fds, bool inherited, int shared)
{
	json_object *p = json_object_new_object(), *arr = json_object_new_array();
	char fl[128], oct[16];

	json_object_object_add(p, "pid", json_object_new_int(fds->pid));
	json_object_object_add(p, "ppid", json_object_new_int(fds->ppid));
	json_object_object_add(p, "comm", ll_json_str(fds->comm));
	json_object_object_add(p, "count", json_object_new_int64((int64_t)fds->n));
	if (inherited)
		json_object_object_add(p, "shared_with_parent", json_object_new_int(shared));
	for (size_t i = 0; i < fds->n; i++) {
		const struct ll_fd *f = &fds->v[i];
		json_object *o;

		if (inherited && f->parent_fd < 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "fd", json_object_new_int(f->fd));
		json_object_object_add(o, "type", json_object_new_string(ll_fd_type_name(f->type)));
		json_object_object_add(o, "target", ll_json_str(f->target));
		json_object_object_add(o, "flags", json_object_new_string(flags_str(f->flags, fl, sizeof(fl))));
		snprintf(oct, sizeof(oct), "0%o", f->flags);
		json_object_object_add(o, "flags_octal", json_object_new_string(oct));
		json_object_object_add(o, "cloexec", json_object_new_boolean(f->cloexec));
		json_object_object_add(o, "pos", json_object_new_int64((int64_t)f->pos));
		json_object_object_add(o, "ino", json_object_new_int64((int64_t)f->ino));
		if (f->has_socket)
			json_object_object_add(o, "socket", sock_json(&f->sock));
		if (inherited)
			json_object_object_add(o, "parent_fd", json_object_new_int(f->parent_fd));
		json_object_array_add(arr, o);
	}
	json_object_object_add(p, "fds", arr);
	return p;
}

static int show_port(unsigned port, bool json)
{
	struct ll_port_holder *h = NULL;
	size_t n = 0;
	int r = ll_fds_port_holders((uint16_t)port, &h, &n);

	if (r < 0) {
		out_error("fds", "cannot scan /proc for port %u: %s", port, strerror(-r));
		return LL_EXIT_FAIL;
	}
	if (json) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(o, "port", json_object_new_int((int)port));
		for (size_t i = 0; i < n; i++) {
			json_object *x = json_object_new_object();

			json_object_object_add(x, "pid", json_object_new_int(h[i].pid));
			json_object_object_add(x, "ppid", json_object_new_int(h[i].ppid));
			json_object_object_add(x, "comm", ll_json_str(h[i].comm));
			json_object_object_add(x, "fd", json_object_new_int(h[i].fd));
			json_object_object_add(x, "socket_ino", json_object_new_int64((int64_t)h[i].ino));
			json_object_object_add(x, "socket", sock_json(&h[i].sock));
			json_object_object_add(x, "opener", json_object_new_boolean(h[i].opener));
			json_object_object_add(x, "inherited_from", json_object_new_int(h[i].inherited_from));
			json_object_array_add(arr, x);
		}
		json_object_object_add(o, "holders", arr);
		r = out_json(o);
	} else {
		printf("%sport %u: %zu holder%s%s\n", OUT_BOLD, port, n, n == 1 ? "" : "s", OUT_RESET);
		if (n)
			printf("%8s %-16s %6s %-5s %-22s %-22s %-12s %s\n", "PID", "COMMAND", "FD", "PROTO",
			       "LOCAL", "REMOTE", "STATE", "HOW");
		for (size_t i = 0; i < n; i++) {
			char how[96], ec[80];

			if (h[i].opener)
				snprintf(how, sizeof(how), "%sopened it%s", OUT_GREEN, OUT_RESET);
			else if (h[i].inherited_from)
				snprintf(how, sizeof(how), "%sinherited from parent %d%s", OUT_YELLOW,
					 (int)h[i].inherited_from, OUT_RESET);
			else
				snprintf(how, sizeof(how), "%sshares it (parent gone, or passed over a socket)%s",
					 OUT_YELLOW, OUT_RESET);
			printf("%8d %-16s %6d %-5s %-22s %-22s %-12s %s\n", (int)h[i].pid,
			       ll_esc(h[i].comm, ec, sizeof(ec)), h[i].fd,
			       ll_sock_proto_name(h[i].sock.proto), h[i].sock.local, h[i].sock.remote,
			       h[i].sock.state, how);
		}
	}
	free(h);
	return r < 0 ? LL_EXIT_FAIL : LL_EXIT_OK;
}

int cmd_fds(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "inherited", no_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char outbuf[1 << 16];
	bool json = false, inherited = false;
	json_object *all = NULL;
	uint64_t port = 0;
	int c, failed = 0, have_port = 0;

	cli_std_fds();
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'i': inherited = true; break;
		case 'p':
			if (ll_parse_u64(optarg, 0, &port) < 0 || port == 0 || port > 65535) {
				char e[256];

				out_error("fds", "invalid port '%s': give a number from 1 to 65535",
					  ll_esc(optarg, e, sizeof(e)));
				return LL_EXIT_USAGE;
			}
			have_port = 1;
			break;
		case 'h': usage(stdout); return LL_EXIT_OK;
		default:
			return cli_opt_error("fds", c, argv, opts);
		}
	}
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	if (have_port) {
		if (optind < argc || inherited) {
			out_error("fds", "--port takes no PID and no --inherited; see 'lifeline fds --help'");
			return LL_EXIT_USAGE;
		}
		c = show_port((unsigned)port, json);
		fflush(stdout);
		return c;
	}
	if (optind >= argc) {
		out_error("fds", "no PID given; usage: lifeline fds [--json] [--inherited] PID...");
		return LL_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		pid_t pid;

		if (ll_parse_pid(argv[i], &pid) < 0) {
			char e[256];

			out_error("fds", "invalid PID '%s': give a process id (a positive number, see 'ps -e')",
				  ll_esc(argv[i], e, sizeof(e)));
			return LL_EXIT_USAGE;
		}
	}
	if (json)
		all = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		struct ll_fds *fds = NULL;
		pid_t pid;
		int r, shared = 0;

		ll_parse_pid(argv[i], &pid);
		r = ll_fds_read(pid, 0, &fds);
		if (r < 0) {
			out_error("fds", "cannot read the descriptors of PID %d: %s%s", (int)pid, strerror(-r),
				  r == -EACCES || r == -EPERM ? " (run as root or as the process's owner)" : "");
			failed = 1;
			continue;
		}
		if (inherited) {
			shared = ll_fds_mark_inherited(fds, 0);
			if (shared < 0) {
				out_error("fds", "cannot compare PID %d with its parent %d: %s", (int)pid,
					  (int)fds->ppid, strerror(-shared));
				failed = 1;
				ll_fds_free(fds);
				continue;
			}
		}
		if (json)
			json_object_array_add(all, fds_json(fds, inherited, shared));
		else {
			if (i > optind)
				putchar('\n');
			print_table(fds, inherited, shared);
		}
		ll_fds_free(fds);
	}
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "processes", all);
		if (out_json(o) < 0)
			failed = 1;
	}
	if (fflush(stdout) != 0)
		failed = 1;
	return failed ? LL_EXIT_FAIL : LL_EXIT_OK;
}
