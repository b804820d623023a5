/* symbolizer.c: the public symbolizer API (lifeline/inspect/symbolize.h)
 * and the per-module cache.
 *
 * Opening reads the ELF header, finds the debug file (elf_open.c), builds
 * the sorted symbol table (symtab.c) and the CU range index
 * (dwarf_index.c). ll_symbolize() combines a symbol lookup with the DWARF
 * lookup. The cache is a small array keyed by path + build-id; a failed open
 * is cached as its error code. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbol_internal.h"

static int open_common(int fd, const char *name, const struct ll_sym_opts *opts,
		       struct ll_symbolizer **out)
{
	struct ll_symbolizer *s;
	struct stat st = { 0 };
	int r;

	*out = NULL;
	/* Only regular files: a FIFO or device could block or never end. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	r = sym_open_elf(s, fd, name, opts);
	if (r == 0 && opts && (opts->flags & LL_SYM_CACHE) && index_cache_load(s, opts) == 0)
		goto done; /* the whole index, read back: no DWARF work at all */
	if (r == 0)
		r = symtab_build(s);
	if (r == 0)
		r = dwarf_index_open(s);
	if (r < 0) {
		ll_symbolizer_free(s);
		return r;
	}
done:
	*out = s;
	return 0;
}

int ll_symbolizer_open(const char *path, const struct ll_sym_opts *opts, struct ll_symbolizer **out)
{
	struct stat st;
	int fd;

	*out = NULL;
	if (!path || !*path)
		return -EINVAL;
	/* Paths may come from an untrusted crash report: never open a device
	 * or FIFO (opening one can have effects), only regular files. */
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return open_common(fd, path, opts, out);
}

int ll_symbolizer_open_fd(int fd, const char *name, const struct ll_sym_opts *opts,
			  struct ll_symbolizer **out)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	*out = NULL;
	if (dup < 0)
		return -errno;
	return open_common(dup, name, opts, out);
}

void ll_symbolizer_free(struct ll_symbolizer *s)
{
	if (!s)
		return;
	disasm_close(s);
	dwarf_index_free(s);
	free(s->syms);
	free(s->all_syms);
	if (s->cache_map)
		munmap(s->cache_map, s->cache_map_size);
	if (s->debug_elf)
		elf_end(s->debug_elf);
	if (s->debug_fd >= 0)
		close(s->debug_fd);
	if (s->elf)
		elf_end(s->elf);
	if (s->fd >= 0)
		close(s->fd);
	free(s->debug_path);
	free(s->path);
	free(s);
}

const char *ll_elf_arch_name(unsigned machine, bool is64, bool big_endian)
{
	switch (machine) {
	case EM_X86_64: return "x86_64";
	case EM_386: return "i386";
	case EM_AARCH64: return big_endian ? "aarch64_be" : "aarch64";
	case EM_ARM: return big_endian ? "armeb" : "arm";
	case EM_MIPS:
		if (is64)
			return big_endian ? "mips64" : "mips64el";
		return big_endian ? "mips32" : "mips32el";
	case EM_PPC: return "ppc";
	case EM_PPC64: return big_endian ? "ppc64" : "ppc64le";
	case EM_RISCV: return is64 ? "riscv64" : "riscv32";
	case EM_S390: return "s390x";
	case EM_SPARCV9: return "sparc64";
	case EM_SPARC: return "sparc";
	default: return "unknown";
	}
}

void ll_symbolizer_info(const struct ll_symbolizer *s, struct ll_sym_info *out)
{

	bool is64 = s->ehdr.e_ident[EI_CLASS] == ELFCLASS64;
	bool be = s->ehdr.e_ident[EI_DATA] == ELFDATA2MSB;

	memset(out, 0, sizeof(*out));
	out->path = s->path;
	out->debug_path = s->debug_path;
	out->debug_how = s->debug_how;
	memcpy(out->build_id, s->build_id, s->build_id_len);
	out->build_id_len = s->build_id_len;
	out->machine = s->ehdr.e_machine;
	out->arch = ll_elf_arch_name(s->ehdr.e_machine, is64, be);
	out->is64 = is64;
	out->big_endian = be;
	out->entry = s->ehdr.e_entry;
	out->nsymbols = s->nsyms;
	out->has_symtab = s->has_symtab;
	out->has_dwarf = (s->has_dwarf || s->cached) && s->ncus > 0;
	out->from_cache = s->cache_map != NULL;
	out->ncus = s->ncus;
}

