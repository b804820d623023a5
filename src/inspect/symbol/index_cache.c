/* index_cache.c: the finished index of a module kept on disk and reused.
 *
 * Building the index costs the decompression of the debug sections and a
 * walk of every compile unit; a module symbolized again (same build-id, same
 * file and debug file sizes and times) reads it back instead, with no libdw
 * at all. The file, <dir>/<build-id>.idx, holds a header (format, key),
 * then flat arrays (symbols, CU ranges, CUs, line rows, scopes, segments)
 * whose strings are offsets into one string table at the end. Loading checks
 * every count, offset and index against the file's size, so a damaged or
 * foreign file is refused (and rewritten), never trusted.
 *
 * The directory: opts->cache_dir, else $LIFELINE_CACHE_DIR, else
 * $XDG_CACHE_HOME/lifeline/symbolize or ~/.cache/lifeline/symbolize. It is
 * used only when owned by us and writable by no one else; files are opened
 * with O_NOFOLLOW and written by rename of a temporary file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbol_internal.h"

#define CACHE_MAGIC "LLSYMIX2"
#define MAX_CACHE_FILE (1ull << 31)   /* 2 GiB: larger is refused */

struct cache_key {
	uint64_t mod_size, mod_mtime, dbg_size, dbg_mtime;
	uint8_t build_id[64];
	uint32_t build_id_len;
	uint32_t pad;
	char dbg_path[512];
};

struct cache_hdr {
	char magic[8];
	uint32_t byte_order;     /* 0x01020304 as written */
	uint32_t flags;          /* 1 has_symtab, 2 has DWARF */
	struct cache_key key;
	uint64_t nsyms, nall, nranges, ncus, nrows, nscopes, nsegs, nstr;
};

struct f_sym { uint64_t addr, size; uint32_t name, file; uint8_t bind, thumb, pad[6]; };
struct f_range { uint64_t lo, hi; uint32_t cu, pad; };
struct f_cu { uint64_t row0, nrows, scope0, nscopes, seg0, nsegs; };
struct f_row { uint64_t addr; uint32_t file, line, disc; uint16_t col; uint8_t end, pad; };
struct f_scope { uint32_t name, call_file, call_line, call_col; int32_t parent, pad; };
struct f_seg { uint64_t lo, hi; int32_t scope, pad; };

#define NOSTR UINT32_MAX

/* ---------- where ---------- */

/* mkdir -p, mode 0700 for what it creates. */
static void make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
	mkdir(path, 0700);
}

