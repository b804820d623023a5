/* test_core_hostile.c: the core analysis against cores a hostile process
 * could have written. The cores are crafted here byte by byte (an ELF
 * ET_CORE with NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE notes
 * and PT_LOAD segments), so each test says exactly what the attacker
 * controls:
 *   - paths in NT_FILE naming a FIFO and a device node are never opened
 *     (inotify sees no IN_OPEN; a FIFO opened for reading would hang),
 *   - DEBUGINFOD_URLS is never used (a listener on loopback gets no
 *     connection while a module without debug info is symbolized),
 *   - comm, the command line and paths are printed with control bytes, C1
 *     and bidi overrides escaped, and JSON escapes control bytes,
 *   - 100,000 threads or 100,000 NT_FILE entries are bounded (256 threads
 *     analysed, "... N more threads"),
 *   - a binary written just before the process started is not reported as
 *     modified in place; one written half a second later is only "possibly"
 *     (its mtime is no proof: it could have been written between fork and
 *     exec), and its frames are still symbolized.
 * No core_pattern is touched: the tests may run in parallel. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <elf.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "lifeline/inspect/core.h"
#include "testutil.h"

static char tmpdir[256];

/* ---- a growable byte buffer ---- */
struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (d)
		memcpy(b->p + b->n, d, n);
	else
		memset(b->p + b->n, 0, n);
	b->n += n;
}

static void put64(struct buf *b, uint64_t v)
{
	put(b, &v, 8);
}

static void note(struct buf *b, const char *name, uint32_t type, const void *desc, size_t n)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, (uint32_t)n, type };
	size_t nl = (h[0] + 3) & ~3u;

	put(b, h, sizeof(h));
	put(b, NULL, nl);
	memcpy(b->p + b->n - nl, name, h[0]);
	put(b, desc, n);
	put(b, NULL, ((n + 3) & ~3u) - n);
}

struct craft_file {
	uint64_t start, end, pgoff;
	const char *path;
};

struct craft_load {
	uint64_t vaddr;
	const void *data;
	size_t size;
	uint32_t flags;
};

struct craft {
	size_t nthreads;
	const char *comm, *psargs;
	struct craft_file files[4];	/* in address order, like the loads */
	size_t nfiles;
	size_t bulk_files;  /* extra NT_FILE entries, all naming /nonexistent */
	struct craft_load loads[4];
	size_t nloads;
	size_t empty_loads; /* PT_LOADs without bytes below the others, at 0x200000000
			     * and up (beyond 65535 headers: PN_XNUM) */
	uint64_t rip, rsp, rbp;
};

