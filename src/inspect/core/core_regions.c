/* core_regions.c: the address space at crash time.
 *
 * The core has a PT_LOAD program header for every mapping (with its
 * permissions, even when no byte of it was dumped) and an NT_FILE note naming
 * the file mappings. When the store's metadata is given, its "maps" (the
 * /proc/PID/maps lines read at crash time, with the stat of each mapped file)
 * replace them: they name [stack] and [heap] and carry the inode, size and
 * mtime the "modified in place" diagnosis needs. Regions stay sorted by
 * address; lookups are binary searches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>

#include "common/common.h"
#include "common/escape.h"
#include "lifeline/inspect/maps.h"
#include "core_internal.h"

static int cmp_region(const void *x, const void *y)
{
	const struct core_region *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

static bool json_hex(json_object *o, const char *key, uint64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return false;
	if (json_object_is_type(v, json_type_int)) {
		*out = (uint64_t)json_object_get_int64(v);
		return true;
	}
	return json_object_is_type(v, json_type_string) &&
	       ll_parse_u64(json_object_get_string(v), 1, out) == 0;
}

static bool json_num(json_object *o, const char *key, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return false;
	*out = json_object_get_double(v);
	return true;
}

static unsigned parse_perms(const char *p)
{
	unsigned perms = 0;

	if (!p || strlen(p) < 4)
		return 0;
	if (p[0] == 'r')
		perms |= LL_PERM_READ;
	if (p[1] == 'w')
		perms |= LL_PERM_WRITE;
	if (p[2] == 'x')
		perms |= LL_PERM_EXEC;
	if (p[3] == 's')
		perms |= LL_PERM_SHARED;
	return perms;
}

static int from_metadata(struct core_ctx *c, json_object *maps)
{
	struct ll_core_analysis *a = c->a;
	size_t n = json_object_array_length(maps);

	a->regions = calloc(n ? n : 1, sizeof(*a->regions));
	if (!a->regions)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(maps, i), *v, *f;
		struct core_region *r = &a->regions[a->nregions];
		double d;

		if (!json_object_is_type(m, json_type_object) ||
		    !json_hex(m, "start", &r->start) || !json_hex(m, "end", &r->end) || r->end <= r->start)
			continue;
		json_hex(m, "offset", &r->offset);
		if (json_object_object_get_ex(m, "perms", &v))
			r->perms = parse_perms(json_object_get_string(v));
		if (json_object_object_get_ex(m, "inode", &v) && json_object_is_type(v, json_type_int))
			r->inode = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(m, "path", &v) && json_object_is_type(v, json_type_string)) {
			/* the record's text is escaped (common/escape.h): compare bytes */
			r->path = ll_unescape(json_object_get_string(v), (size_t)json_object_get_string_len(v), NULL);
			if (!r->path)
				return -ENOMEM;
		}
		if (json_object_object_get_ex(m, "deleted", &v))
			r->deleted = json_object_get_boolean(v);
		if (json_object_object_get_ex(m, "file", &f) && json_object_is_type(f, json_type_object)) {
			r->have_stat = json_hex(f, "inode", &r->file_inode) && json_hex(f, "size", &r->file_size);
			if (json_object_object_get_ex(f, "build_id", &v) &&
			    json_object_is_type(v, json_type_string) &&
			    strspn(json_object_get_string(v), "0123456789abcdef") ==
				    strlen(json_object_get_string(v)) &&
			    strlen(json_object_get_string(v)) >= 2 && strlen(json_object_get_string(v)) <= 128) {
				r->file_build_id = core_strdup(json_object_get_string(v));
				if (!r->file_build_id)
					return -ENOMEM;
			}
			if (json_num(f, "mtime", &d))
				r->file_mtime = d;
			else
				r->have_stat = false;
		}
		a->nregions++;
	}
	return 0;
}

static int from_core(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;

	a->regions = calloc(c->nsegs ? c->nsegs : 1, sizeof(*a->regions));
	if (!a->regions)
		return -ENOMEM;
	for (size_t i = 0; i < c->nsegs; i++) {
		struct core_region *r = &a->regions[a->nregions++];
		const struct core_seg *s = &c->segs[i];
		const struct core_nt_file *f;

		r->start = s->vaddr;
		r->end = s->vaddr + s->memsz;
		r->perms = (s->flags & PF_R ? LL_PERM_READ : 0) | (s->flags & PF_W ? LL_PERM_WRITE : 0) |
			   (s->flags & PF_X ? LL_PERM_EXEC : 0);
		f = core_nt_file_at(c, r->start);
		if (f && f->start == r->start) {
			r->path = core_strdup(f->path);
			r->offset = f->file_offset;
			if (!r->path)
				return -ENOMEM;
		}
	}
	qsort(a->regions, a->nregions, sizeof(*a->regions), cmp_region);
	/* name the stacks: the mapping holding each thread's stack pointer */
	for (size_t t = 0; t < c->nprs; t++) {
		uint64_t pc, sp;
		struct core_region *r;

		if (!core_regs_pc_sp(c, &c->prs[t], &pc, &sp))
			continue;
		r = (struct core_region *)core_region_find(a, sp);
		if (r && !r->path && (r->perms & LL_PERM_WRITE)) {
			r->path = c->prs[t].tid == a->pid ? core_printf("[stack]")
							  : core_printf("[stack:%d]", c->prs[t].tid);
			if (!r->path)
				return -ENOMEM;
		}
	}
	return 0;
}

int core_regions_build(struct core_ctx *c)
{
	json_object *maps = NULL;
	int r;

	if (c->opts->metadata && json_object_object_get_ex(c->opts->metadata, "maps", &maps) &&
	    json_object_is_type(maps, json_type_array) && json_object_array_length(maps) > 0) {
		r = from_metadata(c, maps);
		if (r == 0)
			qsort(c->a->regions, c->a->nregions, sizeof(*c->a->regions), cmp_region);
		return r;
	}
	return from_core(c);
}

const struct core_region *core_region_find(const struct ll_core_analysis *a, uint64_t addr)
{
	size_t lo = 0, hi = a->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < a->regions[mid].start)
			hi = mid;
		else if (addr >= a->regions[mid].end)
			lo = mid + 1;
		else
			return &a->regions[mid];
	}
	return NULL;
}

const struct core_region *core_region_above(const struct ll_core_analysis *a, uint64_t addr)
{
	const struct core_region *best = NULL;

	for (size_t i = 0; i < a->nregions; i++)
		if (a->regions[i].start >= addr && (!best || a->regions[i].start < best->start))
			best = &a->regions[i];
	return best;
}
