/* test_tools.c: `lifeline install` and `lifeline stale` against live
 * processes (tests/plugin/mapper): one that dlopen()ed a library that is
 * then installed over (a mapping of a deleted file: old code), one that
 * mapped a file truncated afterwards (past its end: SIGBUS), one with
 * nothing stale; install's listing of who maps DST, its atomic replace
 * keeping mode, no temp file left, --backup keeping the old inode, and its
 * errors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>

#include "testutil.h"

extern char **environ;

static char dir[4096];

struct mapper {
	pid_t pid;
	int in;
};

static const char *example(const char *name)
{
	static char buf[4][4096];
	static int i;
	char rel[256];

	snprintf(rel, sizeof(rel), "examples/plugin/%s", name);
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s", tu_build_path(rel));
	return buf[i];
}

static const char *in_dir(const char *name)
{
	static char buf[4][4200];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void copy_file(const char *from, const char *to)
{
	char *argv[] = { "cp", (char *)from, (char *)to, NULL };

	assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
}

static struct mapper start_mapper(const char *mode, const char *path)
{
	posix_spawn_file_actions_t fa;
	struct mapper m = { -1, -1 };
	char *argv[] = { (char *)tu_build_path("tests/plugin/mapper"), (char *)mode, (char *)path, NULL };
	char line[64] = "";
	int in[2], out[2];
	ssize_t n;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	assert_int_equal(posix_spawn(&m.pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	n = read(out[0], line, sizeof(line) - 1);
	close(out[0]);
	assert_true(n > 0);
	assert_true(!strncmp(line, "ready", 5));
	m.in = in[1];
	return m;
}

static void stop_mapper(struct mapper *m)
{
	int st;

	close(m->in);
	waitpid(m->pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Run lifeline with up to 6 arguments; returns the exit code (-1 if
 * killed). out/err as tu_run. */
static int lifeline(char **out, char **err, const char *a1, const char *a2, const char *a3, const char *a4,
		    const char *a5)
{
	char *argv[] = { (char *)tu_lifeline(), (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5,
			 NULL };
	int st = tu_run(argv, NULL, out, err);

	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool same_bytes(const char *a, const char *b)
{
	char *argv[] = { "cmp", "-s", (char *)a, (char *)b, NULL };

	return tu_run(argv, NULL, NULL, NULL) == 0;
}

static int setup(void **state)
{
	(void)state;
	return tu_mkdtemp(dir, sizeof(dir)) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(dir);
	return 0;
}

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (!o)
		fail_msg("not JSON: %s", text);
	return o;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no key '%s' in %s", key, json_object_to_json_string(o));
	return v;
}

static void test_install_lists_mappers_and_replaces(void **state)
{
	const char *lib = in_dir("lib.so");
	struct mapper a, b;
	struct stat before, after, bak;
	char *out = NULL, *err = NULL, pidstr[32];
	json_object *o, *by;
	bool found = false;
	DIR *d;
	struct dirent *de;
	int files = 0;

	(void)state;
	copy_file(example("greeter-v1.so"), lib);
	assert_int_equal(chmod(lib, 0640), 0);
	a = start_mapper("dlopen", lib);
	assert_int_equal(lifeline(&out, &err, "install", example("greeter-v2.so"), lib, NULL, NULL), 0);
	snprintf(pidstr, sizeof(pidstr), "pid %-7d", (int)a.pid);
	if (!strstr(out, pidstr))
		fail_msg("install did not list mapper %d:\n%s%s", (int)a.pid, out, err);
	assert_non_null(strstr(out, "installed"));
	assert_true(same_bytes(lib, example("greeter-v2.so")));
	free(out);
	free(err);

	b = start_mapper("dlopen", lib);
	assert_int_equal(stat(lib, &before), 0);
	assert_int_equal(lifeline(&out, &err, "install", "--backup", "--json", example("greeter-v3.so"), lib), 0);
	o = parse(out);
	assert_string_equal(json_object_get_string(get(o, "mode")), "0640");
	assert_true(json_object_get_boolean(get(o, "replaced")));
	assert_string_equal(json_object_get_string(get(o, "backup")), in_dir("lib.so~"));
	by = get(o, "mapped_by");
	for (size_t i = 0; i < json_object_array_length(by); i++) {
		json_object *m = json_object_array_get_idx(by, i);
		pid_t pid = json_object_get_int(get(m, "pid"));

		assert_int_not_equal(pid, a.pid); /* a maps the old, deleted v1 */
		if (pid == b.pid) {
			found = true;
			assert_true(json_object_get_boolean(get(m, "code")));
		}
	}
	assert_true(found);
	json_object_put(o);
	assert_true(same_bytes(lib, example("greeter-v3.so")));
	assert_int_equal(stat(lib, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0640);
	assert_int_not_equal(after.st_ino, before.st_ino);
	assert_int_equal(stat(in_dir("lib.so~"), &bak), 0);
	assert_int_equal(bak.st_ino, before.st_ino);
	assert_true(same_bytes(in_dir("lib.so~"), example("greeter-v2.so")));
	/* No temp file left behind. */
	d = opendir(dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")))
			files++;
	closedir(d);
	assert_int_equal(files, 2);
	free(out);
	free(err);

	/* Both processes now run deleted code: stale says so. */
	snprintf(pidstr, sizeof(pidstr), "%d", (int)a.pid);
	assert_int_equal(lifeline(&out, &err, "stale", pidstr, NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "deleted"));
	assert_non_null(strstr(out, lib));
	assert_non_null(strstr(out, "old code still running"));
	free(out);
	free(err);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)b.pid);
	assert_int_equal(lifeline(&out, &err, "stale", "--json", pidstr, NULL, NULL), 0);
	o = parse(out);
	by = get(o, "processes");
	assert_int_equal(json_object_array_length(by), 1);
	by = get(json_object_array_get_idx(by, 0), "stale");
	found = false;
	for (size_t i = 0; i < json_object_array_length(by); i++) {
		json_object *it = json_object_array_get_idx(by, i);

		if (!strcmp(json_object_get_string(get(it, "path")), lib)) {
			found = true;
			assert_string_equal(json_object_get_string(get(it, "kind")), "deleted");
			assert_true(json_object_get_boolean(get(it, "code")));
			assert_int_equal(json_object_get_int64(get(it, "inode")), (int64_t)before.st_ino);
		}
	}
	assert_true(found);
	json_object_put(o);
	free(out);
	free(err);
	stop_mapper(&a);
	stop_mapper(&b);
}

static json_object *stale_item(json_object *o, pid_t pid, const char *path)
{
	json_object *procs = get(o, "processes");

	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i), *items;

		if (json_object_get_int(get(p, "pid")) != pid)
			continue;
		items = get(p, "stale");
		for (size_t k = 0; k < json_object_array_length(items); k++) {
			json_object *it = json_object_array_get_idx(items, k);

			if (!strcmp(json_object_get_string(get(it, "path")), path))
				return it;
		}
	}
	return NULL;
}

