/* test_maps_live.c: the maps of a live process (examples/inspect/demo-target)
 * through the library and through `lifeline maps --json`: its heap, its
 * thread's stack, its dlopen'ed library and the file it mapped and deleted
 * are each classified right; addresses it printed resolve to the function
 * addr2line names, with the module's build-id. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/inspect/maps.h"
#include "livetarget.h"
#include "testutil.h"

static struct lt_proc target;

static int setup(void **state)
{
	char *argv[] = { (char *)tu_build_path("examples/inspect/demo-target"), NULL };

	(void)state;
	argv[0] = strdup(argv[0]);
	if (lt_start(argv, &target) < 0) {
		free(argv[0]);
		return -1;
	}
	free(argv[0]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lt_stop(&target);
	return 0;
}

static const char *val(const char *key)
{
	static char buf[8][4096];
	static int i;
	char *b = buf[i++ % 8];

	if (!lt_value(&target, key, b, 4096))
		fail_msg("demo-target printed no '%s='", key);
	return b;
}

static void test_library_classification(void **state)
{
	struct ll_maps *m = NULL;
	const struct ll_map *e;
	bool main_stack = false, vdso = false;

	(void)state;
	assert_int_equal(ll_maps_read(target.pid, LL_MAPS_SMAPS, &m), 0);
	assert_int_equal(m->pid, target.pid);

	e = ll_maps_find(m, lt_addr(&target, "heap"));
	assert_non_null(e);
	assert_int_equal(e->kind, LL_MAP_HEAP);
	assert_string_equal(e->path, "[heap]");
	assert_true(e->rss > 0); /* the target wrote 128 KiB there */

	e = ll_maps_find(m, lt_addr(&target, "thread_stack"));
	assert_non_null(e);
	assert_int_equal(e->kind, LL_MAP_STACK);
	assert_null(e->path);
	assert_int_equal(e->stack_tid, atoi(val("thread_tid")));

	e = ll_maps_find(m, lt_addr(&target, "deleted_file"));
	assert_non_null(e);
	assert_int_equal(e->kind, LL_MAP_FILE);
	assert_true(e->deleted);
	assert_string_equal(e->path, val("deleted_path")); /* spaces and all */
	assert_false(e->module);
	assert_true(e->rss > 0 && e->rss <= 64 * 1024); /* it wrote all 64 KiB */

	e = ll_maps_find(m, lt_addr(&target, "func demo_lib_checksum"));
	assert_non_null(e);
	assert_int_equal(e->kind, LL_MAP_TEXT);
	assert_string_equal(e->path, val("lib_path"));
	assert_true(e->module);
	assert_false(e->deleted);

	e = ll_maps_find(m, lt_addr(&target, "func main"));
	assert_non_null(e);
	assert_int_equal(e->kind, LL_MAP_TEXT);
	assert_non_null(strstr(e->path, "/demo-target"));

	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].path && !strcmp(m->v[i].path, "[stack]")) {
			main_stack = m->v[i].kind == LL_MAP_STACK;
			assert_int_equal(m->v[i].stack_tid, target.pid);
		}
		if (m->v[i].path && !strcmp(m->v[i].path, "[vdso]"))
			vdso = m->v[i].kind == LL_MAP_VDSO;
		/* the library's own data and bss */
		if (m->v[i].kind == LL_MAP_BSS)
			assert_true(i > 0 && m->v[i - 1].kind == LL_MAP_DATA);
	}
	assert_true(main_stack);
	assert_true(vdso);
	ll_maps_free(m);
}

