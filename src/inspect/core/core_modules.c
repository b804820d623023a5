/* core_modules.c: the modules of a core, matched by build-id.
 *
 * The modules are found from the core's memory alone (core_sniff.c: libdwfl's
 * dwfl_core_file_report() would open every path the core names itself). Our
 * find_elf callback matches every module by build-id: the file named in the
 * core is used only when its build-id equals the one the core recorded, then
 * the exe the caller gave (by build-id too), then <debug dir>/.build-id/xx/
 * yyyy[.debug]; a module with no file (the vdso) is read from the core. Each
 * file is opened the safe way and read into a sealed memfd first
 * (core_safefile.c): libdwfl and libelf only see the copy. Separate debug
 * files come from the debug dir by build-id only: no .gnu_debuglink to a path
 * the module names, and never debuginfod (libdwfl's standard callbacks would
 * query $DEBUGINFOD_URLS over the network). A file whose build-id differs is
 * never used: the module is reported as replaced since the crash and its
 * frames stay unsymbolized; a file known to have been modified in place while
 * mapped (core_cause.c) is not used either. Modules whose headers are not in
 * the core (truncated, filtered) are placed from NT_FILE or the caller's exe,
 * marked unverified. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdwelf.h>

#include "lifeline/inspect/maps.h"
#include "core_internal.h"

/* libdwfl's callbacks get no user pointer; one analysis runs per thread. */
static __thread struct core_ctx *cur_ctx;

/* The GNU build-id of the ELF file open at fd (length, 0 none, -1 not ELF).
 * Read with pread (ELF_C_READ), never mapped. */
static ssize_t fd_build_id(int fd, unsigned char *out, size_t max)
{
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	const void *p;
	ssize_t n = -1;

	if (e && elf_kind(e) == ELF_K_ELF) {
		n = dwelf_elf_gnu_build_id(e, &p);
		if (n > 0 && (size_t)n <= max)
			memcpy(out, p, (size_t)n);
		else if (n > 0)
			n = -1;
	}
	if (e)
		elf_end(e);
	return n;
}

static ssize_t path_build_id(const char *path, unsigned char *out, size_t max)
{
	int fd = core_safe_open(path, NULL);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = fd_build_id(fd, out, max);
	close(fd);
	return n;
}

/* A copy (memfd) of path when its build-id is bid (any ELF file when blen
 * is 0); *file_name is set to path. */