/* Write an x86_64 ELF core as the kernel lays it out. */
static void write_core(const char *path, const struct craft *cr)
{
	struct buf notes = { 0 }, out = { 0 }, d = { 0 };
	unsigned char prs[336] = { 0 }, ps[136] = { 0 }, si[128] = { 0 };
	uint64_t auxv[4] = { AT_PAGESZ, 4096, AT_NULL, 0 };
	size_t nph = 1 + cr->nloads + cr->empty_loads, off;
	Elf64_Ehdr eh = { 0 };
	FILE *f;

	for (size_t t = 0; t < (cr->nthreads ? cr->nthreads : 1); t++) {
		uint16_t sig = t == 0 ? SIGSEGV : 0;
		uint32_t pid = 1000 + (uint32_t)t;

		memcpy(prs + 12, &sig, 2);
		memcpy(prs + 32, &pid, 4);
		memcpy(prs + 112 + 16 * 8, &cr->rip, 8);
		memcpy(prs + 112 + 19 * 8, &cr->rsp, 8);
		memcpy(prs + 112 + 4 * 8, &cr->rbp, 8);
		note(&notes, "CORE", NT_PRSTATUS, prs, sizeof(prs));
		if (t == 0) {
			uint32_t one = 1000;

			memcpy(ps + 24, &one, 4);
			strncpy((char *)ps + 40, cr->comm ? cr->comm : "crafted", 16);
			strncpy((char *)ps + 56, cr->psargs ? cr->psargs : "crafted", 80);
			note(&notes, "CORE", NT_PRPSINFO, ps, sizeof(ps));
			si[0] = SIGSEGV;
			si[8] = 1; /* SEGV_MAPERR, address 0 */
			note(&notes, "CORE", NT_SIGINFO, si, sizeof(si));
			note(&notes, "CORE", NT_AUXV, auxv, sizeof(auxv));
		}
	}
	put64(&d, cr->nfiles + cr->bulk_files);
	put64(&d, 4096);
	for (size_t i = 0; i < cr->nfiles; i++) {
		put64(&d, cr->files[i].start);
		put64(&d, cr->files[i].end);
		put64(&d, cr->files[i].pgoff);
	}
	for (size_t i = 0; i < cr->bulk_files; i++) {
		put64(&d, 0x100000000ull + i * 4096);
		put64(&d, 0x100000000ull + i * 4096 + 4096);
		put64(&d, 0);
	}
	for (size_t i = 0; i < cr->nfiles; i++)
		put(&d, cr->files[i].path, strlen(cr->files[i].path) + 1);
	for (size_t i = 0; i < cr->bulk_files; i++)
		put(&d, "/nonexistent", 13);
	note(&notes, "CORE", NT_FILE, d.p, d.n);

	eh.e_ident[EI_MAG0] = ELFMAG0;
	eh.e_ident[EI_MAG1] = ELFMAG1;
	eh.e_ident[EI_MAG2] = ELFMAG2;
	eh.e_ident[EI_MAG3] = ELFMAG3;
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = nph < PN_XNUM ? (Elf64_Half)nph : PN_XNUM; /* else in section 0's sh_info */
	put(&out, &eh, sizeof(eh));
	off = sizeof(eh) + nph * sizeof(Elf64_Phdr);
	{
		Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = off, .p_filesz = notes.n, .p_align = 4 };

		put(&out, &ph, sizeof(ph));
	}
	off = (off + notes.n + 4095) & ~(size_t)4095;
	for (size_t i = 0; i < cr->empty_loads; i++) {
		Elf64_Phdr ph = { .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0x200000000ull + i * 8192,
				  .p_memsz = 4096, .p_flags = PF_R, .p_align = 4096 };

		put(&out, &ph, sizeof(ph));
	}
	for (size_t i = 0; i < cr->nloads; i++) {
		size_t sz = (cr->loads[i].size + 4095) & ~(size_t)4095;
		Elf64_Phdr ph = { .p_type = PT_LOAD, .p_offset = off, .p_vaddr = cr->loads[i].vaddr,
				  .p_filesz = sz, .p_memsz = sz, .p_flags = cr->loads[i].flags,
				  .p_align = 4096 };

		put(&out, &ph, sizeof(ph));
		off += sz;
	}
	put(&out, notes.p, notes.n);
	put(&out, NULL, ((out.n + 4095) & ~(size_t)4095) - out.n);
	for (size_t i = 0; i < cr->nloads; i++) {
		size_t sz = (cr->loads[i].size + 4095) & ~(size_t)4095;

		put(&out, cr->loads[i].data, cr->loads[i].size);
		put(&out, NULL, sz - cr->loads[i].size);
	}
	if (nph >= PN_XNUM) {
		Elf64_Shdr sh = { .sh_info = (Elf64_Word)nph };
		Elf64_Ehdr *e = (Elf64_Ehdr *)out.p;

		e->e_shoff = out.n;
		e->e_shentsize = sizeof(sh);
		e->e_shnum = 1;
		put(&out, &sh, sizeof(sh));
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(out.p, 1, out.n, f), out.n);
	assert_int_equal(fclose(f), 0);
	free(notes.p);
	free(out.p);
	free(d.p);
}

/* A minimal ELF header and one PT_LOAD: what the sniffer finds a module by. */
static void fake_elf_page(unsigned char *page)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)page;
	Elf64_Phdr *ph = (Elf64_Phdr *)(page + sizeof(*eh));

	memset(page, 0, 4096);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_filesz = ph->p_memsz = 4096;
	ph->p_align = 4096;
}