/* The mapping object of the JSON output containing addr. */
static json_object *json_find(json_object *maps, uint64_t addr)
{
	for (size_t i = 0; i < json_object_array_length(maps); i++) {
		json_object *o = json_object_array_get_idx(maps, i), *s, *e;

		if (!json_object_object_get_ex(o, "start", &s) || !json_object_object_get_ex(o, "end", &e))
			fail_msg("mapping without start/end");
		if (addr >= strtoull(json_object_get_string(s), NULL, 16) &&
		    addr < strtoull(json_object_get_string(e), NULL, 16))
			return o;
	}
	return NULL;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static void test_cli_json(void **state)
{
	char pid[16], *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", pid, "--json", NULL };
	json_object *root, *maps, *o, *tot;
	bool lib_row = false, heap_row = false, file_row = false;
	int st;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)target.pid);
	st = tu_run(argv, NULL, &out, &err);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("lifeline maps --json exited %d: %s", WEXITSTATUS(st), err);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "mappings", &maps));
	assert_true(json_object_array_length(maps) > 10);

	o = json_find(maps, lt_addr(&target, "heap"));
	assert_non_null(o);
	assert_string_equal(jstr(o, "kind"), "heap");
	o = json_find(maps, lt_addr(&target, "thread_stack"));
	assert_non_null(o);
	assert_string_equal(jstr(o, "kind"), "stack");
	assert_string_equal(jstr(o, "stack_tid"), val("thread_tid"));
	o = json_find(maps, lt_addr(&target, "deleted_file"));
	assert_non_null(o);
	assert_string_equal(jstr(o, "kind"), "file");
	assert_string_equal(jstr(o, "deleted"), "true");
	assert_string_equal(jstr(o, "path"), val("deleted_path"));
	o = json_find(maps, lt_addr(&target, "func demo_lib_checksum"));
	assert_non_null(o);
	assert_string_equal(jstr(o, "kind"), "text");
	assert_string_equal(jstr(o, "path"), val("lib_path"));
	assert_string_equal(jstr(o, "deleted"), "false");
	assert_non_null(jstr(o, "rss"));

	assert_true(json_object_object_get_ex(root, "totals", &tot));
	for (size_t i = 0; i < json_object_array_length(tot); i++) {
		json_object *t = json_object_array_get_idx(tot, i);

		if (!strcmp(jstr(t, "name"), val("lib_path"))) {
			lib_row = true;
			assert_string_equal(jstr(t, "type"), "module");
		}
		if (!strcmp(jstr(t, "name"), "[heap]"))
			heap_row = !strcmp(jstr(t, "type"), "heap");
		if (!strcmp(jstr(t, "name"), val("deleted_path")))
			file_row = !strcmp(jstr(t, "deleted"), "true");
	}
	assert_true(lib_row && heap_row && file_row);
	json_object_put(root);
	free(out);
	free(err);
}

static void test_cli_text(void **state)
{
	char pid[16], *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", "--no-smaps", pid, NULL };
	int st;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)target.pid);
	st = tu_run(argv, NULL, &out, &err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "(demo-target)"));
	assert_non_null(strstr(out, "[heap]"));
	assert_non_null(strstr(out, " (deleted)"));
	assert_non_null(strstr(out, "[stack of thread "));
	assert_non_null(strstr(out, "libll-demo-inspect.so"));
	free(out);
	free(err);
}

/* Build-id as readelf -n prints it. */
static void readelf_build_id(const char *file, char *buf, size_t size)
{
	char *argv[] = { "readelf", "-n", (char *)file, NULL }, *out = NULL, *p;

	buf[0] = '\0';
	assert_true(tu_run(argv, NULL, &out, NULL) >= 0);
	p = strstr(out, "Build ID: ");
	if (p)
		snprintf(buf, size, "%.*s", (int)strcspn(p + 10, "\n"), p + 10);
	free(out);
}

