/* fuzz_maps.c: libFuzzer target over ll_maps_parse(), the reader of
 * /proc/PID/maps and smaps text (which the kernel writes, but which tests,
 * stored core metadata and users hand us too). The first byte picks maps or
 * smaps mode; the rest is the text. Each parsed map is then walked: lookups,
 * totals and resolve (which must refuse, not open, pseudo and anonymous
 * mappings), so classification and search run on every accepted input.
 *
 *   ./dev.sh fuzz maps 60       (seeds: fuzz/corpus/maps) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lifeline/inspect/maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ll_maps *maps = NULL;
	struct ll_maps_total *tot = NULL;
	size_t ntot = 0;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = (data[0] & 1) ? LL_MAPS_SMAPS : 0;
	if (ll_maps_parse((const char *)data + 1, size - 1, flags, &maps) != 0)
		return 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct ll_map *m = &maps->v[i];

		if (ll_maps_find(maps, m->start) != m || ll_maps_find(maps, m->end - 1) != m)
			abort();
		if (m->kind == LL_MAP_BSS && !ll_maps_module_map(maps, m))
			abort();
		(void)ll_map_kind_name(m->kind);
		/* resolve only what cannot touch the file system: the fuzzer's
		 * paths must not be opened */
		if (!m->module) {
			struct ll_addr_info ai;

			if (ll_maps_resolve(maps, m->start, &ai) == 0)
				abort();
		}
	}
	if (ll_maps_summarize(maps, &tot, &ntot) == 0)
		free(tot);
	ll_maps_free(maps);
	return 0;
}