static int cache_dir(const struct ll_sym_opts *opts, char *buf, size_t size, bool create)
{
	const char *d = opts ? opts->cache_dir : NULL;
	struct stat st;
	int n;

	if (!d || !*d)
		d = getenv("LIFELINE_CACHE_DIR");
	if (d && *d) {
		n = snprintf(buf, size, "%s", d);
	} else if ((d = getenv("XDG_CACHE_HOME")) && *d == '/') {
		n = snprintf(buf, size, "%s/lifeline/symbolize", d);
	} else if ((d = getenv("HOME")) && *d == '/') {
		n = snprintf(buf, size, "%s/.cache/lifeline/symbolize", d);
	} else {
		return -ENOENT;
	}
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (create && buf[0] == '/' && stat(buf, &st) < 0 && errno == ENOENT)
		make_dirs(buf);
	if (stat(buf, &st) < 0)
		return -errno;
	/* Ours and private: nobody else may plant an index we would trust. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

static int key_of(const struct ll_symbolizer *s, struct cache_key *k)
{
	struct stat st;

	memset(k, 0, sizeof(*k));
	if (s->build_id_len == 0 || fstat(s->fd, &st) < 0)
		return -ENOENT;
	k->mod_size = (uint64_t)st.st_size;
	k->mod_mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	memcpy(k->build_id, s->build_id, s->build_id_len);
	k->build_id_len = (uint32_t)s->build_id_len;
	if (s->debug_fd >= 0) {
		if (fstat(s->debug_fd, &st) < 0 || strlen(s->debug_path) >= sizeof(k->dbg_path))
			return -ENOENT;
		k->dbg_size = (uint64_t)st.st_size;
		k->dbg_mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
		snprintf(k->dbg_path, sizeof(k->dbg_path), "%s", s->debug_path);
	}
	return 0;
}

static int file_name(const struct ll_symbolizer *s, const struct ll_sym_opts *opts, char *buf, size_t size,
		     bool create)
{
	char dir[PATH_MAX];
	char hex[2 * 64 + 1];
	int r = cache_dir(opts, dir, sizeof(dir), create), n;

	if (r < 0)
		return r;
	for (size_t i = 0; i < s->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", s->build_id[i]);
	n = snprintf(buf, size, "%s/%s.idx", dir, hex);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* ---------- load ---------- */

static const char *str_at(const char *blob, uint64_t nstr, uint32_t off, bool *bad)
{
	if (off == NOSTR)
		return NULL;
	if (off >= nstr) {
		*bad = true;
		return NULL;
	}
	return blob + off;
}

/* The arrays of a cache file at p (size bytes, already read). */
static int load_from(struct ll_symbolizer *s, const char *p, size_t size, const struct cache_key *key)
{
	const struct cache_hdr *h = (const struct cache_hdr *)p;
	const struct f_sym *fs;
	const struct f_range *fr;
	const struct f_cu *fc;
	const struct f_row *frow;
	const struct f_scope *fsc;
	const struct f_seg *fseg;
	const char *blob;
	uint64_t need;
	bool bad = false;

	if (size < sizeof(*h) || memcmp(h->magic, CACHE_MAGIC, 8) || h->byte_order != 0x01020304 ||
	    memcmp(&h->key, key, sizeof(*key)))
		return -ESTALE;
	/* Every count bounded by the file size before any multiplication. */
	if (h->nsyms > size || h->nall > size || h->nranges > size || h->ncus > size || h->nrows > size ||
	    h->nscopes > size || h->nsegs > size || h->nstr > size)
		return -EBADMSG;
	need = sizeof(*h) + (h->nsyms + h->nall) * sizeof(*fs) + h->nranges * sizeof(*fr) +
	       h->ncus * sizeof(*fc) + h->nrows * sizeof(*frow) + h->nscopes * sizeof(*fsc) +
	       h->nsegs * sizeof(*fseg) + h->nstr;
	if (need != size || h->nstr == 0 || p[size - 1] != '\0')
		return -EBADMSG;
	fs = (const struct f_sym *)(h + 1);
	fr = (const struct f_range *)(fs + h->nsyms + h->nall);
	fc = (const struct f_cu *)(fr + h->nranges);
	frow = (const struct f_row *)(fc + h->ncus);
	fsc = (const struct f_scope *)(frow + h->nrows);
	fseg = (const struct f_seg *)(fsc + h->nscopes);
	blob = (const char *)(fseg + h->nsegs);

	s->syms = calloc(h->nsyms + 1, sizeof(*s->syms));
	s->all_syms = calloc(h->nall + 1, sizeof(*s->all_syms));
	s->cu_ranges = calloc(h->nranges + 1, sizeof(*s->cu_ranges));
	s->cus = calloc(h->ncus + 1, sizeof(*s->cus));
	if (!s->syms || !s->all_syms || !s->cu_ranges || !s->cus)
		return -ENOMEM;
	for (uint64_t i = 0; i < h->nsyms + h->nall; i++) {
		struct sym_entry *e = i < h->nsyms ? &s->syms[i] : &s->all_syms[i - h->nsyms];

		*e = (struct sym_entry){ .addr = fs[i].addr, .size = fs[i].size,
					 .name = str_at(blob, h->nstr, fs[i].name, &bad),
					 .file = str_at(blob, h->nstr, fs[i].file, &bad),
					 .bind = fs[i].bind, .thumb = fs[i].thumb != 0 };
		if (!e->name)
			bad = true;
	}
	s->nsyms = h->nsyms;
	s->nall_syms = h->nall;
	for (uint64_t i = 0; i < h->nranges; i++) {
		if (fr[i].cu >= h->ncus)
			bad = true;
		s->cu_ranges[i] = (struct cu_range){ fr[i].lo, fr[i].hi, fr[i].cu };
	}
	s->ncu_ranges = h->nranges;
	s->ncus = h->ncus;
	for (uint64_t i = 0; i < h->ncus && !bad; i++) {
		const struct f_cu *x = &fc[i];
		struct cu *c = &s->cus[i];

		c->loaded = true;
		if (x->row0 > h->nrows || x->nrows > h->nrows - x->row0 || x->scope0 > h->nscopes ||
		    x->nscopes > h->nscopes - x->scope0 || x->seg0 > h->nsegs ||
		    x->nsegs > h->nsegs - x->seg0) {
			bad = true;
			break;
		}
		c->rows = malloc((x->nrows + 1) * sizeof(*c->rows));
		c->scopes = malloc((x->nscopes + 1) * sizeof(*c->scopes));
		c->segs = malloc((x->nsegs + 1) * sizeof(*c->segs));
		if (!c->rows || !c->scopes || !c->segs)
			return -ENOMEM;
		for (uint64_t j = 0; j < x->nrows; j++) {
			const struct f_row *r = &frow[x->row0 + j];

			c->rows[j] = (struct line_row){ .addr = r->addr, .line = r->line, .column = r->col,
							.end_seq = r->end, .discriminator = r->disc,
							.file = str_at(blob, h->nstr, r->file, &bad) };
		}
		for (uint64_t j = 0; j < x->nscopes; j++) {
			const struct f_scope *sc = &fsc[x->scope0 + j];

			/* A parent comes before its children: chains always end. */
			if (sc->parent < -1 || (int64_t)sc->parent >= (int64_t)j)
				bad = true;
			c->scopes[j] = (struct scope){ .name = str_at(blob, h->nstr, sc->name, &bad),
						       .call_file = str_at(blob, h->nstr, sc->call_file, &bad),
						       .call_line = sc->call_line, .call_column = sc->call_col,
						       .parent = sc->parent };
		}
		for (uint64_t j = 0; j < x->nsegs; j++) {
			const struct f_seg *sg = &fseg[x->seg0 + j];

			if (sg->scope < 0 || (uint64_t)sg->scope >= x->nscopes)
				bad = true;
			c->segs[j] = (struct segment){ sg->lo, sg->hi, sg->scope };
		}
		c->nrows = x->nrows;
		c->nscopes = x->nscopes;
		c->nsegs = x->nsegs;
	}
	if (bad)
		return -EBADMSG;
	s->has_symtab = h->flags & 1;
	s->cached = (h->flags & 2) != 0;
	return 0;
}

/* Undo a partial load: back to an empty index. */
static void unload(struct ll_symbolizer *s)
{
	for (size_t i = 0; s->cus && i < s->ncus; i++) {
		free(s->cus[i].rows);
		free(s->cus[i].scopes);
		free(s->cus[i].segs);
	}
	free(s->cus);
	free(s->cu_ranges);
	free(s->syms);
	free(s->all_syms);
	s->cus = NULL;
	s->cu_ranges = NULL;
	s->syms = s->all_syms = NULL;
	s->ncus = s->ncu_ranges = s->nsyms = s->nall_syms = 0;
	s->has_symtab = s->cached = false;
}

int index_cache_load(struct ll_symbolizer *s, const struct ll_sym_opts *opts)
{
	struct cache_key key;
	char path[PATH_MAX];
	struct stat st;
	void *map = MAP_FAILED;
	int fd, r;

	if (key_of(s, &key) < 0 || file_name(s, opts, path, sizeof(path), false) < 0)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (uint64_t)st.st_size > MAX_CACHE_FILE || st.st_size < (off_t)sizeof(struct cache_hdr)) {
		r = -EBADMSG;
		goto out;
	}
	/* Mapped, private: a writer replaces the file by rename, never in
	 * place, so the pages stay those of the file we checked. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	r = load_from(s, map, (size_t)st.st_size, &key);
	if (r == 0) {
		s->cache_map = map; /* the strings point into it */
		s->cache_map_size = (size_t)st.st_size;
		map = MAP_FAILED;
	} else {
		unload(s);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return r;
}

