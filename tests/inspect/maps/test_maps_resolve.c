/* test_maps_resolve.c: ll_maps_resolve() against addr2line and nm on live
 * processes: a PIE and a non-PIE executable, each loading (at a random base)
 * the same library linked four ways: plain; .text moved so that its segment
 * has p_offset != p_vaddr with another delta than the first segment's; a
 * nonzero base (-Ttext-segment); text and data sharing a file page
 * (-z noseparate-code). Functions, .data and .bss addresses must land on the
 * ELF address addr2line and nm give. Then a library replaced on disk while
 * mapped: still resolved through map_files, and refused by path. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifeline/inspect/maps.h"
#include "common/common.h"
#include "livetarget.h"
#include "testutil.h"

static const char *const variants[] = { "plain", "sectionstart", "textsegment", "noseparate" };
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static char *lib_path(const char *variant)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "tests/inspect/maps/libresolve-%s.so", variant);
	return strdup(tu_build_path(rel));
}

/* The value nm prints for a symbol of file. */
static uint64_t nm_value(const char *file, const char *sym)
{
	char *argv[] = { "nm", (char *)file, NULL }, *out = NULL, want[128];
	uint64_t v = 0;
	char *p;

	assert_true(tu_run(argv, NULL, &out, NULL) >= 0);
	snprintf(want, sizeof(want), " %s\n", sym);
	p = strstr(out, want);
	if (!p)
		fail_msg("nm %s: no symbol %s", file, sym);
	while (p > out && p[-1] != '\n')
		p--;
	v = strtoull(p, NULL, 16);
	free(out);
	return v;
}

static void check_func(const struct ll_maps *m, uint64_t addr, const char *file, const char *func)
{
	struct ll_addr_info ai;
	char name[256];
	int r = ll_maps_resolve(m, addr, &ai);

	if (r != 0)
		fail_msg("resolve %s at %#llx in %s: %d", func, (unsigned long long)addr, file, r);
	assert_string_equal(ai.path, file);
	assert_true(ai.in_file);
	assert_int_equal(ai.load_bias + ai.elf_addr, addr);
	assert_int_equal(lt_addr2line(file, ai.elf_addr, name, sizeof(name)), 0);
	if (strcmp(name, func))
		fail_msg("%s: %s at %#llx -> elf_addr %#llx, addr2line names '%s'", file, func,
			 (unsigned long long)addr, (unsigned long long)ai.elf_addr, name);
	assert_int_equal(ai.elf_addr, nm_value(file, func));
}

static void check_data(const struct ll_maps *m, uint64_t addr, const char *file, const char *sym,
		       uint64_t delta)
{
	struct ll_addr_info ai;
	int r = ll_maps_resolve(m, addr + delta, &ai);

	if (r != 0)
		fail_msg("resolve %s+%#llx in %s: %d", sym, (unsigned long long)delta, file, r);
	assert_string_equal(ai.path, file);
	if (ai.elf_addr != nm_value(file, sym) + delta)
		fail_msg("%s: %s+%#llx -> elf_addr %#llx, nm says %#llx", file, sym,
			 (unsigned long long)delta, (unsigned long long)ai.elf_addr,
			 (unsigned long long)(nm_value(file, sym) + delta));
}