static void test_stale_truncated(void **state)
{
	const char *data = in_dir("data.bin"), *lib = in_dir("t.so");
	char buf[4096], *out = NULL, *err = NULL, pa[32], pb[32];
	struct mapper a, b, clean;
	json_object *o, *it;
	int fd;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < 16; i++)
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	copy_file(example("greeter-v1.so"), lib);
	a = start_mapper("mmap", data);
	b = start_mapper("dlopen", lib);
	clean = start_mapper("mmap", "/bin/sh");
	assert_int_equal(truncate(data, 4096), 0);
	assert_int_equal(truncate(lib, 4096), 0); /* what a cp does first */
	snprintf(pa, sizeof(pa), "%d", (int)a.pid);
	snprintf(pb, sizeof(pb), "%d", (int)b.pid);

	assert_int_equal(lifeline(&out, &err, "stale", "--json", pa, pb, NULL), 0);
	o = parse(out);
	it = stale_item(o, a.pid, data);
	assert_non_null(it);
	assert_string_equal(json_object_get_string(get(it, "kind")), "truncated");
	assert_false(json_object_get_boolean(get(it, "code")));
	assert_int_equal(json_object_get_int64(get(it, "file_size")), 4096);
	assert_int_equal(json_object_get_int64(get(it, "mapped_bytes")), 65536);
	assert_int_equal(json_object_get_int64(get(it, "past_eof_bytes")), 61440);
	assert_non_null(strstr(json_object_get_string(get(it, "risk")), "SIGBUS"));
	it = stale_item(o, b.pid, lib);
	assert_non_null(it);
	assert_string_equal(json_object_get_string(get(it, "kind")), "truncated");
	assert_true(json_object_get_boolean(get(it, "code")));
	assert_non_null(strstr(json_object_get_string(get(it, "risk")), "a crash waiting to happen"));
	json_object_put(o);
	free(out);
	free(err);

	/* Human output, and the whole-system scan finds them too. */
	assert_int_equal(lifeline(&out, &err, "stale", pb, NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "truncated"));
	assert_non_null(strstr(out, "a crash waiting to happen"));
	free(out);
	free(err);
	assert_int_equal(lifeline(&out, &err, "stale", "--json", NULL, NULL, NULL), 0);
	o = parse(out);
	assert_non_null(stale_item(o, a.pid, data));
	assert_non_null(stale_item(o, b.pid, lib));
	json_object_put(o);
	free(out);
	free(err);

	/* Nothing stale in a clean process. */
	snprintf(pa, sizeof(pa), "%d", (int)clean.pid);
	assert_int_equal(lifeline(&out, &err, "stale", pa, NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "no stale mappings in 1 process scanned"));
	free(out);
	free(err);
	stop_mapper(&a);
	stop_mapper(&b);
	stop_mapper(&clean);
}