static int open_matching(struct core_ctx *c, const char *path, const unsigned char *bid, int blen,
			 char **file_name)
{
	unsigned char fb[64];
	ssize_t fl;
	int fd = core_safe_copy(c, path);

	if (fd < 0)
		return -1;
	fl = fd_build_id(fd, fb, sizeof(fb));
	if (fl < 0 || (blen > 0 && (fl != blen || memcmp(fb, bid, (size_t)blen) != 0))) {
		close(fd);
		return -1;
	}
	*file_name = strdup(path);
	if (!*file_name) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A module with no file (the vdso, a core of a program without files): its
 * image from the core's memory when all of it is there. */
static Elf *image_from_core(struct core_ctx *c, Dwarf_Addr base)
{
	const struct core_sniffed *s = core_sniffed_at(c, base);
	void **v, *buf;
	Elf *e;

	if (!s || s->image_size == 0)
		return NULL;
	buf = malloc((size_t)s->image_size);
	if (!buf)
		return NULL;
	if (core_read_mem(c, s->image, buf, (size_t)s->image_size) != s->image_size ||
	    !(v = realloc(c->images, (c->nimages + 1) * sizeof(*v)))) {
		free(buf);
		return NULL;
	}
	c->images = v;
	v[c->nimages++] = buf; /* freed after dwfl_end() */
	e = elf_memory(buf, (size_t)s->image_size);
	return e && elf_kind(e) == ELF_K_ELF ? e : (e ? (elf_end(e), NULL) : NULL);
}

/* The NT_FILE path of the mapping holding addr (modules named by their
 * soname only get their real path this way), or NULL. */
static const char *nt_file_path(const struct core_ctx *c, uint64_t addr)
{
	const struct core_nt_file *f = core_nt_file_at(c, addr);

	return f ? f->path : NULL;
}

#define DELETED " (deleted)"
#define DELETED_LEN (sizeof(DELETED) - 1)

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct core_ctx *c = cur_ctx;
	const unsigned char *bid = NULL;
	GElf_Addr vaddr;
	int blen, fd;

	(void)userdata;
	*elfp = NULL;
	if (!c)
		return -1;
	if ((!modname || modname[0] != '/') && nt_file_path(c, base))
		modname = nt_file_path(c, base);
	blen = dwfl_module_build_id(mod, &bid, &vaddr);
	if (blen < 0)
		blen = 0;
	if (modname && modname[0] == '/') {
		size_t l = strlen(modname);

		fd = open_matching(c, modname, bid, blen, file_name);
		if (fd >= 0)
			return fd;
		/* a file unlinked while mapped (an upgrade that renamed a new one
		 * in): the path may hold a file with the same build-id again */
		if (blen > 0 && l > DELETED_LEN && strcmp(modname + l - DELETED_LEN, DELETED) == 0) {
			char *p = strndup(modname, l - DELETED_LEN);

			fd = p ? open_matching(c, p, bid, blen, file_name) : -1;
			free(p);
			if (fd >= 0)
				return fd;
		}
	}
	if (blen > 0 && c->opts->exe_hint && c->exe_hint_build_id_len == (size_t)blen &&
	    memcmp(c->exe_hint_build_id, bid, (size_t)blen) == 0) {
		fd = open_matching(c, c->opts->exe_hint, bid, blen, file_name);
		if (fd >= 0)
			return fd;
	}
	if (blen > 1) {
		char *hex = core_hex(bid, (size_t)blen), *p;

		if (!hex)
			return -1;
		for (int debug = 0; debug < 2; debug++) {
			p = core_printf("%s/.build-id/%.2s/%s%s", c->debug_dir, hex, hex + 2,
					debug ? ".debug" : "");
			fd = p ? open_matching(c, p, bid, blen, file_name) : -1;
			free(p);
			if (fd >= 0) {
				free(hex);
				return fd;
			}
		}
		free(hex);
	}
	if (!modname || modname[0] != '/')
		*elfp = image_from_core(c, base);
	return -1;
}

/* Separate debug files: <debug dir>/.build-id/xx/yyyy.debug only, copied
 * like modules. libdwfl's standard callback would also follow the module's
 * .gnu_debuglink (a path the module names) and ask debuginfod (network). */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	struct core_ctx *c = cur_ctx;
	const unsigned char *bid = NULL;
	GElf_Addr vaddr;
	char *hex, *p;
	int blen, fd;

	(void)userdata, (void)modname, (void)base, (void)file_name, (void)debuglink_file;
	(void)debuglink_crc;
	if (!c)
		return -1;
	blen = dwfl_module_build_id(mod, &bid, &vaddr);
	if (blen <= 1)
		return -1;
	hex = core_hex(bid, (size_t)blen);
	if (!hex)
		return -1;
	p = core_printf("%s/.build-id/%.2s/%s.debug", c->debug_dir, hex, hex + 2);
	fd = p ? open_matching(c, p, bid, blen, debuginfo_file_name) : -1;
	free(p);
	free(hex);
	return fd;
}

static int module_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		     void *arg)
{
	struct core_ctx *c = arg;
	struct ll_core_analysis *a = c->a;
	struct core_module *m, *v;
	const unsigned char *bid;
	GElf_Addr vaddr, low, high;
	int blen;

	(void)userdata;
	(void)start;
	v = realloc(a->modules, (a->nmodules + 1) * sizeof(*v));
	if (!v)
		return DWARF_CB_ABORT;
	a->modules = v;
	m = &v[a->nmodules++];
	memset(m, 0, sizeof(*m));
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	m->mod = mod;
	if ((!name || name[0] != '/') && nt_file_path(c, low))
		name = nt_file_path(c, low);
	m->name = core_strdup(name ? name : "?");
	m->start = low;
	m->end = high;
	blen = dwfl_module_build_id(mod, &bid, &vaddr);
	if (blen > 0)
		m->build_id = core_hex(bid, (size_t)blen);
	return DWARF_CB_OK;
}