static void run_target(const char *exe_rel, bool pie)
{
	char *argv[NVARIANTS + 2], key[64];
	char *exe = strdup(tu_build_path(exe_rel));
	struct lt_proc p;
	struct ll_maps *m = NULL;
	struct ll_addr_info ai;

	argv[0] = exe;
	for (size_t i = 0; i < NVARIANTS; i++)
		argv[i + 1] = lib_path(variants[i]);
	argv[NVARIANTS + 1] = NULL;
	assert_int_equal(lt_start(argv, &p), 0);
	assert_int_equal(ll_maps_read(p.pid, 0, &m), 0);

	check_func(m, lt_addr(&p, "exe_func"), exe, "resolve_target_func");
	check_data(m, lt_addr(&p, "exe_data"), exe, "resolve_target_data", 0);
	assert_int_equal(ll_maps_resolve(m, lt_addr(&p, "exe_func"), &ai), 0);
	assert_int_equal(ai.elf_type, pie ? 3 /* ET_DYN */ : 2 /* ET_EXEC */);
	if (!pie)
		assert_int_equal(ai.load_bias, 0);
	else
		assert_true(ai.load_bias != 0);

	for (size_t i = 0; i < NVARIANTS; i++) {
		const char *lib = argv[i + 1];

		snprintf(key, sizeof(key), "L%zu resolve_lib_a", i + 1);
		check_func(m, lt_addr(&p, key), lib, "resolve_lib_a");
		snprintf(key, sizeof(key), "L%zu resolve_lib_b", i + 1);
		check_func(m, lt_addr(&p, key), lib, "resolve_lib_b");
		assert_int_equal(ll_maps_resolve(m, lt_addr(&p, key), &ai), 0);
		/* a random base; ld.so honours the -Ttext-segment one when free */
		if (strcmp(variants[i], "textsegment"))
			assert_true(ai.load_bias != 0);
		snprintf(key, sizeof(key), "L%zu resolve_lib_data", i + 1);
		check_data(m, lt_addr(&p, key), lib, "resolve_lib_data", 0);
		snprintf(key, sizeof(key), "L%zu resolve_lib_bss", i + 1);
		check_data(m, lt_addr(&p, key), lib, "resolve_lib_bss", 0);
		/* 12 KiB in: in the anonymous .bss mapping past the file's page */
		check_data(m, lt_addr(&p, key), lib, "resolve_lib_bss", 12 * 1024);
		assert_int_equal(ll_maps_resolve(m, lt_addr(&p, key) + 12 * 1024, &ai), 0);
		assert_false(ai.in_file);
	}
	ll_maps_free(m);
	lt_stop(&p);
	for (size_t i = 0; i <= NVARIANTS; i++)
		free(argv[i]);
}

static void test_pie(void **state)
{
	(void)state;
	run_target("tests/inspect/maps/resolve-target-pie", true);
}

static void test_non_pie(void **state)
{
	(void)state;
	run_target("tests/inspect/maps/resolve-target-nopie", false);
}

static int copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len = 0;
	FILE *f;
	int r = ll_read_file(from, 64 << 20, &data, &len);

	if (r < 0)
		return r;
	f = fopen(to, "w");
	if (!f || fwrite(data, 1, len, f) != len) {
		free(data);
		return -EIO;
	}
	fclose(f);
	free(data);
	return 0;
}

static void test_replaced_library(void **state)
{
	char dir[256], copy[300], repl[300], *text = NULL, *orig, *argv[3];
	struct lt_proc p;
	struct ll_maps *m = NULL, *parsed = NULL;
	struct ll_addr_info ai;
	uint64_t addr;
	size_t len;

	(void)state;
	if (geteuid() != 0)
		skip(); /* /proc/PID/map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE */
	orig = lib_path("sectionstart");
	argv[0] = strdup(tu_build_path("tests/inspect/maps/resolve-target-pie"));
	argv[1] = copy;
	argv[2] = NULL;
	assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(copy, sizeof(copy), "%s/libplugin.so", dir);
	snprintf(repl, sizeof(repl), "%s/libplugin.so.new", dir);
	assert_int_equal(copy_file(orig, copy), 0);
	assert_int_equal(lt_start(argv, &p), 0);
	addr = lt_addr(&p, "L1 resolve_lib_a");

	/* `install`-style replacement: the mapped inode is now deleted */
	assert_int_equal(copy_file(tu_build_path("tests/inspect/maps/libresolve-plain.so"), repl), 0);
	assert_int_equal(rename(repl, copy), 0);

	assert_int_equal(ll_maps_read(p.pid, 0, &m), 0);
	assert_int_equal(ll_maps_resolve(m, addr, &ai), 0);
	assert_true(ai.map->deleted);
	assert_string_equal(ai.path, copy);
	assert_int_equal(ai.elf_addr, nm_value(orig, "resolve_lib_a"));
	ll_maps_free(m);

	/* parsed text has no /proc/PID to go through: the path now names
	 * another file, which must not be used */
	{
		char mp[64];

		snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)p.pid);
		assert_int_equal(ll_read_file(mp, 1 << 24, &text, &len), 0);
	}
	assert_int_equal(ll_maps_parse(text, len, 0, &parsed), 0);
	assert_int_equal(ll_maps_resolve(parsed, addr, &ai), -ESTALE);
	ll_maps_free(parsed);
	free(text);
	lt_stop(&p);
	free(argv[0]);
	free(orig);
}

