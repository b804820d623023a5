/* cmd_install.c: `lifeline install [--backup] [--json] SRC DST`.
 *
 * Replaces DST by a copy of SRC atomically through ll_install() (temp file
 * in DST's directory, fsync, mode and owner kept, rename, directory fsync).
 * Before replacing, lists the processes that map DST (ll_file_mappers():
 * device + inode in /proc/PID/maps): they keep running the old, now deleted
 * file until they reload or restart. When DST looks like a shared object
 * or is an ELF file now, and SRC is not a complete ELF (a truncated build, a
 * text file), the install is refused: the service would fail to load it or
 * crash; --force installs it anyway, with a warning.
 * DST may be a directory: SRC's file name is then used inside it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
		"usage: lifeline install [--backup] [--force] [--json] SRC DST\n\n"
		"Replace DST by a copy of SRC atomically, never in place: the copy goes to a\n"
		"temp file in DST's directory, is fsync'ed, gets DST's mode and owner (SRC's\n"
		"mode for a new file), is renamed over DST, and the directory is fsync'ed.\n"
		"A process that mapped the old DST keeps running it, intact (unlike cp, which\n"
		"rewrites the mapped inode and crashes it); the processes mapping DST are\n"
		"listed first. If DST is a directory, SRC's name is used inside it.\n"
		"When DST is a shared object or an ELF file and SRC is not a complete ELF\n"
		"(a truncated build, a text file), the install is refused.\n\n"
		"  --backup     keep the replaced file as DST~ (a hard link to it)\n"
		"  --force      install SRC even when it is not a complete ELF file\n"
		"  --json       print the result as JSON\n"
		"  -h, --help   show this help\n\n"
		"Exit status: 0 installed, 1 failed (DST unchanged), 2 usage error.\n");
}

static bool looks_like_so(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	return (n > 3 && !strcmp(base + n - 3, ".so")) || strstr(base, ".so.");
}

/* True when path is a regular file that starts with the ELF magic. */
static bool is_elf(const char *path)
{
	unsigned char m[4];
	bool elf = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pread(fd, m, 4, 0) == 4)
		elf = m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
	close(fd);
	return elf;
}

/* "" when SRC is a complete ELF, else why not, in why. Read, not mapped:
 * a file cut short under a mapping would raise SIGBUS here. */
static void elf_check(const char *src, char *why, size_t size)
{
	struct stat st;
	char *bytes = NULL;
	size_t len = 0;

	why[0] = '\0';
	if (stat(src, &st) < 0 || !S_ISREG(st.st_mode))
		return; /* not a file: ll_install() refuses it with its own message */
	if (ll_read_file(src, (size_t)256 << 20, &bytes, &len) < 0)
		return; /* too big or unreadable: no opinion */
	ll_plugin_check_elf(bytes, len, why, size);
	free(bytes);
}

static const char *advice(int err, const char *step)
{
	if (!strcmp(step, "open source"))
		return err == -ENOENT ? "check the SRC path" : "check that SRC is readable";
	if (!strcmp(step, "open destination directory"))
		return err == -ENOENT || err == -ENOTDIR ? "create DST's directory first (the temp file must live "
							  "beside DST)"
							: "check the permissions of DST's directory";
	if (err == -ELOOP)
		return "install to its target (readlink -f DST) or remove the link first";
	if (err == -EXDEV || err == -EBUSY)
		return "DST is a mount point (a bind mount?): rename cannot replace it; install to the mount's "
		       "source instead";
	if (err == -ENOSPC || err == -EDQUOT)
		return "free space on DST's filesystem";
	if (err == -EACCES || err == -EPERM || err == -EROFS)
		return "run as DST's owner or root, on a writable filesystem";
	return "DST was left unchanged";
}

static void print_mappers(const char *dst, const struct ll_mapper *v, size_t n)
{
	char sz[32], ec[80];

	if (!n) {
		printf("no process maps %s\n", dst);
		return;
	}
	if (n == 1)
		printf("1 process maps %s; it keeps running the old file (deleted by this install) until it "
		       "reloads or restarts (see 'lifeline stale'):\n", dst);
	else
		printf("%zu processes map %s; they keep running the old file (deleted by this install) until they "
		       "reload or restart (see 'lifeline stale'):\n", n, dst);
	for (size_t i = 0; i < n; i++)
		printf("  pid %-7d %-16s %s, %s mapped\n", (int)v[i].pid, ll_esc(v[i].comm, ec, sizeof(ec)),
		       v[i].exec ? "code" : "data",
		       out_size(v[i].bytes, sz));
}

