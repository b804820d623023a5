/* test_maps_parse.c: ll_maps_parse() on crafted maps and smaps text: every
 * field, "(deleted)", paths with spaces, pseudo paths, classification,
 * lookups, totals, and malformed input (-EINVAL, never a crash). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifeline/inspect/maps.h"
#include "testutil.h"

/* A PIE, a library with p_offset != p_vaddr-style holes, a deleted plugin
 * and its replacement, a data file, heap, stacks, vdso and friends. */
static const char maps_text[] =
	"55d091138000-55d09113a000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
	"55d09113a000-55d09113f000 r-xp 00002000 fe:00 247134                     /usr/bin/cat\n"
	"55d09113f000-55d091142000 r--p 00007000 fe:00 247134                     /usr/bin/cat\n"
	"55d091142000-55d091143000 rw-p 0000a000 fe:00 247134                     /usr/bin/cat\n"
	"55d091143000-55d091144000 rw-p 00000000 00:00 0 \n"
	"55d0927a4000-55d0927c5000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f0000000000-7f0000001000 r--p 00000000 08:11 1234567890123              /opt/my app/lib plugin.so (deleted)\n"
	"7f0000001000-7f0000002000 r-xp 00001000 08:11 1234567890123              /opt/my app/lib plugin.so (deleted)\n"
	"7f0000002000-7f0000010000 ---p 00002000 08:11 1234567890123              /opt/my app/lib plugin.so (deleted)\n"
	"7f0000010000-7f0000011000 rw-p 00010000 08:11 1234567890123              /opt/my app/lib plugin.so (deleted)\n"
	"7f0000020000-7f0000021000 r-xp 00001000 08:11 99                         /opt/my app/lib plugin.so\n"
	"7f0000030000-7f0000040000 r--s 00000000 103:02 77                        /var/data/table.bin\n"
	"7f0000040000-7f0000041000 ---p 00000000 00:00 0 \n"
	"7f0000041000-7f0000841000 rw-p 00000000 00:00 0 \n"
	"7f0000900000-7f0000901000 rw-p 00000000 00:00 0                          [anon:jit arena]\n"
	"7f0000a00000-7f0000a01000 rw-s 00000000 00:01 4321                       /dev/zero (deleted)\n"
	"7ffc8a9c0000-7ffc8a9e1000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffc8a9f0000-7ffc8a9f4000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ffc8a9f4000-7ffc8a9f6000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7ffc8a9f6000-7ffc8a9f7000 r--p 00000000 00:00 0                          [uprobes]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static void test_fields(void **state)
{
	struct ll_maps *m = NULL;
	const struct ll_map *e;

	(void)state;
	assert_int_equal(ll_maps_parse(maps_text, strlen(maps_text), 0, &m), 0);
	assert_int_equal(m->n, 21);
	assert_int_equal(m->pid, 0);
	e = &m->v[1];
	assert_true(e->start == 0x55d09113a000ull && e->end == 0x55d09113f000ull);
	assert_int_equal(e->offset, 0x2000);
	assert_int_equal(e->perms, LL_PERM_READ | LL_PERM_EXEC);
	assert_int_equal(e->dev_major, 0xfe);
	assert_int_equal(e->dev_minor, 0);
	assert_int_equal(e->inode, 247134);
	assert_string_equal(e->path, "/usr/bin/cat");
	assert_false(e->deleted);
	/* anonymous: no path, even with the kernel's trailing space */
	assert_null(m->v[4].path);
	assert_int_equal(m->v[4].inode, 0);
	/* spaces in the path, deleted, a 13-digit inode */
	e = &m->v[6];
	assert_string_equal(e->path, "/opt/my app/lib plugin.so");
	assert_true(e->deleted);
	assert_int_equal(e->inode, 1234567890123ull);
	assert_int_equal(e->dev_major, 8);
	assert_int_equal(e->dev_minor, 0x11);
	/* the replacement of the same name is a different file, not deleted */
	assert_string_equal(m->v[10].path, "/opt/my app/lib plugin.so");
	assert_false(m->v[10].deleted);
	/* shared mapping, 3-digit major */
	e = &m->v[11];
	assert_int_equal(e->perms, LL_PERM_READ | LL_PERM_SHARED);
	assert_int_equal(e->dev_major, 0x103);
	assert_int_equal(e->dev_minor, 2);
	/* vsyscall's 64-bit addresses */
	e = &m->v[20];
	assert_true(e->start == 0xffffffffff600000ull);
	assert_int_equal(e->perms, LL_PERM_EXEC);
	ll_maps_free(m);
}

