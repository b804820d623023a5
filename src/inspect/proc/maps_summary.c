/* maps_summary.c: per-module and per-kind totals of a map.
 *
 * One pass over the (address-sorted) map: a module's file mappings and its
 * .bss go to the module's row (keyed by path, device and inode, so an old,
 * deleted version of a library and its replacement are two rows), other
 * files to their own rows, everything else to one row per kind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/proc/maps_private.h"

static const enum ll_map_kind kind_rows[] = {
	LL_MAP_HEAP, LL_MAP_STACK, LL_MAP_ANON, LL_MAP_VDSO, LL_MAP_GUARD, LL_MAP_OTHER,
};
static const char *const kind_row_names[] = {
	"[heap]", "[stack]", "[anon]", "[vdso]", "[guard]", "[other]",
};

static void add(struct ll_maps_total *t, const struct ll_map *m)
{
	t->nmaps++;
	t->size += m->end - m->start;
	t->rss += m->rss;
	t->pss += m->pss;
	t->swap += m->swap;
}

int ll_maps_summarize(const struct ll_maps *maps, struct ll_maps_total **out, size_t *n)
{
	const size_t nkinds = sizeof(kind_rows) / sizeof(kind_rows[0]);
	struct ll_maps_total *rows, kinds[sizeof(kind_rows) / sizeof(kind_rows[0])];
	const struct ll_map **keys; /* the first mapping of each file row */
	size_t nrows = 0;
	int r = 0;

	if (!maps || !out || !n)
		return -EINVAL;
	rows = calloc(maps->n + nkinds + 1, sizeof(*rows));
	keys = calloc(maps->n + 1, sizeof(*keys));
	if (!rows || !keys) {
		r = -ENOMEM;
		goto out;
	}
	memset(kinds, 0, sizeof(kinds));
	for (size_t i = 0; i < maps->n; i++) {
		const struct ll_map *m = &maps->v[i];
		const struct ll_map *f = ll_maps_module_map(maps, m);
		size_t j;

		if (!f && m->kind == LL_MAP_FILE)
			f = m; /* a file that is not a module */
		if (!f) {
			for (j = 0; j < nkinds; j++)
				if (kind_rows[j] == m->kind)
					break;
			if (j == nkinds)
				j = nkinds - 1; /* other */
			add(&kinds[j], m);
			continue;
		}
		/* Rows of one file are few and usually the last one: search back. */
		for (j = nrows; j > 0; j--) {
			const struct ll_map *k = keys[j - 1];

			if (k->inode == f->inode && k->dev_major == f->dev_major &&
			    k->dev_minor == f->dev_minor && !strcmp(k->path, f->path))
				break;
		}
		if (j == 0) {
			keys[nrows] = f;
			rows[nrows].name = f->path;
			rows[nrows].kind = f->module ? LL_MAP_TEXT : LL_MAP_FILE;
			rows[nrows].deleted = f->deleted;
			j = ++nrows;
		}
		add(&rows[j - 1], m);
	}
	for (size_t k = 0; k < nkinds; k++) {
		if (!kinds[k].nmaps)
			continue;
		kinds[k].name = kind_row_names[k];
		kinds[k].kind = kind_rows[k];
		rows[nrows++] = kinds[k];
	}
	*out = rows;
	*n = nrows;
	rows = NULL;
out:
	free(rows);
	free(keys);
	return r;
}