static void check_resolves(const struct ll_maps *m, const char *key, const char *func)
{
	struct ll_addr_info ai;
	char name[256], id[160], want_id[160];
	uint64_t addr = lt_addr(&target, key);

	assert_int_equal(ll_maps_resolve(m, addr, &ai), 0);
	assert_true(ai.in_file);
	assert_int_equal(ai.load_bias + ai.elf_addr, addr);
	assert_int_equal(lt_addr2line(ai.path, ai.elf_addr, name, sizeof(name)), 0);
	if (strcmp(name, func))
		fail_msg("%s at %#llx: elf_addr %#llx in %s, addr2line says '%s'", func,
			 (unsigned long long)addr, (unsigned long long)ai.elf_addr, ai.path, name);
	/* one byte further in is still the same function */
	assert_int_equal(ll_maps_resolve(m, addr + 1, &ai), 0);
	assert_int_equal(lt_addr2line(ai.path, ai.elf_addr, name, sizeof(name)), 0);
	assert_string_equal(name, func);
	assert_int_equal(ai.elf_type, 3 /* ET_DYN: PIE and .so */);
	assert_int_equal(ai.elf_machine, 62 /* EM_X86_64 */);
	assert_true(ai.build_id_len > 0);
	for (size_t i = 0; i < ai.build_id_len; i++)
		snprintf(id + 2 * i, 3, "%02x", ai.build_id[i]);
	readelf_build_id(ai.path, want_id, sizeof(want_id));
	assert_string_equal(id, want_id);
}

static void test_resolve_live(void **state)
{
	struct ll_maps *m = NULL;
	struct ll_addr_info ai;

	(void)state;
	assert_int_equal(ll_maps_read(target.pid, 0, &m), 0);
	check_resolves(m, "func main", "main");
	check_resolves(m, "func demo_target_work", "demo_target_work");
	check_resolves(m, "func demo_lib_checksum", "demo_lib_checksum");
	assert_int_equal(ll_maps_resolve(m, lt_addr(&target, "heap"), &ai), -ENOEXEC);
	assert_int_equal(ll_maps_resolve(m, lt_addr(&target, "deleted_file"), &ai), -ENOEXEC);
	assert_int_equal(ll_maps_resolve(m, 16, &ai), -ENOENT);
	/* [vdso] is an ELF image in memory */
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].path && !strcmp(m->v[i].path, "[vdso]")) {
			assert_int_equal(ll_maps_resolve(m, m->v[i].start + 16, &ai), 0);
			assert_string_equal(ai.path, "[vdso]");
			assert_int_equal(ai.file_offset, 16);
		}
	}
	ll_maps_free(m);
}

static void test_self_and_gone(void **state)
{
	struct ll_maps *m = NULL;
	pid_t child;

	(void)state;
	assert_int_equal(ll_maps_read(0, LL_MAPS_SMAPS, &m), 0);
	assert_int_equal(m->pid, getpid());
	assert_non_null(ll_maps_find(m, (uint64_t)(uintptr_t)&test_self_and_gone));
	ll_maps_free(m);

	child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	waitpid(child, NULL, 0);
	assert_int_equal(ll_maps_read(child, 0, &m), -ESRCH);
	assert_null(m);
	assert_int_equal(ll_maps_read(-5, 0, &m), -EINVAL);
}

static void test_read_at_and_access(void **state)
{
	struct ll_maps *m = NULL;
	char path[32];
	pid_t child;
	int dirfd, st;

	(void)state;
	snprintf(path, sizeof(path), "/proc/%d", (int)target.pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(ll_maps_read_at(dirfd, LL_MAPS_NO_THREADS, &m), 0);
	close(dirfd);
	assert_int_equal(m->pid, target.pid);
	/* without the thread scan the thread's stack is plain anonymous memory */
	assert_int_equal(ll_maps_find(m, lt_addr(&target, "thread_stack"))->kind, LL_MAP_ANON);
	ll_maps_free(m);

	if (geteuid() != 0)
		return;
	/* an unprivileged user may not read another user's map */
	child = fork();
	if (child == 0) {
		struct ll_maps *mm = NULL;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		_exit(ll_maps_read(target.pid, 0, &mm) == -EACCES ? 0 : 1);
	}
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_classification),
		cmocka_unit_test(test_cli_json),
		cmocka_unit_test(test_cli_text),
		cmocka_unit_test(test_resolve_live),
		cmocka_unit_test(test_self_and_gone),
		cmocka_unit_test(test_read_at_and_access),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