/* The same library loaded twice (dlopen, then dlmopen in a new namespace):
 * two instances of one file, each with its own bias. */
static void test_two_instances(void **state)
{
	char *lib, plus[4200], *argv[4];
	struct lt_proc p;
	struct ll_maps *m = NULL;
	struct ll_addr_info a1, a2;

	(void)state;
	if (tu_sanitized()) {
		/* a dlmopen namespace loads without the sanitizer runtime first:
		 * ASan aborts the program ("runtime does not come first") */
		print_message("skipped under ASan: dlmopen is not supported there\n");
		skip();
	}
	lib = lib_path("sectionstart");
	argv[0] = strdup(tu_build_path("tests/inspect/maps/resolve-target-pie"));
	argv[1] = lib;
	argv[2] = plus;
	argv[3] = NULL;
	snprintf(plus, sizeof(plus), "+%s", lib);
	assert_int_equal(lt_start(argv, &p), 0);
	assert_int_equal(ll_maps_read(p.pid, 0, &m), 0);
	check_func(m, lt_addr(&p, "L1 resolve_lib_a"), lib, "resolve_lib_a");
	check_func(m, lt_addr(&p, "L2 resolve_lib_a"), lib, "resolve_lib_a");
	check_data(m, lt_addr(&p, "L1 resolve_lib_data"), lib, "resolve_lib_data", 0);
	check_data(m, lt_addr(&p, "L2 resolve_lib_data"), lib, "resolve_lib_data", 0);
	assert_int_equal(ll_maps_resolve(m, lt_addr(&p, "L1 resolve_lib_b"), &a1), 0);
	assert_int_equal(ll_maps_resolve(m, lt_addr(&p, "L2 resolve_lib_b"), &a2), 0);
	assert_true(a1.load_bias != a2.load_bias);
	ll_maps_free(m);
	lt_stop(&p);
	free(argv[0]);
	free(lib);
}

/* nm -D's value of a versioned dynamic symbol ("qsort@@GLIBC_2.2.5"). */
static uint64_t nm_dyn_value(const char *file, const char *sym)
{
	char *argv[] = { "nm", "-D", "--defined-only", (char *)file, NULL }, *out = NULL, want[128];
	uint64_t v;
	char *p;

	assert_true(tu_run(argv, NULL, &out, NULL) >= 0);
	snprintf(want, sizeof(want), " %s@@", sym);
	p = strstr(out, want);
	if (!p)
		fail_msg("nm -D %s: no symbol %s", file, sym);
	while (p > out && p[-1] != '\n')
		p--;
	v = strtoull(p, NULL, 16);
	free(out);
	return v;
}

/* This very process (pid 0): glibc's own functions and data, in a library
 * whose data segment has p_offset != p_vaddr. */
static void test_self_libc(void **state)
{
	static const char *const syms[] = { "qsort", "fgets", "stdout", "environ" };
	struct ll_maps *m = NULL;
	struct ll_addr_info ai;
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	(void)state;
	assert_non_null(libc);
	assert_int_equal(ll_maps_read(0, 0, &m), 0);
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		uint64_t addr = (uint64_t)(uintptr_t)dlsym(libc, syms[i]);

		assert_true(addr != 0);
		assert_int_equal(ll_maps_resolve(m, addr, &ai), 0);
		assert_non_null(strstr(ai.path, "libc.so.6"));
		if (ai.elf_addr != nm_dyn_value(ai.path, syms[i]))
			fail_msg("%s at %#llx: elf_addr %#llx, nm -D says %#llx", syms[i],
				 (unsigned long long)addr, (unsigned long long)ai.elf_addr,
				 (unsigned long long)nm_dyn_value(ai.path, syms[i]));
		assert_true(ai.build_id_len == 20);
	}
	dlclose(libc);
	ll_maps_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_non_pie),
		cmocka_unit_test(test_replaced_library),
		cmocka_unit_test(test_self_libc),
		cmocka_unit_test(test_two_instances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
