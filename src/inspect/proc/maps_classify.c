/* maps_classify.c: what each mapping holds, from the map alone.
 *
 * A mapped file is an ELF module when some mapping of the same file (device,
 * inode, path) is executable: the loader maps a module's code executable,
 * while a file mapped as data never is. A module's mappings are then text
 * (x), data (w), rodata (r) or guard (no access: the holes the loader leaves
 * between segments); the anonymous rw mapping right after a module's data is
 * its .bss. Other file mappings are "file", but for "/dev/zero (deleted)",
 * which is how shared anonymous memory shows. Pseudo paths name heap, stack,
 * vdso/vvar/vsyscall; "[anon:NAME]" is anonymous memory. Thread stacks are
 * found later, from the threads' stack pointers (maps_read.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/proc/maps_private.h"

static int cmp_file(const struct ll_map *a, const struct ll_map *b)
{
	if (a->dev_major != b->dev_major)
		return a->dev_major < b->dev_major ? -1 : 1;
	if (a->dev_minor != b->dev_minor)
		return a->dev_minor < b->dev_minor ? -1 : 1;
	if (a->inode != b->inode)
		return a->inode < b->inode ? -1 : 1;
	return strcmp(a->path, b->path);
}

static int cmp_file_ptr(const void *a, const void *b)
{
	return cmp_file(*(const struct ll_map *const *)a, *(const struct ll_map *const *)b);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static enum ll_map_kind pseudo_kind(const char *name)
{
	if (!strcmp(name, "[heap]"))
		return LL_MAP_HEAP;
	if (!strcmp(name, "[stack]") || starts_with(name, "[stack:"))
		return LL_MAP_STACK;
	if (!strcmp(name, "[vdso]") || starts_with(name, "[vvar") || !strcmp(name, "[vsyscall]"))
		return LL_MAP_VDSO;
	if (starts_with(name, "[anon:") || starts_with(name, "[anon_shmem:"))
		return LL_MAP_ANON;
	return LL_MAP_OTHER;
}

static bool is_file(const struct ll_map *m)
{
	return m->path && m->path[0] != '[';
}

int ll_maps_classify(struct ll_maps *maps)
{
	const struct ll_map **exec = NULL;
	size_t nexec = 0;

	for (size_t i = 0; i < maps->n; i++)
		if (is_file(&maps->v[i]) && (maps->v[i].perms & LL_PERM_EXEC))
			nexec++;
	if (nexec) {
		exec = malloc(nexec * sizeof(*exec));
		if (!exec)
			return -ENOMEM;
		nexec = 0;
		for (size_t i = 0; i < maps->n; i++)
			if (is_file(&maps->v[i]) && (maps->v[i].perms & LL_PERM_EXEC))
				exec[nexec++] = &maps->v[i];
		qsort(exec, nexec, sizeof(*exec), cmp_file_ptr);
	}
	for (size_t i = 0; i < maps->n; i++) {
		struct ll_map *m = &maps->v[i];
		const struct ll_map *key = m;
		bool noaccess = !(m->perms & (LL_PERM_READ | LL_PERM_WRITE | LL_PERM_EXEC));

		m->module = false;
		m->stack_tid = 0;
		if (!m->path) {
			const struct ll_map *prev = i ? &maps->v[i - 1] : NULL;

			if (prev && prev->module && prev->path && prev->end == m->start &&
			    (prev->perms & LL_PERM_WRITE) && (m->perms & LL_PERM_READ) &&
			    (m->perms & LL_PERM_WRITE) && !(m->perms & LL_PERM_SHARED)) {
				m->kind = LL_MAP_BSS;
				m->module = true;
			} else {
				m->kind = noaccess ? LL_MAP_GUARD : LL_MAP_ANON;
			}
		} else if (m->path[0] == '[') {
			m->kind = pseudo_kind(m->path);
			if (m->kind == LL_MAP_ANON && noaccess)
				m->kind = LL_MAP_GUARD;
		} else if (exec && bsearch(&key, exec, nexec, sizeof(*exec), cmp_file_ptr)) {
			m->module = true;
			if (m->perms & LL_PERM_EXEC)
				m->kind = LL_MAP_TEXT;
			else if (m->perms & LL_PERM_WRITE)
				m->kind = LL_MAP_DATA;
			else if (m->perms & LL_PERM_READ)
				m->kind = LL_MAP_RODATA;
			else
				m->kind = LL_MAP_GUARD;
		} else if (m->deleted && !strcmp(m->path, "/dev/zero")) {
			m->kind = LL_MAP_ANON; /* how shared anonymous memory shows */
		} else {
			m->kind = LL_MAP_FILE;
		}
	}
	free(exec);
	return 0;
}

const char *ll_map_kind_name(enum ll_map_kind kind)
{
	static const char *const names[] = {
		[LL_MAP_TEXT] = "text", [LL_MAP_RODATA] = "rodata", [LL_MAP_DATA] = "data",
		[LL_MAP_BSS] = "bss", [LL_MAP_HEAP] = "heap", [LL_MAP_STACK] = "stack",
		[LL_MAP_ANON] = "anon", [LL_MAP_FILE] = "file", [LL_MAP_VDSO] = "vdso",
		[LL_MAP_OTHER] = "other", [LL_MAP_GUARD] = "guard",
	};

	if ((unsigned)kind >= sizeof(names) / sizeof(names[0]) || !names[kind])
		return "unknown";
	return names[kind];
}

const struct ll_map *ll_maps_module_map(const struct ll_maps *maps, const struct ll_map *map)
{
	if (!maps || !map || !map->module || map < maps->v || map >= maps->v + maps->n)
		return NULL;
	if (map->path)
		return map;
	/* .bss: the module's mapping just before it */
	if (map > maps->v && map[-1].module && map[-1].path)
		return &map[-1];
	return NULL;
}