static char *tmp(const char *name)
{
	static char b[8][512];
	static int i;
	char *p = b[i++ % 8];

	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static json_object *analyze_json(const char *core, struct ll_core_options *o)
{
	struct ll_core_analysis *a = NULL;
	json_object *j;

	assert_int_equal(ll_core_analyze(core, o, &a), 0);
	j = ll_core_analysis_json(a);
	ll_core_analysis_free(a);
	return j;
}

static char *analyze_text(const char *core)
{
	struct ll_core_analysis *a = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(ll_core_analyze(core, NULL, &a), 0);
	assert_int_equal(ll_core_analysis_print(a, f, true), 0);
	fclose(f);
	ll_core_analysis_free(a);
	return text;
}

static json_object *module_named(json_object *j, const char *name)
{
	json_object *mods;

	assert_true(json_object_object_get_ex(j, "modules", &mods));
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i), *v;

		if (json_object_object_get_ex(m, "name", &v) && strcmp(json_object_get_string(v), name) == 0)
			return m;
	}
	return NULL;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* 1. FIFO and device paths named by the core are never opened. */
static void test_special_files_not_opened(void **state)
{
	static unsigned char page[4096], zero[4096];
	const char *fifo = tmp("evil-fifo"), *dev = tmp("evil-dev"), *core = tmp("special.core");
	struct craft cr = {
		.nthreads = 1, .rip = 0x400100, .rsp = 0,
		.files = { { 0x400000, 0x401000, 0, fifo }, { 0x500000, 0x501000, 0, dev } },
		.nfiles = 2,
		.loads = { { 0x400000, page, sizeof(page), PF_R | PF_X },
			   { 0x500000, zero, sizeof(zero), PF_R | PF_X } },
		.nloads = 2,
	};
	bool have_dev;
	int in, status = 0;
	pid_t pid;
	char ev[4096];
	ssize_t n;

	(void)state;
	fake_elf_page(page);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* a character device node (like /dev/null): opening a real one such as
	 * /dev/watchdog has effects; needs CAP_MKNOD */
	have_dev = mknod(dev, S_IFCHR | 0600, makedev(1, 3)) == 0;
	if (!have_dev)
		printf("note: mknod not permitted here (%s): only the FIFO is checked\n", strerror(errno));
	write_core(core, &cr);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, fifo, IN_OPEN | IN_ACCESS) >= 0);
	if (have_dev)
		assert_true(inotify_add_watch(in, dev, IN_OPEN | IN_ACCESS) >= 0);

	/* in a child: an analysis that opens the FIFO for reading would block
	 * forever; the parent then kills it and fails */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ll_core_options o = { .exe_hint = fifo };
		struct ll_core_analysis *a = NULL;
		FILE *f = fopen("/dev/null", "w");
		int r = ll_core_analyze(core, &o, &a);

		if (r == 0)
			ll_core_analysis_print(a, f, false);
		ll_core_analysis_free(a);
		_exit(r == 0 ? 0 : 3);
	}
	for (int i = 0; i < 1200 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50 * 1000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the analysis did not finish: it blocked opening the FIFO named by the core");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	n = read(in, ev, sizeof(ev));
	if (n > 0)
		fail_msg("a FIFO or device named by the core was opened (%zd bytes of inotify events)", n);
	close(in);

	{
		json_object *j = analyze_json(core, NULL), *m = module_named(j, fifo);

		assert_non_null(m); /* the module is there, its file refused */
		assert_string_equal(jstr(m, "status"), "missing");
		json_object_put(j);
	}
	unlink(fifo);
	unlink(dev);
	unlink(core);
}

/* 2. DEBUGINFOD_URLS is not used: a module whose file is found but has no
 * debug info (/bin/true is stripped) is symbolized by libdwfl, whose
 * standard callback would query the debuginfod server. */