/* ---------- save ---------- */

/* Strings are interned by pointer: each distinct pointer is written once. */
struct strtab {
	const char **keys;
	uint32_t *offs;
	size_t cap, n;
	char *blob;
	size_t len, bcap;
	bool failed;
};

static uint32_t intern(struct strtab *t, const char *s)
{
	size_t h, len;

	if (!s)
		return NOSTR;
	if (t->n * 2 >= t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4096;
		const char **k = calloc(ncap, sizeof(*k));
		uint32_t *o = calloc(ncap, sizeof(*o));

		if (!k || !o) {
			free(k);
			free(o);
			t->failed = true;
			return NOSTR;
		}
		for (size_t i = 0; i < t->cap; i++)
			if (t->keys[i]) {
				size_t j = ((uintptr_t)t->keys[i] >> 3) * 0x9e3779b97f4a7c15ull % ncap;

				while (k[j])
					j = (j + 1) % ncap;
				k[j] = t->keys[i];
				o[j] = t->offs[i];
			}
		free(t->keys);
		free(t->offs);
		t->keys = k;
		t->offs = o;
		t->cap = ncap;
	}
	h = ((uintptr_t)s >> 3) * 0x9e3779b97f4a7c15ull % t->cap;
	while (t->keys[h] && t->keys[h] != s)
		h = (h + 1) % t->cap;
	if (t->keys[h])
		return t->offs[h];
	len = strlen(s) + 1;
	if (t->len + len > UINT32_MAX - 1) {
		t->failed = true;
		return NOSTR;
	}
	if (t->len + len > t->bcap) {
		size_t nb = t->bcap ? t->bcap * 2 : 1 << 16;
		char *b;

		while (nb < t->len + len)
			nb *= 2;
		b = realloc(t->blob, nb);
		if (!b) {
			t->failed = true;
			return NOSTR;
		}
		t->blob = b;
		t->bcap = nb;
	}
	memcpy(t->blob + t->len, s, len);
	t->keys[h] = s;
	t->offs[h] = (uint32_t)t->len;
	t->n++;
	t->len += len;
	return t->offs[h];
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void put_sym(struct f_sym *o, const struct sym_entry *e, struct strtab *t)
{
	*o = (struct f_sym){ .addr = e->addr, .size = e->size, .name = intern(t, e->name),
			     .file = intern(t, e->file), .bind = e->bind, .thumb = e->thumb };
}

int ll_symbolizer_save_cache(struct ll_symbolizer *s, const struct ll_sym_opts *opts)
{
	struct cache_hdr h = { .byte_order = 0x01020304 };
	struct strtab t = { 0 };
	struct f_sym *fs = NULL;
	struct f_range *fr = NULL;
	struct f_cu *fc = NULL;
	struct f_row *frow = NULL;
	struct f_scope *fsc = NULL;
	struct f_seg *fseg = NULL;
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	uint64_t nrows = 0, nscopes = 0, nsegs = 0;
	int fd = -1, r;

	if (s->cached || s->cache_map)
		return 0; /* it came from the cache */
	if (key_of(s, &h.key) < 0)
		return -ENOENT; /* no build-id: nothing safe to key on */
	r = file_name(s, opts, path, sizeof(path), true);
	if (r < 0)
		return r;
	/* The whole index: load every CU not asked about yet. */
	for (size_t i = 0; i < s->ncus; i++) {
		if (!s->cus[i].loaded)
			dwarf_index_load_cu(s, &s->cus[i]);
		nrows += s->cus[i].nrows;
		nscopes += s->cus[i].nscopes;
		nsegs += s->cus[i].nsegs;
	}
	memcpy(h.magic, CACHE_MAGIC, 8);
	h.flags = (s->has_symtab ? 1u : 0u) | (s->has_dwarf ? 2u : 0u);
	h.nsyms = s->nsyms;
	h.nall = s->nall_syms;
	h.nranges = s->ncu_ranges;
	h.ncus = s->ncus;
	h.nrows = nrows;
	h.nscopes = nscopes;
	h.nsegs = nsegs;
	fs = calloc(h.nsyms + h.nall + 1, sizeof(*fs));
	fr = calloc(h.nranges + 1, sizeof(*fr));
	fc = calloc(h.ncus + 1, sizeof(*fc));
	frow = calloc(nrows + 1, sizeof(*frow));
	fsc = calloc(nscopes + 1, sizeof(*fsc));
	fseg = calloc(nsegs + 1, sizeof(*fseg));
	if (!fs || !fr || !fc || !frow || !fsc || !fseg) {
		r = -ENOMEM;
		goto out;
	}
	intern(&t, ""); /* offset 0 is the empty string; the blob is never empty */
	for (size_t i = 0; i < s->nsyms; i++)
		put_sym(&fs[i], &s->syms[i], &t);
	for (size_t i = 0; i < s->nall_syms; i++)
		put_sym(&fs[h.nsyms + i], &s->all_syms[i], &t);
	for (size_t i = 0; i < s->ncu_ranges; i++)
		fr[i] = (struct f_range){ s->cu_ranges[i].lo, s->cu_ranges[i].hi, s->cu_ranges[i].cu, 0 };
	nrows = nscopes = nsegs = 0;
	for (size_t i = 0; i < s->ncus; i++) {
		const struct cu *c = &s->cus[i];

		fc[i] = (struct f_cu){ nrows, c->nrows, nscopes, c->nscopes, nsegs, c->nsegs };
		for (size_t j = 0; j < c->nrows; j++, nrows++)
			frow[nrows] = (struct f_row){ .addr = c->rows[j].addr, .file = intern(&t, c->rows[j].file),
						      .line = c->rows[j].line, .disc = c->rows[j].discriminator,
						      .col = c->rows[j].column, .end = c->rows[j].end_seq };
		for (size_t j = 0; j < c->nscopes; j++, nscopes++)
			fsc[nscopes] = (struct f_scope){ .name = intern(&t, c->scopes[j].name),
							 .call_file = intern(&t, c->scopes[j].call_file),
							 .call_line = c->scopes[j].call_line,
							 .call_col = c->scopes[j].call_column,
							 .parent = c->scopes[j].parent };
		for (size_t j = 0; j < c->nsegs; j++, nsegs++)
			fseg[nsegs] = (struct f_seg){ c->segs[j].lo, c->segs[j].hi, c->segs[j].scope, 0 };
	}
	if (t.failed) {
		r = -ENOMEM;
		goto out;
	}
	h.nstr = t.len;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, &h, sizeof(h));
	if (r == 0)
		r = write_all(fd, fs, (h.nsyms + h.nall) * sizeof(*fs));
	if (r == 0)
		r = write_all(fd, fr, h.nranges * sizeof(*fr));
	if (r == 0)
		r = write_all(fd, fc, h.ncus * sizeof(*fc));
	if (r == 0)
		r = write_all(fd, frow, h.nrows * sizeof(*frow));
	if (r == 0)
		r = write_all(fd, fsc, h.nscopes * sizeof(*fsc));
	if (r == 0)
		r = write_all(fd, fseg, h.nsegs * sizeof(*fseg));
	if (r == 0)
		r = write_all(fd, t.blob, t.len);
	if (close(fd) < 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
out:
	free(fs);
	free(fr);
	free(fc);
	free(frow);
	free(fsc);
	free(fseg);
	free(t.keys);
	free(t.offs);
	free(t.blob);
	return r;
}