int ll_symbolize(struct ll_symbolizer *s, uint64_t addr, struct ll_sym_result *out)
{
	const struct sym_entry *near;
	const struct sym_entry *e = symtab_lookup(s, addr, &near);

	out->addr = addr;
	out->nearest = near ? near->name : NULL;
	out->nearest_offset = near ? addr - near->addr : 0;
	out->nearest_file = near ? near->file : NULL;
	out->symbol = NULL;
	out->symbol_addr = out->symbol_size = out->symbol_offset = 0;
	out->truncated = false;
	if (e) {
		out->symbol = e->name;
		out->symbol_addr = e->addr;
		out->symbol_size = e->size;
		out->symbol_offset = addr - e->addr;
	}
	out->nframes = dwarf_index_lookup(s, addr, out);
	/* Without a DWARF function name, the symbol names the outermost frame. */
	if (out->nframes > 0 && !out->frames[out->nframes - 1].function && e)
		out->frames[out->nframes - 1].function = e->name;
	return (out->symbol || out->nframes) ? 0 : -ENODATA;
}

/* ---------- cache ---------- */

struct cache_entry {
	char *path;
	uint8_t build_id[64];
	size_t build_id_len;
	int err;                 /* 0, or the open error remembered */
	struct ll_symbolizer *sym;
};

struct ll_symcache {
	struct ll_sym_opts opts;
	char **dirs;             /* copy of opts.debug_dirs, NULL-terminated */
	char *cache_dir;         /* copy of opts.cache_dir */
	struct cache_entry *v;
	size_t n, cap;
	size_t last;             /* index of the last hit: batches repeat modules */
};

int ll_symcache_new(const struct ll_sym_opts *opts, struct ll_symcache **out)
{
	struct ll_symcache *c = calloc(1, sizeof(*c));
	size_t n = 0;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	if (opts) {
		c->opts.flags = opts->flags;
		while (opts->debug_dirs && opts->debug_dirs[n])
			n++;
		if (opts->cache_dir && !(c->opts.cache_dir = c->cache_dir = strdup(opts->cache_dir)))
			goto fail;
	}
	c->dirs = calloc(n + 1, sizeof(char *));
	if (!c->dirs)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!(c->dirs[i] = strdup(opts->debug_dirs[i])))
			goto fail;
	c->opts.debug_dirs = (const char *const *)c->dirs;
	*out = c;
	return 0;
fail:
	ll_symcache_free(c);
	return -ENOMEM;
}

void ll_symcache_free(struct ll_symcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		ll_symbolizer_free(c->v[i].sym);
		free(c->v[i].path);
	}
	free(c->v);
	for (size_t i = 0; c->dirs && c->dirs[i]; i++)
		free(c->dirs[i]);
	free(c->dirs);
	free(c->cache_dir);
	free(c);
}

static bool entry_matches(const struct cache_entry *e, const char *path, const uint8_t *bid,
			  size_t bid_len)
{
	return !strcmp(e->path, path) && e->build_id_len == bid_len &&
	       (bid_len == 0 || !memcmp(e->build_id, bid, bid_len));
}

const struct ll_sym_opts *ll_symcache_opts(const struct ll_symcache *c)
{
	return &c->opts;
}

int ll_symcache_get(struct ll_symcache *c, const char *path, int fd, const uint8_t *build_id,
		    size_t build_id_len, struct ll_symbolizer **out)
{
	struct cache_entry *e;
	int r;

	*out = NULL;
	if (!path || build_id_len > sizeof(e->build_id))
		return -EINVAL;
	if (!build_id)
		build_id_len = 0;
	if (c->last < c->n && entry_matches(&c->v[c->last], path, build_id, build_id_len))
		e = &c->v[c->last];
	else {
		e = NULL;
		for (size_t i = 0; i < c->n && !e; i++)
			if (entry_matches(&c->v[i], path, build_id, build_id_len)) {
				e = &c->v[i];
				c->last = i;
			}
	}
	if (e) {
		*out = e->sym;
		return e->err;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct cache_entry *v = realloc(c->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = ncap;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)))
		return -ENOMEM;
	if (build_id_len)
		memcpy(e->build_id, build_id, build_id_len);
	e->build_id_len = build_id_len;
	r = fd >= 0 ? ll_symbolizer_open_fd(fd, path, &c->opts, &e->sym)
		    : ll_symbolizer_open(path, &c->opts, &e->sym);
	if (r == 0 && build_id_len &&
	    (e->sym->build_id_len != build_id_len ||
	     memcmp(e->sym->build_id, build_id, build_id_len))) {
		ll_symbolizer_free(e->sym);
		e->sym = NULL;
		r = -ESTALE;
	}
	e->err = r;
	c->last = c->n++;
	*out = e->sym;
	return r;
}