static void test_classify(void **state)
{
	static const enum ll_map_kind want[21] = {
		LL_MAP_RODATA, LL_MAP_TEXT, LL_MAP_RODATA, LL_MAP_DATA, LL_MAP_BSS, LL_MAP_HEAP,
		LL_MAP_RODATA, LL_MAP_TEXT, LL_MAP_GUARD, LL_MAP_DATA, LL_MAP_TEXT, LL_MAP_FILE,
		LL_MAP_GUARD, LL_MAP_ANON, LL_MAP_ANON, LL_MAP_ANON, LL_MAP_STACK, LL_MAP_VDSO,
		LL_MAP_VDSO, LL_MAP_OTHER, LL_MAP_VDSO,
	};
	struct ll_maps *m = NULL;

	(void)state;
	assert_int_equal(ll_maps_parse(maps_text, strlen(maps_text), 0, &m), 0);
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].kind != want[i])
			fail_msg("entry %zu (%s): kind %s, want %s", i,
				 m->v[i].path ? m->v[i].path : "anon", ll_map_kind_name(m->v[i].kind),
				 ll_map_kind_name(want[i]));
	}
	/* module membership: the bss and the hole belong to their module */
	assert_true(m->v[4].module);
	assert_true(m->v[8].module);
	assert_false(m->v[11].module);
	assert_false(m->v[13].module);
	assert_ptr_equal(ll_maps_module_map(m, &m->v[4]), &m->v[3]);
	assert_null(ll_maps_module_map(m, &m->v[5]));
	assert_string_equal(ll_map_kind_name(LL_MAP_BSS), "bss");
	assert_string_equal(ll_map_kind_name((enum ll_map_kind)99), "unknown");
	ll_maps_free(m);
}

static void test_find(void **state)
{
	struct ll_maps *m = NULL;

	(void)state;
	assert_int_equal(ll_maps_parse(maps_text, strlen(maps_text), 0, &m), 0);
	for (size_t i = 0; i < m->n; i++) {
		assert_ptr_equal(ll_maps_find(m, m->v[i].start), &m->v[i]);
		assert_ptr_equal(ll_maps_find(m, m->v[i].end - 1), &m->v[i]);
	}
	assert_null(ll_maps_find(m, 0));
	assert_null(ll_maps_find(m, 0x55d091144000ull)); /* gap after the bss */
	assert_null(ll_maps_find(m, 0xffffffffff601000ull));
	assert_null(ll_maps_find(m, UINT64_MAX));
	assert_null(ll_maps_find(NULL, 1));
	ll_maps_free(m);
}

static void test_summary(void **state)
{
	struct ll_maps *m = NULL;
	struct ll_maps_total *t = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(ll_maps_parse(maps_text, strlen(maps_text), 0, &m), 0);
	assert_int_equal(ll_maps_summarize(m, &t, &n), 0);
	/* cat, plugin (deleted), plugin (new), table.bin, then heap, stack,
	 * anon (with /dev/zero (deleted): shared anonymous memory), vdso,
	 * guard, other */
	assert_int_equal(n, 10);
	assert_string_equal(t[0].name, "/usr/bin/cat");
	assert_int_equal(t[0].kind, LL_MAP_TEXT);
	assert_int_equal(t[0].nmaps, 5); /* 4 file mappings + bss */
	assert_int_equal(t[0].size, 0x55d091144000ull - 0x55d091138000ull);
	assert_string_equal(t[1].name, "/opt/my app/lib plugin.so");
	assert_true(t[1].deleted);
	assert_int_equal(t[1].nmaps, 4);
	assert_false(t[2].deleted);
	assert_int_equal(t[3].kind, LL_MAP_FILE);
	assert_string_equal(t[4].name, "[heap]");
	assert_string_equal(t[5].name, "[stack]");
	assert_string_equal(t[6].name, "[anon]");
	assert_int_equal(t[6].nmaps, 3);
	assert_string_equal(t[7].name, "[vdso]");
	assert_int_equal(t[7].nmaps, 3);
	assert_string_equal(t[8].name, "[guard]");
	assert_string_equal(t[9].name, "[other]");
	free(t);
	ll_maps_free(m);
}

