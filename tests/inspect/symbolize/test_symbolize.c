/* test_symbolize.c: the symbolizer library API (lifeline/inspect/symbolize.h)
 * on this test binary itself (built -g -O2 like the rest of the tree) and on
 * broken files: names and lines of known functions, the per-module cache and
 * its build-id check, disassembly with the marked instruction, and errors
 * (not ELF, truncated, missing) without a crash. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "testutil.h"
#include "lifeline/inspect/symbolize.h"

/* A function with a known name and a line we can point at. */
__attribute__((noinline)) int symtest_target(int x);
__attribute__((noinline)) int symtest_target(int x)
{
	volatile int y = x * 3; /* SYMTEST_LINE */
	return y + 1;
}

static unsigned target_line(void)
{
	FILE *f = fopen(tu_source_path("tests/inspect/symbolize/test_symbolize.c"), "r");
	char buf[512];
	unsigned n = 0, found = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, "/* SYMTEST_LINE */") && !strstr(buf, "strstr")) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

static struct ll_symbolizer *open_self(void)
{
	struct ll_symbolizer *s = NULL;

	assert_int_equal(ll_symbolizer_open("/proc/self/exe", NULL, &s), 0);
	return s;
}

/* ELF address of a function of this (PIE) binary: runtime - load bias. The
 * bias is found from a symbol we look up by name. */
static uint64_t elf_addr_of(struct ll_symbolizer *s, const char *name, void *runtime_fn)
{
	uint64_t a = 0, bias;

	assert_int_equal(ll_symbolizer_find_symbol(s, "symtest_target", &a), 0);
	bias = (uint64_t)(uintptr_t)(void *)symtest_target - a;
	if (!strcmp(name, "symtest_target"))
		return a;
	return (uint64_t)(uintptr_t)runtime_fn - bias;
}

static void test_function_and_line(void **state)
{
	struct ll_symbolizer *s = open_self();
	struct ll_sym_result r;
	struct ll_sym_info info;
	uint64_t a = elf_addr_of(s, "symtest_target", NULL);
	unsigned want_line = target_line();
	bool line_seen = false;

	(void)state;
	ll_symbolizer_info(s, &info);
	assert_true(info.nsymbols > 0);
	assert_true(info.has_dwarf);
	assert_string_equal(info.arch, "x86_64");
	assert_true(info.build_id_len > 0);
	/* Every byte of the function names it, with file and line, and some
	 * byte is on the marked line. */
	assert_int_equal(ll_symbolize(s, a, &r), 0);
	uint64_t size = r.symbol_size;

	assert_true(size > 0);
	for (uint64_t off = 0; off < size; off++) {
		assert_int_equal(ll_symbolize(s, a + off, &r), 0);
		assert_non_null(r.symbol);
		assert_string_equal(r.symbol, "symtest_target");
		assert_int_equal(r.symbol_offset, off);
		assert_true(r.nframes >= 1);
		assert_string_equal(r.frames[r.nframes - 1].function, "symtest_target");
		assert_non_null(r.frames[0].file);
		assert_non_null(strstr(r.frames[0].file, "test_symbolize.c"));
		if (r.frames[0].line == want_line)
			line_seen = true;
	}
	assert_true(line_seen);
	ll_symbolizer_free(s);
}

static void test_outside_everything(void **state)
{
	struct ll_symbolizer *s = open_self();
	struct ll_sym_result r;

	(void)state;
	assert_int_equal(ll_symbolize(s, 0x10, &r), -ENODATA);
	assert_null(r.symbol);
	assert_int_equal(r.nframes, 0);
	assert_int_equal(ll_symbolize(s, UINT64_MAX - 4, &r), -ENODATA);
	ll_symbolizer_free(s);
}

