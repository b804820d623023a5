/* record.c: the metadata record of a crash, of bounded size.
 *
 * A record is two files: <id>.json, what `cores list`, gc and the rate limit
 * may read (identity, process description, the core's outcome), and
 * <id>.maps, the process's memory map with the mapped files' identities
 * (thousands of entries, megabytes), read only by the core analysis. The
 * writer moves "maps" out of the object into the side file and leaves
 * "maps_file" and "maps_count" in the record; the record itself is kept
 * under RECORD_MAIN_MAX by dropping the command line (then the cgroup) when
 * a hostile process made them huge, and says so. Readers refuse records
 * larger than their bound (-EFBIG) instead of parsing them: the memory of
 * whoever reads the store stays bounded whatever a record holds.
 *
 * The parser takes bytes (ll_cd_record_parse) so that it can be fuzzed; the
 * loaders read through a verified descriptor (O_NOFOLLOW, regular file,
 * size checked before reading). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"

#define RECORD_MAIN_MAX (1u << 20)  /* what the writer keeps <id>.json under */
#define MAPS_FILE_MAX (16u << 20)   /* the side file (the helper caps it at 8 MiB) */
#define JSON_DEPTH_MAX 16           /* a record nests 4 levels */

int ll_cd_record_parse(const char *buf, size_t len, json_object **out)
{
	struct json_tokener *tok;
	json_object *o;

	*out = NULL;
	if (len > INT32_MAX)
		return -EFBIG;
	tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	/* Whole input, one object: nothing but white space may follow it. */
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && buf[end] && strchr(" \t\r\n", buf[end]))
			end++;
		if (end != len) {
			json_object_put(o);
			o = NULL;
		}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	*out = o;
	return 0;
}

int ll_cd_record_read_fd(int fd, size_t max, json_object **out)
{
	struct stat st;
	char path[64], *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	/* Read through the verified descriptor (no second path lookup). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = ll_read_file(path, max, &text, &len);
	if (r == 0)
		r = ll_cd_record_parse(text, len, out);
	free(text);
	return r;
}

int ll_cd_record_load(int storefd, const char *name, size_t max, json_object **out)
{
	int fd, r;

	*out = NULL;
	fd = openat(storefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	r = ll_cd_record_read_fd(fd, max, out);
	close(fd);
	return r;
}

static size_t text_size(json_object *o)
{
	return strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Keep the record under RECORD_MAIN_MAX: the fields a process can make big
 * go, in this order, each leaving a note. */
static void bound_record(json_object *meta)
{
	static const char *const bulky[] = { "cmdline", "cgroup", "cwd", "exe" };

	for (size_t i = 0; i < LL_ARRAY_SIZE(bulky) && text_size(meta) > RECORD_MAIN_MAX; i++) {
		char key[64];

		json_object_object_add(meta, bulky[i], NULL);
		snprintf(key, sizeof(key), "%s_dropped", bulky[i]);
		json_object_object_add(meta, key, json_object_new_string("the record would exceed 1 MiB"));
	}
}

json_object *ll_cd_record_split(json_object *meta, const char *id, const char *maps_name)
{
	json_object *maps = NULL, *side = NULL;

	if (json_object_object_get_ex(meta, "maps", &maps) && json_object_is_type(maps, json_type_array)) {
		side = json_object_new_object();
		json_object_object_add(side, "id", json_object_new_string(id));
		json_object_object_add(side, "maps", json_object_get(maps));
		json_object_object_add(meta, "maps_file", json_object_new_string(maps_name));
		json_object_object_add(meta, "maps_count",
				       json_object_new_int64((int64_t)json_object_array_length(maps)));
		json_object_object_add(meta, "maps", NULL);
	}
	bound_record(meta);
	return side;
}

void ll_cd_record_unsplit(json_object *meta, json_object *side)
{
	json_object *maps;

	if (!side)
		return;
	if (json_object_object_get_ex(side, "maps", &maps)) {
		json_object_object_add(meta, "maps", json_object_get(maps));
		json_object_object_add(meta, "maps_file", NULL);
		json_object_object_add(meta, "maps_count", NULL);
	}
	json_object_put(side);
}

int ll_cd_record_names(const char *id, char *name, char *maps_name, size_t size)
{
	if (snprintf(name, size, "%s.json", id) >= (int)size ||
	    snprintf(maps_name, size, "%s.maps", id) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int ll_cd_record_write(int storefd, const char *id, json_object *meta, bool noreplace,
		       uid_t share_uid)
{
	char name[300], maps_name[300];
	json_object *side;
	int r;

	r = ll_cd_record_names(id, name, maps_name, sizeof(name));
	if (r < 0)
		return r;
	side = ll_cd_record_split(meta, id, maps_name);
	r = side ? ll_cd_write_json(storefd, maps_name, side, false, share_uid) : 0;
	if (r == 0)
		r = ll_cd_write_json(storefd, name, meta, noreplace, share_uid);
	ll_cd_record_unsplit(meta, side); /* the caller's object as it was */
	return r;
}

int ll_store_entry_maps(int storefd, struct ll_store_entry *e)
{
	json_object *side = NULL, *maps, *v;
	char name[300];
	int r;

	if (json_object_object_get_ex(e->meta, "maps", &maps) && json_object_is_type(maps, json_type_array))
		return 0; /* a record of an older version: the maps are inline */
	if (!json_object_object_get_ex(e->meta, "maps_file", &v) || !v)
		return -ENOENT;
	snprintf(name, sizeof(name), "%s.maps", e->id);
	r = ll_cd_record_load(storefd, name, MAPS_FILE_MAX, &side);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(side, "id", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), e->id) ||
	    !json_object_object_get_ex(side, "maps", &maps) || !json_object_is_type(maps, json_type_array)) {
		json_object_put(side);
		return -EINVAL;
	}
	json_object_object_add(e->meta, "maps", json_object_get(maps));
	json_object_put(side);
	return 0;
}