static void test_no_debuginfod(void **state)
{
	static unsigned char page[4096];
	const char *core = tmp("debuginfod.core"), *exe = "/usr/bin/true";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char url[64], *out = NULL, *err = NULL;
	int ls, fd, c, status;
	struct craft cr = { .nthreads = 1, .rip = 0x400000 + 0x2000 };

	(void)state;
	fd = open(exe, O_RDONLY);
	if (fd < 0 || read(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		skip();
		return;
	}
	close(fd);
	cr.files[0] = (struct craft_file){ 0x400000, 0x401000, 0, exe };
	cr.nfiles = 1;
	cr.loads[0] = (struct craft_load){ 0x400000, page, sizeof(page), PF_R | PF_X };
	cr.nloads = 1;
	write_core(core, &cr);

	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 16), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
	/* the variable must be there when libdw is loaded: a new process */
	assert_int_equal(setenv("DEBUGINFOD_URLS", url, 1), 0);
	assert_int_equal(setenv("DEBUGINFOD_TIMEOUT", "2", 1), 0);
	{
		char *argv[] = { (char *)tu_build_path("tests/inspect/core/core-analyze"), "--json", "--dwfl",
				 (char *)core, NULL };

		status = tu_run(argv, NULL, &out, &err);
	}
	unsetenv("DEBUGINFOD_URLS");
	unsetenv("DEBUGINFOD_TIMEOUT");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	{
		json_object *j = json_tokener_parse(out), *m;

		assert_non_null(j);
		m = module_named(j, exe);
		assert_non_null(m);
		assert_string_equal(jstr(m, "status"), "ok"); /* the file was found and used */
		json_object_put(j);
	}
	c = accept(ls, NULL, NULL);
	if (c >= 0)
		fail_msg("the analysis connected to DEBUGINFOD_URLS (%s)", url);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(ls);
	free(out);
	free(err);
	unlink(core);
}

