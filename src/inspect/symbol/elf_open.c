/* elf_open.c: open a module with libelf, read its build-id and find its
 * separate debug file.
 *
 * The debug file is looked for, in order, by build-id
 * (<root>/.build-id/xx/yyyy.debug for each debug root) and by .gnu_debuglink
 * (the module's directory, its .debug/ subdirectory, <root>/<module dir>/).
 * A candidate is accepted only when it is an ELF file whose build-id (when
 * both have one) equals the module's and which carries DWARF or a symbol
 * table. Roots: the caller's, $LIFELINE_DEBUG_DIRS, /usr/lib/debug. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <elfutils/libdwelf.h>

#include "symbol_internal.h"

#define DEFAULT_DEBUG_ROOT "/usr/lib/debug"
#define MAX_ROOTS 32

int sym_read_build_id(Elf *elf, uint8_t *buf, size_t size, size_t *len)
{
	const void *p = NULL;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &p);

	*len = 0;
	if (n <= 0 || !p)
		return -ENODATA;
	if ((size_t)n > size)
		n = (ssize_t)size;
	memcpy(buf, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* The section called name, or NULL. */
static Elf_Scn *find_section(Elf *elf, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Whether elf has a section of that name holding real bytes (not NOBITS). */
static bool has_data_section(Elf *elf, const char *name)
{
	Elf_Scn *scn = find_section(elf, name);
	GElf_Shdr sh;

	return scn && gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS && sh.sh_size > 0;
}

/* Open path as a debug-file candidate for s. Returns 0 and sets
 * s->debug_* when it fits. */
static int try_debug_file(struct ll_symbolizer *s, const char *path, const char *how)
{
	struct stat st_mod, st_dbg;
	uint8_t bid[64];
	size_t bid_len = 0;
	Elf *elf = NULL;
	int fd, r = -ENOENT;

	if (stat(path, &st_dbg) < 0 || !S_ISREG(st_dbg.st_mode))
		return -ENOENT; /* only regular files are opened (see ll_symbolizer_open) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st_dbg) < 0 || !S_ISREG(st_dbg.st_mode))
		goto out;
	/* A debuglink naming the module itself (same directory) is no help. */
	if (fstat(s->fd, &st_mod) == 0 && st_mod.st_dev == st_dbg.st_dev &&
	    st_mod.st_ino == st_dbg.st_ino)
		goto out;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	if (s->build_id_len > 0 && sym_read_build_id(elf, bid, sizeof(bid), &bid_len) == 0 &&
	    (bid_len != s->build_id_len || memcmp(bid, s->build_id, bid_len)))
		goto out; /* a debug file of another build */
	if (!has_data_section(elf, ".debug_info") && !has_data_section(elf, ".symtab"))
		goto out;
	s->debug_path = strdup(path);
	if (!s->debug_path) {
		r = -ENOMEM;
		goto out;
	}
	s->debug_fd = fd;
	s->debug_elf = elf;
	s->debug_how = how;
	return 0;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return r;
}

/* Collect the debug roots into roots[] (strings owned by opts, env copy or
 * literals); *envcopy is a malloc'ed copy of $LIFELINE_DEBUG_DIRS to free. */
static size_t debug_roots(const struct ll_sym_opts *opts, const char **roots, char **envcopy)
{
	size_t n = 0;
	const char *env;

	*envcopy = NULL;
	if (opts && opts->debug_dirs)
		for (size_t i = 0; opts->debug_dirs[i] && n < MAX_ROOTS; i++)
			roots[n++] = opts->debug_dirs[i];
	if (opts && (opts->flags & LL_SYM_ONLY_GIVEN_DIRS))
		return n;
	env = getenv("LIFELINE_DEBUG_DIRS");
	if (env && *env && (*envcopy = strdup(env))) {
		char *save = NULL;

		for (char *t = strtok_r(*envcopy, ":", &save); t && n < MAX_ROOTS;
		     t = strtok_r(NULL, ":", &save))
			roots[n++] = t;
	}
	if (n < MAX_ROOTS)
		roots[n++] = DEFAULT_DEBUG_ROOT;
	return n;
}

static int find_by_build_id(struct ll_symbolizer *s, const char **roots, size_t nroots)
{
	char hex[2 * sizeof(s->build_id) + 1];
	char path[PATH_MAX];

	if (s->build_id_len < 2)
		return -ENOENT;
	for (size_t i = 0; i < s->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", s->build_id[i]);
	for (size_t i = 0; i < nroots; i++) {
		int n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", roots[i], hex,
				 hex + 2);

		if (n > 0 && (size_t)n < sizeof(path) && try_debug_file(s, path, "build-id") == 0)
			return 0;
	}
	return -ENOENT;
}

static int find_by_debuglink(struct ll_symbolizer *s, const char **roots, size_t nroots,
			     bool only_roots)
{
	GElf_Word crc;
	const char *link = dwelf_elf_gnu_debuglink(s->elf, &crc);
	char dir[PATH_MAX], path[PATH_MAX];
	char *slash;
	int n;

	if (!link || !*link || strchr(link, '/') || strlen(link) > NAME_MAX)
		return -ENOENT;
	/* The module's directory, made absolute so <root>/<dir>/ works. */
	if (s->path[0] == '/') {
		snprintf(dir, sizeof(dir), "%s", s->path);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return -ENOENT;
		n = snprintf(dir, sizeof(dir), "%s/%s", cwd, s->path);
		if (n < 0 || (size_t)n >= sizeof(dir))
			return -ENOENT;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (!only_roots) {
		n = snprintf(path, sizeof(path), "%s/%s", dir, link);
		if (n > 0 && (size_t)n < sizeof(path) && try_debug_file(s, path, "debuglink") == 0)
			return 0;
		n = snprintf(path, sizeof(path), "%s/.debug/%s", dir, link);
		if (n > 0 && (size_t)n < sizeof(path) && try_debug_file(s, path, "debuglink") == 0)
			return 0;
	}
	for (size_t i = 0; i < nroots; i++) {
		n = snprintf(path, sizeof(path), "%s%s/%s", roots[i], dir, link);
		if (n > 0 && (size_t)n < sizeof(path) && try_debug_file(s, path, "debuglink") == 0)
			return 0;
	}
	return -ENOENT;
}

/* elf_version() sets libelf's global state: once, whatever thread opens. */
static pthread_once_t version_once = PTHREAD_ONCE_INIT;
static bool version_ok;

static void init_version(void)
{
	version_ok = elf_version(EV_CURRENT) != EV_NONE;
}

int sym_open_elf(struct ll_symbolizer *s, int fd, const char *name, const struct ll_sym_opts *opts)
{
	const char *roots[MAX_ROOTS];
	char *envcopy = NULL;
	size_t nroots;
	int r;

	s->fd = fd;
	s->debug_fd = -1;
	s->path = strdup(name ? name : "(fd)");
	if (!s->path)
		return -ENOMEM;
	pthread_once(&version_once, init_version);
	if (!version_ok)
		return -ENOEXEC;
	s->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!s->elf || elf_kind(s->elf) != ELF_K_ELF || !gelf_getehdr(s->elf, &s->ehdr))
		return -ENOEXEC;
	sym_read_build_id(s->elf, s->build_id, sizeof(s->build_id), &s->build_id_len);

	if (has_data_section(s->elf, ".debug_info")) {
		s->debug_how = "embedded";
		return 0;
	}
	if (opts && (opts->flags & LL_SYM_NO_DEBUG_SEARCH))
		return 0;
	nroots = debug_roots(opts, roots, &envcopy);
	r = find_by_build_id(s, roots, nroots);
	if (r < 0)
		r = find_by_debuglink(s, roots, nroots,
				      opts && (opts->flags & LL_SYM_ONLY_GIVEN_DIRS));
	free(envcopy);
	(void)r; /* no debug file is not an error: symbols alone still answer */
	return 0;
}