static int cmp_module(const void *x, const void *y)
{
	const struct core_module *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* A module the core holds no build-id for, checked against the build-id the
 * core_pattern helper read from the mapped file at crash time (metadata). */
static void verify_by_metadata(struct core_ctx *c, struct core_module *m)
{
	const char *recorded = NULL, *now = m->disk_build_id;
	unsigned char db[64];
	char *hex = NULL;
	ssize_t dl;

	for (size_t i = 0; i < c->a->nregions && !recorded; i++)
		if (c->a->regions[i].path && c->a->regions[i].file_build_id &&
		    strcmp(c->a->regions[i].path, m->name) == 0)
			recorded = c->a->regions[i].file_build_id;
	if (!recorded)
		return;
	if (!now && m->file && (dl = path_build_id(m->file, db, sizeof(db))) > 0)
		now = hex = core_hex(db, (size_t)dl);
	if (now && strcmp(now, recorded) == 0) {
		m->status = CORE_MOD_OK;
		free(m->build_id);
		m->build_id = core_strdup(recorded);
	} else if (now) {
		m->status = CORE_MOD_REPLACED;
		core_strv_pushf(&c->a->notes,
				"module %s was replaced since the crash (build-id differs: %s recorded at "
				"the crash, %s on disk now); frames in it are not symbolized", m->name,
				recorded, now);
	}
	free(hex);
}

/* Load each module's ELF through find_elf and record what was used. */
static void check_module(struct core_ctx *c, struct core_module *m)
{
	GElf_Addr bias;
	Elf *e = dwfl_module_getelf(m->mod, &bias);
	const char *mainfile = NULL;
	unsigned char db[64];
	bool unverified = false;
	ssize_t dl;

	dwfl_module_info(m->mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	/* every file comes through find_elf (a safe copy, build-id checked):
	 * an ELF without a main file is the image read from the core */
	for (size_t i = 0; i < c->unverified.n; i++)
		if (strcmp(c->unverified.v[i], m->name) == 0)
			unverified = true;
	if (!e)
		m->status = CORE_MOD_MISSING;
	else if (!mainfile)
		m->status = CORE_MOD_IN_CORE;
	else if (!m->build_id || unverified)
		m->status = CORE_MOD_UNVERIFIED;
	else if (strncmp(mainfile, c->debug_dir, strlen(c->debug_dir)) == 0)
		m->status = CORE_MOD_DEBUG_ONLY;
	else
		m->status = CORE_MOD_OK;
	if (unverified && m->build_id) { /* it is the file's, not the core's */
		free(m->disk_build_id);
		m->disk_build_id = m->build_id;
		m->build_id = NULL;
	}
	if (m->status == CORE_MOD_UNVERIFIED)
		verify_by_metadata(c, m);
	if (mainfile)
		m->file = core_strdup(mainfile);
	if (m->status == CORE_MOD_MISSING && strlen(m->name) > DELETED_LEN &&
	    strcmp(m->name + strlen(m->name) - DELETED_LEN, DELETED) == 0)
		core_strv_pushf(&c->a->notes,
				"module %s had been deleted (replaced by a rename, e.g. an upgrade) "
				"while the process ran, and no file with its build-id %s was found: "
				"name it with the exe option or install its debug file under "
				"/usr/lib/debug/.build-id", m->name, m->build_id ? m->build_id : "(none)");
	for (size_t i = 0; i < c->tainted.n; i++)
		if (strcmp(c->tainted.v[i], m->name) == 0) {
			m->status = CORE_MOD_MODIFIED;
			for (struct core_module *o = c->a->modules; o < m; o++)
				if (strcmp(o->name, m->name) == 0)
					return; /* said once */
			core_strv_pushf(&c->a->notes,
					"module %s was modified in place while mapped: the core's copy of its "
					"headers and the file now hold other code than the process loaded; "
					"frames in it are not symbolized", m->name);
			return;
		}
	if (!m->build_id || m->name[0] != '/' || (mainfile && strcmp(mainfile, m->name) == 0))
		return;
	/* the file the core names was not used: say why */
	dl = path_build_id(m->name, db, sizeof(db));
	if (dl <= 0)
		return;
	m->disk_build_id = core_hex(db, (size_t)dl);
	if (!m->disk_build_id || strcmp(m->disk_build_id, m->build_id) == 0) {
		free(m->disk_build_id);
		m->disk_build_id = NULL;
		return;
	}
	if (m->status == CORE_MOD_MISSING) {
		m->status = CORE_MOD_REPLACED;
		core_strv_pushf(&c->a->notes,
				"module %s was replaced since the crash (build-id differs: %s in the core, "
				"%s on disk now); frames in it are not symbolized", m->name, m->build_id,
				m->disk_build_id);
	} else {
		core_strv_pushf(&c->a->notes,
				"module %s was replaced since the crash (build-id differs: %s in the core, "
				"%s on disk now); symbolized from %s, found by build-id", m->name,
				m->build_id, m->disk_build_id, mainfile ? mainfile : "?");
	}
}

/* Modules whose headers are not in the core (a truncated core, or a
 * coredump_filter without ELF headers) are not found by libdwfl: report the
 * executable file mappings named by NT_FILE at their load address. Their
 * build-id cannot be checked against the core: they are marked unverified. */
static void report_headerless(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	struct core_strv done = { 0 };
	bool began = false;

	for (size_t i = 0; i < c->nfiles; i++) {
		const struct core_nt_file *f = &c->files[i];
		bool exec = false, tainted = false, seen = false;
		Dwfl_Module *m;
		int fd;

		if (f->file_offset != 0 || f->path[0] != '/' || dwfl_addrmodule(c->dwfl, f->start))
			continue;
		for (size_t k = 0; k < done.n && !seen; k++)
			seen |= strcmp(done.v[k], f->path) == 0;
		for (size_t k = 0; k < c->tainted.n && !seen; k++)
			tainted |= strcmp(c->tainted.v[k], f->path) == 0;
		if (seen || tainted)
			continue;
		for (size_t k = i; k < c->nfiles && !exec; k++) { /* its later mappings */
			const struct core_region *g = core_region_find(a, c->files[k].start);

			exec = strcmp(c->files[k].path, f->path) == 0 && g && (g->perms & LL_PERM_EXEC);
		}
		if (!exec)
			continue;
		if (!began) {
			dwfl_report_begin_add(c->dwfl);
			began = true;
		}
		core_strv_pushf(&done, "%s", f->path);
		fd = core_safe_copy(c, f->path);
		m = fd >= 0 ? dwfl_report_elf(c->dwfl, f->path, f->path, fd, f->start, false) : NULL;
		if (!m && fd >= 0)
			close(fd); /* on success libdwfl owns it */
		if (m)
			core_strv_pushf(&c->unverified, "%s", f->path);
		if (m)
			core_strv_pushf(&a->notes, "module %s: its headers are not in the core; placed from "
					"the core's file notes (see its status for the build-id check)",
					f->path);
	}
	if (began)
		dwfl_report_end(c->dwfl, NULL, NULL);
	core_strv_free(&done);
}

/* The vaddr of the GNU build-id note's descriptor in an ELF file, or 0. */
static uint64_t build_id_vaddr(Elf *e)
{
	size_t phnum;

	if (elf_getphdrnum(e, &phnum) < 0)
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((const char *)d->d_buf + name_off, "GNU", 4) == 0)
				return ph.p_vaddr + desc_off; /* offsets are relative to the segment */
	}
	return 0;
}