/* 3. Text from the core cannot drive the terminal. */
static void test_escaped_output(void **state)
{
	const char *core = tmp("escape.core");
	char path[512];
	static unsigned char page[4096];
	struct craft cr = {
		.nthreads = 1,
		.comm = "a\x1b]0;pwned\x07",
		.psargs = "run \x1b[2J\x1b[31mred \xe2\x80\xae" "fdp.exe \xc2\x9b" "1m \x7f \xff end",
	};
	char *text;
	json_object *j;
	const char *js;

	(void)state;
	snprintf(path, sizeof(path), "%s/lib\x1b[8mhidden\xe2\x81\xa6.so", tmpdir);
	fake_elf_page(page);
	cr.files[0] = (struct craft_file){ 0x400000, 0x401000, 0, path };
	cr.nfiles = 1;
	cr.loads[0] = (struct craft_load){ 0x400000, page, sizeof(page), PF_R | PF_X };
	cr.nloads = 1;
	write_core(core, &cr);

	text = analyze_text(core);
	/* the only ESC bytes left are our own colours: ESC [ digits m */
	for (const char *p = text; (p = strchr(p, '\x1b')); p++) {
		size_t k = 2;

		assert_int_equal(p[1], '[');
		while ((p[k] >= '0' && p[k] <= '9') || p[k] == ';')
			k++;
		assert_int_equal(p[k], 'm');
		assert_true(strncmp(p, "\x1b[2J", 4) != 0 && strncmp(p, "\x1b[8m", 4) != 0);
	}
	assert_null(strchr(text, '\x07'));
	assert_null(strchr(text, '\x7f'));
	assert_null(strstr(text, "\xe2\x80\xae"));
	assert_null(strstr(text, "\xe2\x81\xa6"));
	assert_null(strstr(text, "\xc2\x9b"));
	assert_null(strchr(text, '\xff'));
	assert_non_null(strstr(text, "a\\x1b]0;pwned\\x07"));
	assert_non_null(strstr(text, "run \\x1b[2J\\x1b[31mred \\u{202e}fdp.exe \\u{009b}1m \\x7f \\xff end"));
	assert_non_null(strstr(text, "lib\\x1b[8mhidden\\u{2066}.so"));
	free(text);

	/* JSON: json-c writes control bytes as \u00XX; bytes that are not
	 * UTF-8 become the text \xHH (common/escape.h) */
	j = analyze_json(core, NULL);
	js = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	for (const char *p = js; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	assert_non_null(strstr(js, "\\u001b[2J"));
	assert_null(strchr(js, '\xff')); /* invalid UTF-8 is escaped: the JSON stays UTF-8 */
	assert_non_null(strstr(js, "\\\\xff end"));
	json_object_put(j);
	unlink(core);
}

/* 4. 100,000 threads, 100,000 file mappings and 270,000 segments (more than
 * e_phnum holds): bounded work, and the analysis says what it left out. */
static void test_bounded(void **state)
{
	const char *core = tmp("many.core");
	struct craft cr = { .nthreads = 100000, .bulk_files = 100000, .empty_loads = 270000 };
	json_object *j, *v;
	char *text, more[64];

	(void)state;
	write_core(core, &cr);
	j = analyze_json(core, NULL);
	assert_true(json_object_object_get_ex(j, "threads", &v));
	assert_int_equal(json_object_array_length(v), 256);
	assert_true(json_object_object_get_ex(j, "threads_omitted", &v));
	assert_int_equal(json_object_get_int64(v), 100000 - 256);
	assert_true(json_object_object_get_ex(j, "notes", &v));
	{
		bool said = false;

		for (size_t i = 0; i < json_object_array_length(v); i++)
			said |= strstr(json_object_get_string(json_object_array_get_idx(v, i)),
				       "names 100000 file mappings: only the first") != NULL;
		assert_true(said);
		said = false;
		for (size_t i = 0; i < json_object_array_length(v); i++)
			said |= strstr(json_object_get_string(json_object_array_get_idx(v, i)),
				       "the core has 270000 memory segments: only the first 262144") != NULL;
		assert_true(said);
	}
	json_object_put(j);
	text = analyze_text(core);
	snprintf(more, sizeof(more), "... %d more threads", 100000 - 256);
	assert_non_null(strstr(text, more));
	free(text);
	unlink(core);
}

/* 4b. Deep stacks in a core with 70,000 segments (a big JVM's worth): every
 * thread is unwound through a frame-pointer chain; the work stays bounded
 * (256 threads, 64 frames each, each memory read a binary search: libdwfl's
 * own core reader scans every program header for each word). */
static void test_bounded_unwind(void **state)
{
	const char *core = tmp("deep.core");
	static unsigned char page[4096], stack[65536];
	struct craft cr = { .nthreads = 300, .empty_loads = 70000 };
	uint64_t sp = 0x7ff000000000ull, mod = 0x7f0000000000ull;
	json_object *j, *v, *frames;

	(void)state;
	fake_elf_page(page);
	for (size_t i = 0; i + 16 <= sizeof(stack); i += 16) { /* rbp chain: next, return */
		uint64_t next = sp + i + 16, ret = mod + 0x100 + (i % 64);

		memcpy(stack + i, &next, 8);
		memcpy(stack + i + 8, &ret, 8);
	}
	cr.files[0] = (struct craft_file){ mod, mod + 4096, 0, "/nonexistent/libdeep.so" };
	cr.nfiles = 1;
	cr.loads[0] = (struct craft_load){ mod, page, sizeof(page), PF_R | PF_X };
	cr.loads[1] = (struct craft_load){ sp, stack, sizeof(stack), PF_R | PF_W };
	cr.nloads = 2;
	cr.rip = mod + 0x100;
	cr.rsp = sp;
	cr.rbp = sp;
	write_core(core, &cr);
	j = analyze_json(core, NULL);
	assert_true(json_object_object_get_ex(j, "threads", &v));
	assert_int_equal(json_object_array_length(v), 256);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(v, 0), "frames", &frames));
	assert_true(json_object_array_length(frames) >= 32); /* the chain was followed */
	assert_true(json_object_array_length(frames) <= 64);
	json_object_put(j);
	unlink(core);
}