static void test_stale_errors(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	assert_int_equal(lifeline(&out, &err, "stale", "abc", NULL, NULL, NULL), 2);
	assert_non_null(strstr(err, "'abc' is not a process id"));
	free(out);
	free(err);
	assert_int_equal(lifeline(&out, &err, "stale", "2147483000", NULL, NULL, NULL), 1);
	assert_non_null(strstr(err, "pid 2147483000"));
	free(out);
	free(err);
}

static void test_install_errors(void **state)
{
	char *out = NULL, *err = NULL;
	const char *v1 = example("greeter-v1.so");
	char bogus[4300];

	(void)state;
	assert_int_equal(lifeline(&out, &err, "install", in_dir("nope.so"), in_dir("x.so"), NULL, NULL), 1);
	assert_non_null(strstr(err, "check the SRC path"));
	free(out);
	free(err);
	assert_int_equal(lifeline(&out, &err, "install", v1, in_dir("no/such/dir/x.so"), NULL, NULL), 1);
	assert_non_null(strstr(err, "create DST's directory first"));
	free(out);
	free(err);
	assert_int_equal(symlink(v1, in_dir("link.so")), 0);
	assert_int_equal(lifeline(&out, &err, "install", v1, in_dir("link.so"), NULL, NULL), 1);
	assert_non_null(strstr(err, "symbolic link"));
	free(out);
	free(err);
	assert_int_equal(lifeline(&out, &err, "install", v1, NULL, NULL, NULL), 2);
	free(out);
	free(err);
	/* Not an ELF, installed as a .so: refused, DST untouched; with --force
	 * a warning, installed anyway. */
	snprintf(bogus, sizeof(bogus), "%s/notes.txt", dir);
	{
		FILE *f = fopen(bogus, "w");

		fputs("hello\n", f);
		fclose(f);
	}
	copy_file(v1, in_dir("plugin.so"));
	assert_int_equal(lifeline(&out, &err, "install", bogus, in_dir("plugin.so"), NULL, NULL), 1);
	assert_non_null(strstr(err, "not a complete ELF file"));
	assert_non_null(strstr(err, "--force"));
	assert_true(same_bytes(v1, in_dir("plugin.so")));
	free(out);
	free(err);
	assert_int_equal(lifeline(&out, &err, "install", "--force", bogus, in_dir("plugin.so"), NULL), 0);
	assert_non_null(strstr(err, "warning"));
	assert_non_null(strstr(err, "not an ELF file"));
	assert_true(same_bytes(bogus, in_dir("plugin.so")));
	free(out);
	free(err);
	/* DST a directory: SRC's name inside it. */
	assert_int_equal(mkdir(in_dir("sub"), 0755), 0);
	assert_int_equal(lifeline(&out, &err, "install", v1, in_dir("sub"), NULL, NULL), 0);
	assert_true(same_bytes(v1, in_dir("sub/greeter-v1.so")));
	free(out);
	free(err);
	/* DST a mount point (bind mount): rename cannot replace it. */
	copy_file(v1, in_dir("target.so"));
	if (mount(bogus, in_dir("target.so"), NULL, MS_BIND, NULL) == 0) {
		int rc = lifeline(&out, &err, "install", v1, in_dir("target.so"), NULL, NULL);

		umount(in_dir("target.so"));
		assert_int_equal(rc, 1);
		assert_non_null(strstr(err, "mount point"));
		free(out);
		free(err);
	} else {
		print_message("bind mount not allowed here (%s): mount-point case not checked\n", strerror(errno));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_install_lists_mappers_and_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_errors, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
