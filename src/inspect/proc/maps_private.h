/* maps_private.h: what the /proc readers share between their files and hide
 * from users of <lifeline/inspect/maps.h>: the private part of struct
 * ll_maps (the /proc/PID directory kept open for map_files and mem, and the
 * per-module ELF facts ll_maps_resolve() caches). */
#ifndef LL_INSPECT_MAPS_PRIVATE_H
#define LL_INSPECT_MAPS_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeline/inspect/maps.h"

/* One PT_LOAD program header. */
struct ll_load_seg {
	uint64_t offset, vaddr, filesz, memsz;
	uint32_t flags; /* PF_R/PF_W/PF_X */
};

/* What ll_maps_resolve() needs from one module's ELF file, read once. */
struct ll_module_elf {
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char *path;             /* key, with the device and inode */
	int err;                /* < 0: reading failed with this error (cached too) */
	uint16_t type, machine;
	size_t nload;
	struct ll_load_seg *load;
	uint8_t build_id[64];
	size_t build_id_len;
};

struct ll_maps_private {
	int dirfd;              /* /proc/PID, or -1 for parsed text */
	pthread_mutex_t lock;   /* guards the cache below */
	struct ll_module_elf *mods;
	size_t nmods, capmods;
	size_t last;            /* index of the module found last (batches of
	                           addresses tend to stay in one module) */
};

/* Largest maps / smaps text read from /proc (65530 mappings at most by
 * default vm.max_map_count; smaps is ~1 KiB a mapping). */
#define LL_MAPS_MAX_TEXT ((size_t)32 << 20)
#define LL_SMAPS_MAX_TEXT ((size_t)256 << 20)

/* Classify every entry from the text alone (maps_classify.c). 0 or -ENOMEM. */
int ll_maps_classify(struct ll_maps *maps);

/* True for the kinds that are a module's file mappings. */
static inline bool ll_map_is_module_kind(enum ll_map_kind k)
{
	return k == LL_MAP_TEXT || k == LL_MAP_RODATA || k == LL_MAP_DATA;
}

/* Free the private part (maps_resolve.c). NULL is allowed. */
void ll_maps_private_free(struct ll_maps_private *priv);

/* A new private part owning dirfd (may be -1). NULL on ENOMEM. */
struct ll_maps_private *ll_maps_private_new(int dirfd);

#endif