static void test_disasm_marks_address(void **state)
{
	struct ll_symbolizer *s = open_self();
	uint64_t a = elf_addr_of(s, "symtest_target", NULL);
	struct ll_insn *v = NULL;
	size_t n = 0, marked = 0;

	(void)state;
	/* The second instruction: find it first, then ask around it. */
	assert_int_equal(ll_disasm(s, a, 0, 3, &v, &n), 0);
	assert_true(n >= 2);
	assert_true(v[0].marked);
	assert_int_equal(v[0].addr, a);
	uint64_t second = v[1].addr;

	free(v);
	/* Asked about the second instruction: it is marked and the one before it
	 * starts at the function start (x86 decodes from the symbol, so the
	 * boundaries are right). */
	assert_int_equal(ll_disasm(s, second, 1, 2, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (v[i].marked) {
			marked++;
			assert_int_equal(v[i].addr, second);
			assert_true(i == 1);
			assert_int_equal(v[0].addr, a);
		}
	assert_int_equal(marked, 1);
	assert_true(v[0].mnemonic[0] != '\0');
	free(v);
	ll_symbolizer_free(s);
}

static void test_cache(void **state)
{
	struct ll_symcache *c = NULL;
	struct ll_symbolizer *a = NULL, *b = NULL;
	struct ll_sym_info info;
	uint8_t wrong[20] = { 1, 2, 3 };

	(void)state;
	assert_int_equal(ll_symcache_new(NULL, &c), 0);
	assert_int_equal(ll_symcache_get(c, "/proc/self/exe", -1, NULL, 0, &a), 0);
	assert_int_equal(ll_symcache_get(c, "/proc/self/exe", -1, NULL, 0, &b), 0);
	assert_ptr_equal(a, b); /* loaded once */
	ll_symbolizer_info(a, &info);
	assert_int_equal(ll_symcache_get(c, "/proc/self/exe", -1, info.build_id, info.build_id_len, &b), 0);
	/* Another build-id for the same path: the file was replaced. */
	assert_int_equal(ll_symcache_get(c, "/proc/self/exe", -1, wrong, sizeof(wrong), &b), -ESTALE);
	assert_null(b);
	/* A missing file fails, and the failure is remembered. */
	assert_int_equal(ll_symcache_get(c, "/nonexistent/lib.so", -1, NULL, 0, &b), -ENOENT);
	assert_int_equal(ll_symcache_get(c, "/nonexistent/lib.so", -1, NULL, 0, &b), -ENOENT);
	ll_symcache_free(c);
}

static int memfd_with(const void *buf, size_t len)
{
	int fd = memfd_create("symtest", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

static void test_bad_files(void **state)
{
	static const char garbage[] = "this is not an ELF file at all\n";
	struct ll_symbolizer *s = NULL;
	char *self = NULL;
	size_t len = 0;
	int fd;

	(void)state;
	assert_int_equal(ll_symbolizer_open("/nonexistent/x", NULL, &s), -ENOENT);
	assert_null(s);
	fd = memfd_with(garbage, sizeof(garbage));
	assert_int_equal(ll_symbolizer_open_fd(fd, "garbage", NULL, &s), -ENOEXEC);
	close(fd);
	/* Truncations of a real ELF at many lengths: an error or a usable
	 * (partial) symbolizer, never a crash. */
	FILE *f = fopen("/proc/self/exe", "rb");

	assert_non_null(f);
	self = malloc(1 << 16);
	assert_non_null(self);
	len = fread(self, 1, 1 << 16, f);
	fclose(f);
	for (size_t cut = 0; cut < len; cut += 997) {
		struct ll_sym_opts o = { .flags = LL_SYM_NO_DEBUG_SEARCH };
		struct ll_sym_result r;
		int rc;

		fd = memfd_with(self, cut);
		rc = ll_symbolizer_open_fd(fd, "truncated", &o, &s);
		close(fd);
		if (rc == 0) {
			struct ll_insn *v = NULL;
			size_t n;

			ll_symbolize(s, 0x1000, &r);
			if (ll_disasm(s, 0x1000, 2, 2, &v, &n) == 0)
				free(v);
			ll_symbolizer_free(s);
		} else {
			assert_int_equal(rc, -ENOEXEC);
		}
	}
	free(self);
}

/* The index cache: saved, read back (no DWARF work), same answers; a
 * directory others may write to is refused. */
static void test_index_cache(void **state)
{
	char dir[512], open_dir[600];
	struct ll_sym_opts o = { .flags = LL_SYM_CACHE, .cache_dir = dir };
	struct ll_symbolizer *a = NULL, *b = NULL;
	struct ll_sym_info ia, ib;
	struct ll_sym_result ra, rb;
	uint64_t base;

	(void)state;
	assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(ll_symbolizer_open("/proc/self/exe", &o, &a), 0);
	ll_symbolizer_info(a, &ia);
	assert_false(ia.from_cache);
	assert_int_equal(ll_symbolizer_save_cache(a, &o), 0);
	assert_int_equal(ll_symbolizer_open("/proc/self/exe", &o, &b), 0);
	ll_symbolizer_info(b, &ib);
	assert_true(ib.from_cache);
	assert_true(ib.has_dwarf);
	assert_int_equal(ia.nsymbols, ib.nsymbols);
	assert_int_equal(ia.ncus, ib.ncus);
	assert_int_equal(ll_symbolizer_find_symbol(a, "symtest_target", &base), 0);
	for (uint64_t addr = base > 4096 ? base - 4096 : 0; addr < base + 4096; addr += 3) {
		int x = ll_symbolize(a, addr, &ra), y = ll_symbolize(b, addr, &rb);

		assert_int_equal(x, y);
		assert_int_equal(ra.nframes, rb.nframes);
		if (ra.symbol)
			assert_string_equal(ra.symbol, rb.symbol);
		for (size_t i = 0; i < ra.nframes; i++) {
			assert_int_equal(ra.frames[i].line, rb.frames[i].line);
			if (ra.frames[i].function)
				assert_string_equal(ra.frames[i].function, rb.frames[i].function);
			if (ra.frames[i].file)
				assert_string_equal(ra.frames[i].file, rb.frames[i].file);
		}
	}
	ll_symbolizer_free(b);

	/* Damaged cache files (random bytes changed, cut short): refused or
	 * read, never a crash, and always answering without error codes other
	 * than -ENODATA. */
	char idx[1024], good[1100];
	struct dirent *de;
	DIR *d = opendir(dir);
	char *orig = NULL;
	size_t olen = 0;

	assert_non_null(d);
	idx[0] = '\0';
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".idx"))
			snprintf(idx, sizeof(idx), "%s/%s", dir, de->d_name);
	closedir(d);
	assert_true(idx[0] != '\0');
	snprintf(good, sizeof(good), "%s.good", idx);
	assert_int_equal(rename(idx, good), 0);
	{
		FILE *f = fopen(good, "rb");

		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		olen = (size_t)ftell(f);
		rewind(f);
		orig = malloc(olen);
		assert_non_null(orig);
		assert_int_equal(fread(orig, 1, olen, f), olen);
		fclose(f);
	}
	srand(1234);
	for (int iter = 0; iter < 300; iter++) {
		char *buf = malloc(olen);
		size_t len = olen;
		FILE *f;

		assert_non_null(buf);
		memcpy(buf, orig, olen);
		if (iter % 3 == 2)
			len = (size_t)rand() % olen;
		else /* a few bytes anywhere, most of them past the header */
			for (int k = 0; k < 1 + iter % 8; k++)
				buf[(size_t)rand() % olen] = (char)rand();
		f = fopen(idx, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
		free(buf);
		assert_int_equal(ll_symbolizer_open("/proc/self/exe", &o, &b), 0);
		for (uint64_t addr = base > 256 ? base - 256 : 0; addr < base + 4096; addr += 61) {
			int r = ll_symbolize(b, addr, &rb);

			assert_true(r == 0 || r == -ENODATA);
			for (size_t i = 0; i < rb.nframes; i++)
				if (rb.frames[i].function)
					assert_true(strlen(rb.frames[i].function) < 1u << 20);
		}
		ll_symbolizer_free(b);
	}
	free(orig);

	/* Writable by others: neither written nor read. */
	snprintf(open_dir, sizeof(open_dir), "%s/open", dir);
	assert_int_equal(mkdir(open_dir, 0777), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	o.cache_dir = open_dir;
	assert_int_equal(ll_symbolizer_save_cache(a, &o), -EPERM);
	ll_symbolizer_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_function_and_line),
		cmocka_unit_test(test_outside_everything),
		cmocka_unit_test(test_disasm_marks_address),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_index_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