int cmd_install(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backup", no_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ll_install_opts opts = { 0 };
	struct ll_install_result res;
	struct ll_mapper *mappers = NULL;
	size_t nmappers = 0;
	char dst[PATH_MAX], why[256], srccopy[PATH_MAX], esrc[1024], edst[1024];
	const char *src;
	bool json = false, force = false;
	struct stat st;
	int c, r, rc = LL_EXIT_FAIL;

	cli_std_fds(); /* the temp file must never become our stdout */
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opts.backup = true;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return LL_EXIT_OK;
		default:
			return cli_opt_error("install", c, argv, longopts);
		}
	}
	if (argc - optind != 2) {
		out_error("install", "expected SRC and DST; see 'lifeline install --help'");
		return LL_EXIT_USAGE;
	}
	src = argv[optind];
	ll_esc(src, esrc, sizeof(esrc));
	if (!*src || !*argv[optind + 1]) {
		out_error("install", "%s is an empty path; see 'lifeline install --help'", !*src ? "SRC" : "DST");
		return LL_EXIT_USAGE;
	}
	if (snprintf(dst, sizeof(dst), "%s", argv[optind + 1]) >= (int)sizeof(dst)) {
		out_error("install", "%s: path too long", ll_esc(argv[optind + 1], edst, sizeof(edst)));
		return LL_EXIT_USAGE;
	}
	if (stat(src, &st) < 0) {
		out_error("install", "%s: %s; check the SRC path", esrc, strerror(errno));
		return LL_EXIT_FAIL;
	}
	if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(srccopy, sizeof(srccopy), "%s", src);
		const char *d = argv[optind + 1];
		size_t dl = strlen(d);

		while (dl > 1 && d[dl - 1] == '/')
			dl--;
		if (snprintf(dst, sizeof(dst), "%.*s/%s", (int)dl, d, basename(srccopy)) >= (int)sizeof(dst)) {
			out_error("install", "%s: path too long", ll_esc(argv[optind + 1], edst, sizeof(edst)));
			return LL_EXIT_USAGE;
		}
	}
	ll_esc(dst, edst, sizeof(edst));
	if (looks_like_so(dst) || is_elf(dst)) {
		elf_check(src, why, sizeof(why));
		if (why[0] && !force) {
			out_error("install", "%s is not a complete ELF file (%s), and %s is a shared object "
				  "or program: a service loading it would fail or crash. Check the build; "
				  "--force installs it anyway", esrc, why, edst);
			return LL_EXIT_FAIL;
		}
		if (why[0])
			fprintf(stderr, "lifeline install: warning: %s is not a loadable shared object (%s); "
				"installing it as %s anyway (--force)\n", esrc, why, edst);
	}
	if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode)) {
		r = ll_file_mappers(st.st_dev, st.st_ino, &mappers, &nmappers);
		if (r < 0)
			fprintf(stderr, "lifeline install: warning: cannot list the processes mapping %s: %s\n", dst,
				strerror(-r));
		else if (!json)
			print_mappers(edst, mappers, nmappers);
	}
	r = ll_install(src, dst, &opts, &res);
	if (r < 0) {
		if (res.refused)
			out_error("install", "%s -> %s: %s; %s", esrc, edst, res.step, advice(r, res.step));
		else
			out_error("install", "%s -> %s: %s failed: %s; %s", esrc, edst, res.step, strerror(-r),
				  advice(r, res.step));
		goto out;
	}
	if (json) {
		json_object *o = json_object_new_object(), *ms = json_object_new_array();
		char mode[8];

		snprintf(mode, sizeof(mode), "%04o", (unsigned)res.mode);
		json_object_object_add(o, "src", ll_json_str(src));
		json_object_object_add(o, "dst", ll_json_str(dst));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)res.bytes));
		json_object_object_add(o, "replaced", json_object_new_boolean(res.replaced));
		json_object_object_add(o, "mode", json_object_new_string(mode));
		json_object_object_add(o, "uid", json_object_new_int64(res.uid));
		json_object_object_add(o, "gid", json_object_new_int64(res.gid));
		json_object_object_add(o, "owner_kept", json_object_new_boolean(res.owner_kept));
		json_object_object_add(o, "backup", res.backup[0] ? ll_json_str(res.backup) : NULL);
		for (size_t i = 0; i < nmappers; i++) {
			json_object *m = json_object_new_object();

			json_object_object_add(m, "pid", json_object_new_int(mappers[i].pid));
			json_object_object_add(m, "comm", ll_json_str(mappers[i].comm));
			json_object_object_add(m, "code", json_object_new_boolean(mappers[i].exec));
			json_object_object_add(m, "mapped_bytes", json_object_new_int64((int64_t)mappers[i].bytes));
			json_object_array_add(ms, m);
		}
		json_object_object_add(o, "mapped_by", ms);
		if (out_json(o) < 0)
			goto out;
	} else {
		char sz[32];

		printf("installed %s -> %s (%s, mode %04o, owner %u:%u%s)\n", esrc, edst, out_size(res.bytes, sz),
		       (unsigned)res.mode, (unsigned)res.uid, (unsigned)res.gid,
		       res.replaced && !res.owner_kept ? ", previous owner NOT kept: not allowed to chown" : "");
		if (res.backup[0])
			printf("previous version kept as %s\n", ll_esc(res.backup, why, sizeof(why)));
	}
	rc = LL_EXIT_OK;
out:
	free(mappers);
	return rc;
}
