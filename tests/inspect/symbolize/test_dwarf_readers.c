/* test_dwarf_readers.c: the symbolizer's own DWARF readers (dwarf_die.c,
 * dwarf_line.c, dwarf_sections.c) give, compile unit by compile unit, the
 * same units and ranges, line rows, file names, scopes and inline segments
 * as libdw: on glibc's libc and libm with libc6-dbg's compressed DWARF 5
 * (found by build-id; libm has assembly units with a range list and no low
 * pc), on this test program (gcc -g -O2, uncompressed), on a program built
 * here with -gdwarf-4 and compressed sections and, when clang is there, one
 * built by clang (DWARF 5 string and address indexes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "inspect/symbol/symbol_internal.h"

static void check_file(const char *path, bool must_have_dwarf)
{
	struct ll_symbolizer *s = NULL;
	size_t own = 0, differ = 0;
	int r = ll_symbolizer_open(path, NULL, &s);

	assert_int_equal(r, 0);
	if (!s->dw) {
		ll_symbolizer_free(s);
		if (must_have_dwarf)
			fail_msg("%s: our reader did not open its DWARF", path);
		return;
	}
	assert_int_equal(dwarf_index_check_readers(s, &own, &differ), 0);
	printf("%s: %zu of %zu compile units read alike by both readers, %zu differ\n", path, own,
	       s->ncus, differ);
	assert_int_equal(differ, 0);
	assert_true(own > 0);
	ll_symbolizer_free(s);
}

static void test_libc(void **state)
{
	(void)state;
	if (access("/usr/lib/debug/.build-id", F_OK) != 0)
		skip(); /* libc6-dbg not installed (scripts/packages.txt: test) */
	check_file("/lib/x86_64-linux-gnu/libc.so.6", true);
	check_file("/lib/x86_64-linux-gnu/libm.so.6", true);
}

static void test_self(void **state)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	check_file(self, true);
}

/* Build tests/inspect/symbolize/prog with cc and flags, and check it. */
static void check_built(const char *cc, const char *flags)
{
	char dir[] = "/tmp/ll-dwreaders.XXXXXX", cmd[8192], exe[4200];
	const char *src = tu_source_path("tests/inspect/symbolize/prog");

	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/prog", dir);
	snprintf(cmd, sizeof(cmd), "%s %s -o %s %s/*.c 2>/dev/null", cc, flags, exe, src);
	if (access(src, R_OK) != 0 || system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
		skip();
	}
	check_file(exe, true);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_dwarf4_compressed(void **state)
{
	(void)state;
	check_built("gcc", "-g -gdwarf-4 -O2 -gz=zlib");
}

static void test_clang(void **state)
{
	(void)state;
	if (system("command -v clang >/dev/null 2>&1") != 0)
		skip(); /* clang is not a test dependency */
	check_built("clang", "-g -O2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_dwarf4_compressed),
		cmocka_unit_test(test_clang),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