/* A core without file notes nor dumped headers (qemu-user's, a filtered
 * core): place the executable the caller named at its load address, and
 * check its build-id against the core's memory when that page was dumped. */
static void report_exe_hint(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	const char *exe = c->opts->exe_hint;
	uint64_t entry = core_auxv(c, AT_ENTRY), base = 0, note;
	unsigned char mem[64];
	GElf_Ehdr eh;
	Elf *e = NULL;
	int fd;

	if (!exe || (entry && dwfl_addrmodule(c->dwfl, entry)) || (!entry && a->nmodules))
		return;
	fd = core_safe_copy(c, exe);
	if (fd < 0)
		return;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || !gelf_getehdr(e, &eh) || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_machine != a->machine)
		goto out;
	if (eh.e_type == ET_DYN) {
		if (!entry)
			goto out;
		base = entry - eh.e_entry;
	}
	note = build_id_vaddr(e);
	if (c->exe_hint_build_id_len && note &&
	    core_read_mem(c, base + note, mem, c->exe_hint_build_id_len) == c->exe_hint_build_id_len) {
		if (memcmp(mem, c->exe_hint_build_id, c->exe_hint_build_id_len) != 0) {
			core_strv_pushf(&a->notes, "%s is not the executable of this core (build-id differs "
					"from the one in the core's memory): not used", exe);
			goto out;
		}
	} else {
		core_strv_pushf(&a->notes, "%s: the core holds no file notes nor its build-id; it was used "
				"as the executable without a build-id check", exe);
		core_strv_pushf(&c->unverified, "%s", exe);
	}
	elf_end(e);
	e = NULL;
	dwfl_report_begin_add(c->dwfl);
	if (dwfl_report_elf(c->dwfl, exe, exe, fd, base, false))
		fd = -1; /* libdwfl owns it */
	dwfl_report_end(c->dwfl, NULL, NULL);
