/* maps_parse.c: the text of /proc/PID/maps and /proc/PID/smaps -> struct
 * ll_maps.
 *
 * A maps line is "START-END PERMS OFFSET MAJ:MIN INODE [PATH]" (hex, hex,
 * "rwxp", hex, hex:hex, decimal, then everything to the end of the line,
 * spaces included; a trailing " (deleted)" is cut off and flagged). smaps
 * adds "Key: value [kB]" lines after each header and a "VmFlags:" line.
 * The parser walks the text once, strictly: any line that is neither gives
 * -EINVAL, so do entries out of address order (lookups binary-search). The
 * text need not be NUL-terminated and may hold any byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/proc/maps_private.h"

/* A cursor over one line [p, end). */
struct cur {
	const char *p, *end;
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return (unsigned)(c - 'A' + 10);
}

/* 1 to 16 hex digits. */
static int take_hex(struct cur *c, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0;

	while (c->p < c->end && is_hex(*c->p)) {
		if (++n > 16)
			return -EINVAL;
		v = (v << 4) | hex_val(*c->p++);
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* 1 to 20 decimal digits, no overflow. */
static int take_dec(struct cur *c, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p++ - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int take_char(struct cur *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return -EINVAL;
	c->p++;
	return 0;
}

/* One or more spaces (the kernel pads with spaces only). */
static int take_spaces(struct cur *c)
{
	if (c->p >= c->end || *c->p != ' ')
		return -EINVAL;
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	return 0;
}

static int take_perms(struct cur *c, unsigned *out)
{
	static const char want[4][2] = { { 'r', '-' }, { 'w', '-' }, { 'x', '-' }, { 's', 'p' } };
	static const unsigned bit[4] = { LL_PERM_READ, LL_PERM_WRITE, LL_PERM_EXEC, LL_PERM_SHARED };
	unsigned perms = 0;

	if (c->end - c->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char ch = c->p[i];

		if (ch == want[i][0])
			perms |= bit[i];
		else if (ch != want[i][1])
			return -EINVAL;
	}
	c->p += 4;
	*out = perms;
	return 0;
}

/* The header line of a mapping. Fills m (path malloc'ed). */
static int parse_header(struct cur c, struct ll_map *m)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	uint64_t maj, min;
	size_t plen;

	if (take_hex(&c, &m->start) < 0 || take_char(&c, '-') < 0 || take_hex(&c, &m->end) < 0 ||
	    take_spaces(&c) < 0 || take_perms(&c, &m->perms) < 0 || take_spaces(&c) < 0 ||
	    take_hex(&c, &m->offset) < 0 || take_spaces(&c) < 0 || take_hex(&c, &maj) < 0 ||
	    take_char(&c, ':') < 0 || take_hex(&c, &min) < 0 || take_spaces(&c) < 0 ||
	    take_dec(&c, &m->inode) < 0)
		return -EINVAL;
	if (m->end <= m->start || maj > 0xfff || min > 0xfffff)
		return -EINVAL;
	m->dev_major = (unsigned)maj;
	m->dev_minor = (unsigned)min;
	if (c.p == c.end)
		return 0;
	if (take_spaces(&c) < 0)
		return -EINVAL;
	if (c.p == c.end)
		return 0; /* anonymous, with the kernel's trailing space */
	plen = (size_t)(c.end - c.p);
	if (memchr(c.p, '\0', plen))
		return -EINVAL;
	if (plen > dlen && !memcmp(c.end - dlen, deleted, dlen)) {
		m->deleted = true;
		plen -= dlen;
	}
	m->path = strndup(c.p, plen);
	return m->path ? 0 : -ENOMEM;
}

/* smaps keys with a "N kB" value, and where they go. */
struct kb_field {
	const char *key;
	size_t off;
};

#define F(k, f) { k, offsetof(struct ll_map, f) }
static const struct kb_field kb_fields[] = {
	F("Size", size_smaps), F("KernelPageSize", kernel_page_size), F("MMUPageSize", mmu_page_size),
	F("Rss", rss), F("Pss", pss), F("Pss_Dirty", pss_dirty), F("Pss_Anon", pss_anon),
	F("Pss_File", pss_file), F("Pss_Shmem", pss_shmem), F("Shared_Clean", shared_clean),
	F("Shared_Dirty", shared_dirty), F("Private_Clean", private_clean),
	F("Private_Dirty", private_dirty), F("Referenced", referenced), F("Anonymous", anonymous),
	F("KSM", ksm), F("LazyFree", lazy_free), F("AnonHugePages", anon_huge_pages),
	F("ShmemPmdMapped", shmem_pmd_mapped), F("FilePmdMapped", file_pmd_mapped),
	F("Shared_Hugetlb", shared_hugetlb), F("Private_Hugetlb", private_hugetlb),
	F("Swap", swap), F("SwapPss", swap_pss), F("Locked", locked),
};
#undef F

static bool key_is(const char *k, size_t klen, const char *want)
{
	return strlen(want) == klen && !memcmp(k, want, klen);
}

/* "Key:" then spaces then a value. Returns 1 when the line has that shape,
 * 0 when it does not look like a field line at all. */
static int split_field(struct cur c, const char **key, size_t *klen, struct cur *val)
{
	const char *k = c.p;

	while (c.p < c.end && ((*c.p >= 'A' && *c.p <= 'Z') || (*c.p >= 'a' && *c.p <= 'z') ||
			       (*c.p >= '0' && *c.p <= '9') || *c.p == '_'))
		c.p++;
	if (c.p == k || c.p >= c.end || *c.p != ':')
		return 0;
	*key = k;
	*klen = (size_t)(c.p - k);
	c.p++;
	while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
		c.p++;
	*val = c;
	return 1;
}

/* One smaps field line for mapping m. */
static int parse_field(const char *key, size_t klen, struct cur v, struct ll_map *m)
{
	uint64_t num;

	if (key_is(key, klen, "VmFlags")) {
		if (m->vm_flags)
			return -EINVAL;
		while (v.end > v.p && v.end[-1] == ' ')
			v.end--;
		if (memchr(v.p, '\0', (size_t)(v.end - v.p)))
			return -EINVAL;
		m->vm_flags = strndup(v.p, (size_t)(v.end - v.p));
		return m->vm_flags ? 0 : -ENOMEM;
	}
	if (key_is(key, klen, "THPeligible") || key_is(key, klen, "ProtectionKey")) {
		if (take_dec(&v, &num) < 0 || v.p != v.end || num > 0x7fffffff)
			return -EINVAL;
		if (key[0] == 'T')
			m->thp_eligible = (int)num;
		else
			m->protection_key = (int)num;
		return 0;
	}
	for (size_t i = 0; i < sizeof(kb_fields) / sizeof(kb_fields[0]); i++) {
		if (!key_is(key, klen, kb_fields[i].key))
			continue;
		if (take_dec(&v, &num) < 0 || take_spaces(&v) < 0 || v.end - v.p != 2 ||
		    memcmp(v.p, "kB", 2) != 0 || num > (UINT64_MAX >> 10))
			return -EINVAL;
		*(uint64_t *)((char *)m + kb_fields[i].off) = num << 10;
		return 0;
	}
	/* A field this parser does not know (a newer kernel): its shape was
	 * checked, its value is ignored. */
	return 0;
}

static int push_entry(struct ll_maps *maps, size_t *cap)
{
	if (maps->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct ll_map *nv = realloc(maps->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		maps->v = nv;
		*cap = ncap;
	}
	memset(&maps->v[maps->n], 0, sizeof(maps->v[0]));
	maps->v[maps->n].thp_eligible = -1;
	maps->v[maps->n].protection_key = -1;
	maps->n++;
	return 0;
}

int ll_maps_parse(const char *text, size_t len, unsigned flags, struct ll_maps **out)
{
	struct ll_maps *maps;
	const char *p = text, *end = text + len;
	size_t cap = 0;
	int r = 0;

	if (!out || (!text && len))
		return -EINVAL;
	*out = NULL;
	maps = calloc(1, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	maps->priv = ll_maps_private_new(-1);
	if (!maps->priv) {
		r = -ENOMEM;
		goto out;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct cur line = { p, nl ? nl : end };
		const char *key;
		size_t klen;
		struct cur val;

		p = nl ? nl + 1 : end;
		if (line.p == line.end) {
			r = -EINVAL; /* empty lines appear in neither file */
			goto out;
		}
		if ((flags & LL_MAPS_SMAPS) && split_field(line, &key, &klen, &val)) {
			if (maps->n == 0) {
				r = -EINVAL;
				goto out;
			}
			r = parse_field(key, klen, val, &maps->v[maps->n - 1]);
			if (r < 0)
				goto out;
			continue;
		}
		r = push_entry(maps, &cap);
		if (r < 0)
			goto out;
		r = parse_header(line, &maps->v[maps->n - 1]);
		if (r < 0)
			goto out;
		if (maps->n > 1 && maps->v[maps->n - 1].start < maps->v[maps->n - 2].end) {
			r = -EINVAL;
			goto out;
		}
	}
	r = ll_maps_classify(maps);
	if (r < 0)
		goto out;
	*out = maps;
	maps = NULL;
out:
	ll_maps_free(maps);
	return r;
}