/* 5. mtime just after the recorded start (within a clock tick and the file
 * system's granularity) is a binary written before the start, not one
 * modified while mapped; half a second after is "possibly" one: the start is
 * the fork's, and a file written between fork and exec looks the same. The
 * module status, and *title receives the modified-in-place cause's title
 * ("" when there is none). */
static const char *status_with_mtime(const char *core, const char *lib, double start, double mtime,
				     const char **title)
{
	static char status[64], cause[512];
	json_object *causes;
	struct stat st;
	char meta_text[2048];
	json_object *meta, *j, *m;
	struct ll_core_options o = { 0 };

	assert_int_equal(stat(lib, &st), 0);
	snprintf(meta_text, sizeof(meta_text),
		 "{\"process_start_time\": %.6f, \"maps\": [{\"start\": \"0x400000\", \"end\": \"0x401000\", "
		 "\"offset\": \"0x0\", \"perms\": \"r-xp\", \"inode\": %llu, \"path\": \"%s\", "
		 "\"deleted\": false, \"file\": {\"inode\": %llu, \"size\": %lld, \"mtime\": %.6f}}]}",
		 start, (unsigned long long)st.st_ino, lib, (unsigned long long)st.st_ino,
		 (long long)st.st_size, mtime);
	meta = json_tokener_parse(meta_text);
	assert_non_null(meta);
	o.metadata = meta;
	j = analyze_json(core, &o);
	m = module_named(j, lib);
	assert_non_null(m);
	snprintf(status, sizeof(status), "%s", jstr(m, "status"));
	cause[0] = '\0';
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	for (size_t i = 0; i < json_object_array_length(causes); i++) {
		json_object *c = json_object_array_get_idx(causes, i);

		if (strcmp(jstr(c, "kind"), "modified-in-place") == 0)
			snprintf(cause, sizeof(cause), "%s%s", jstr(c, "title"),
				 strcmp(jstr(c, "hint"), "true") == 0 ? " [hint]" : "");
	}
	*title = cause;
	json_object_put(j);
	json_object_put(meta);
	return status;
}

static void test_mtime_boundary(void **state)
{
	static unsigned char page[4096];
	const char *core = tmp("mtime.core"), *lib = tmp("libfake.so");
	struct craft cr = { .nthreads = 1 };
	double start = 1700000000.25;
	const char *title;
	FILE *f;

	(void)state;
	fake_elf_page(page);
	f = fopen(lib, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(page, 1, sizeof(page), f), sizeof(page));
	fclose(f);
	cr.files[0] = (struct craft_file){ 0x400000, 0x401000, 0, lib };
	cr.nfiles = 1;
	cr.loads[0] = (struct craft_load){ 0x400000, page, sizeof(page), PF_R | PF_X };
	cr.nloads = 1;
	write_core(core, &cr);

	/* written 5 ms "after" the start the kernel recorded (rounded down to
	 * the tick): not modified in place, not even possibly */
	assert_string_not_equal(status_with_mtime(core, lib, start, start + 0.005, &title), "modified-in-place");
	assert_string_equal(title, "");
	assert_string_not_equal(status_with_mtime(core, lib, start, start + 0.015, &title), "modified-in-place");
	assert_string_equal(title, "");
	/* before the start: certainly not */
	assert_string_not_equal(status_with_mtime(core, lib, start, start - 3, &title), "modified-in-place");
	assert_string_equal(title, "");
	/* half a second after the start: possibly (a hint), since only the
	 * clocks say so; the file is still used */
	assert_string_not_equal(status_with_mtime(core, lib, start, start + 0.5, &title), "modified-in-place");
	assert_string_equal(title, "libfake.so was possibly modified in place (cp over a loaded library) after "
				   "the process mapped it [hint]");
	unlink(core);
	unlink(lib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_special_files_not_opened),
		cmocka_unit_test(test_no_debuginfod),
		cmocka_unit_test(test_escaped_output),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_bounded_unwind),
		cmocka_unit_test(test_mtime_boundary),
	};

	if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