out:
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
}

struct core_module *core_module_at(const struct ll_core_analysis *a, uint64_t addr)
{
	for (size_t i = 0; i < a->nmodules; i++)
		if (addr >= a->modules[i].start && addr < a->modules[i].end)
			return &a->modules[i];
	return NULL;
}

int core_modules_report(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	const char *dd = c->opts->debug_dir ? c->opts->debug_dir : "/usr/lib/debug";
	int n;

	c->debug_dir = core_strdup(dd);
	c->debuginfo_path = core_printf(":.debug:%s", dd);
	if (!c->debug_dir || !c->debuginfo_path)
		return -ENOMEM;
	c->callbacks.find_elf = find_elf;
	c->callbacks.find_debuginfo = find_debuginfo;
	c->callbacks.debuginfo_path = &c->debuginfo_path;
	if (c->opts->exe_hint) {
		ssize_t l = path_build_id(c->opts->exe_hint, c->exe_hint_build_id,
					  sizeof(c->exe_hint_build_id));
		c->exe_hint_build_id_len = l > 0 ? (size_t)l : 0;
	}
	c->dwfl = dwfl_begin(&c->callbacks);
	if (!c->dwfl)
		return -ENOMEM;
	cur_ctx = c;
	dwfl_report_begin(c->dwfl);
	n = core_sniff_report(c);
	dwfl_report_end(c->dwfl, NULL, NULL);
	if (n < 0)
		return n;
	if (n == 0)
		core_strv_pushf(&a->notes, "no module could be found in the core: no ELF headers "
				"in its memory");
	report_headerless(c);
	report_exe_hint(c);
	dwfl_getmodules(c->dwfl, module_cb, c, 0);
	if (a->nmodules > 1)
		qsort(a->modules, a->nmodules, sizeof(*a->modules), cmp_module);
	for (size_t i = 0; i < a->nmodules; i++)
		check_module(c, &a->modules[i]);
	/* cur_ctx stays set: libdwfl calls find_debuginfo lazily, while
	 * unwinding and symbolizing; core_modules_end() clears it */
	/* debug_dir and debuginfo_path are used while the Dwfl lives: freed by
	 * core_file_close() after dwfl_end() */
	return 0;
}

void core_modules_end(struct core_ctx *c)
{
	if (cur_ctx == c)
		cur_ctx = NULL;
}