static const char smaps_text[] =
	"00400000-00452000 r-xp 00000000 08:01 173521      /usr/bin/dbus-daemon\n"
	"Size:                328 kB\n"
	"KernelPageSize:        4 kB\n"
	"MMUPageSize:           4 kB\n"
	"Rss:                 168 kB\n"
	"Pss:                  84 kB\n"
	"Pss_Dirty:             0 kB\n"
	"Shared_Clean:        168 kB\n"
	"Shared_Dirty:          0 kB\n"
	"Private_Clean:         0 kB\n"
	"Private_Dirty:         0 kB\n"
	"Referenced:          168 kB\n"
	"Anonymous:             0 kB\n"
	"KSM:                   0 kB\n"
	"LazyFree:              0 kB\n"
	"AnonHugePages:         0 kB\n"
	"ShmemPmdMapped:        0 kB\n"
	"FilePmdMapped:         0 kB\n"
	"Shared_Hugetlb:        0 kB\n"
	"Private_Hugetlb:       0 kB\n"
	"Swap:                  0 kB\n"
	"SwapPss:               0 kB\n"
	"Locked:                0 kB\n"
	"THPeligible:           0\n"
	"ProtectionKey:         0\n"
	"VmFlags: rd ex mr mw me dw sd \n"
	"00651000-00652000 rw-p 00051000 08:01 173521      /usr/bin/dbus-daemon\n"
	"Size:                  4 kB\n"
	"Rss:                   4 kB\n"
	"Pss:                   4 kB\n"
	"Private_Dirty:         4 kB\n"
	"Anonymous:             4 kB\n"
	"Swap:                 12 kB\n"
	"SomeFutureField:      17 kB\n"
	"VmFlags: rd wr mr mw me dw ac sd\n"
	"7ffc8a9c0000-7ffc8a9e1000 rw-p 00000000 00:00 0                          [stack]\n"
	"Rss:                  20 kB\n"
	"THPeligible:    1\n";

static void test_smaps(void **state)
{
	struct ll_maps *m = NULL;
	const struct ll_map *e;

	(void)state;
	assert_int_equal(ll_maps_parse(smaps_text, strlen(smaps_text), LL_MAPS_SMAPS, &m), 0);
	assert_int_equal(m->n, 3);
	e = &m->v[0];
	assert_int_equal(e->size_smaps, 328 * 1024);
	assert_int_equal(e->kernel_page_size, 4096);
	assert_int_equal(e->mmu_page_size, 4096);
	assert_int_equal(e->rss, 168 * 1024);
	assert_int_equal(e->pss, 84 * 1024);
	assert_int_equal(e->shared_clean, 168 * 1024);
	assert_int_equal(e->referenced, 168 * 1024);
	assert_int_equal(e->thp_eligible, 0);
	assert_int_equal(e->protection_key, 0);
	assert_string_equal(e->vm_flags, "rd ex mr mw me dw sd");
	assert_int_equal(e->kind, LL_MAP_TEXT);
	e = &m->v[1];
	assert_int_equal(e->private_dirty, 4096);
	assert_int_equal(e->anonymous, 4096);
	assert_int_equal(e->swap, 12 * 1024);
	assert_int_equal(e->protection_key, -1);
	assert_int_equal(e->kind, LL_MAP_DATA);
	e = &m->v[2];
	assert_int_equal(e->rss, 20 * 1024);
	assert_int_equal(e->thp_eligible, 1);
	assert_null(e->vm_flags);
	ll_maps_free(m);
	/* the same text as plain maps: the field lines are errors */
	assert_int_equal(ll_maps_parse(smaps_text, strlen(smaps_text), 0, &m), -EINVAL);
	assert_null(m);
}

static void test_malformed(void **state)
{
	static const char *const bad_maps[] = {
		"garbage\n",
		"00400000 r-xp 00000000 08:01 1 /x\n",             /* no end */
		"00400000-00300000 r-xp 00000000 08:01 1 /x\n",    /* end < start */
		"00400000-00400000 r-xp 00000000 08:01 1 /x\n",    /* empty */
		"00400000-00500000 r-x 00000000 08:01 1 /x\n",     /* 3 perms */
		"00400000-00500000 rwxq 00000000 08:01 1 /x\n",    /* q */
		"00400000-00500000 xwrp 00000000 08:01 1 /x\n",    /* order */
		"00400000-00500000 r-xp 0000zz00 08:01 1 /x\n",
		"00400000-00500000 r-xp 00000000 0801 1 /x\n",      /* no colon */
		"00400000-00500000 r-xp 00000000 08:01 /x\n",       /* no inode */
		"00400000-00500000 r-xp 00000000 08:01 -1 /x\n",
		"00400000-00500000 r-xp 00000000 08:01 99999999999999999999999 /x\n",
		"00400000-00500000 r-xp 00000000 08:01 1/x\n",      /* no space */
		"00400000-00500000\tr-xp 00000000 08:01 1 /x\n",    /* tab */
		"10000000000000000-20000000000000000 r-xp 00000000 08:01 1 /x\n",
		"-00500000 r-xp 00000000 08:01 1 /x\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\n\n",  /* empty line */
		"\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\n"
		"00300000-00350000 r-xp 00000000 08:01 1 /x\n",    /* out of order */
		"00400000-00500000 r-xp 00000000 08:01 1 /x\n"
		"004ff000-00550000 r-xp 00000000 08:01 1 /x\n",    /* overlap */
		"Rss: 4 kB\n",
	};
	static const char *const bad_smaps[] = {
		"Rss:                  4 kB\n",                     /* field before a header */
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nRss: 4 MB\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nRss: kB\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nRss: 4\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nRss: 99999999999999999999 kB\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nTHPeligible: yes\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nVmFlags: rd\nVmFlags: rd\n",
		"00400000-00500000 r-xp 00000000 08:01 1 /x\nnot a field\n",
	};
	static const char nul_path[] = "00400000-00500000 r-xp 00000000 08:01 1 /a\0b\n";
	struct ll_maps *m = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_maps) / sizeof(bad_maps[0]); i++) {
		int r = ll_maps_parse(bad_maps[i], strlen(bad_maps[i]), 0, &m);

		if (r != -EINVAL)
			fail_msg("maps case %zu (%s): got %d, want -EINVAL", i, bad_maps[i], r);
		assert_null(m);
	}
	for (size_t i = 0; i < sizeof(bad_smaps) / sizeof(bad_smaps[0]); i++) {
		int r = ll_maps_parse(bad_smaps[i], strlen(bad_smaps[i]), LL_MAPS_SMAPS, &m);

		if (r != -EINVAL)
			fail_msg("smaps case %zu (%s): got %d, want -EINVAL", i, bad_smaps[i], r);
		assert_null(m);
	}
	assert_int_equal(ll_maps_parse(nul_path, sizeof(nul_path) - 1, 0, &m), -EINVAL);
	assert_int_equal(ll_maps_parse(NULL, 0, 0, NULL), -EINVAL);
}

static void test_edges(void **state)
{
	/* no trailing newline, no NUL after the text, empty input */
	static const char text[] = "00400000-00500000 r-xp 00000000 08:01 1 /x y";
	struct ll_maps *m = NULL;
	char *copy = malloc(sizeof(text) - 1);

	(void)state;
	memcpy(copy, text, sizeof(text) - 1);
	assert_int_equal(ll_maps_parse(copy, sizeof(text) - 1, 0, &m), 0);
	assert_int_equal(m->n, 1);
	assert_string_equal(m->v[0].path, "/x y");
	ll_maps_free(m);
	free(copy);
	assert_int_equal(ll_maps_parse("", 0, 0, &m), 0);
	assert_int_equal(m->n, 0);
	assert_null(ll_maps_find(m, 0x400000));
	ll_maps_free(m);
	ll_maps_free(NULL);
	/* a file literally called " (deleted)" only: not mistaken for a flag */
	{
		static const char t[] = "00400000-00500000 r--p 00000000 08:01 1  (deleted)\n";

		assert_int_equal(ll_maps_parse(t, strlen(t), 0, &m), 0);
	}
	assert_string_equal(m->v[0].path, "(deleted)");
	assert_false(m->v[0].deleted);
	ll_maps_free(m);
}

static void test_resolve_parsed(void **state)
{
	struct ll_maps *m = NULL;
	struct ll_addr_info ai;

	(void)state;
	assert_int_equal(ll_maps_parse(maps_text, strlen(maps_text), 0, &m), 0);
	assert_int_equal(ll_maps_resolve(m, 0x10, &ai), -ENOENT);
	assert_int_equal(ll_maps_resolve(m, 0x55d0927a4010ull, &ai), -ENOEXEC); /* heap */
	assert_int_equal(ll_maps_resolve(m, 0x7f0000030010ull, &ai), -ENOEXEC); /* data file */
	assert_int_equal(ll_maps_resolve(m, 0x7ffc8a9f4010ull, &ai), -ENOEXEC); /* vdso, no pid */
	ll_maps_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),   cmocka_unit_test(test_classify),
		cmocka_unit_test(test_find),     cmocka_unit_test(test_summary),
		cmocka_unit_test(test_smaps),    cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_edges),    cmocka_unit_test(test_resolve_parsed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
