/* escape.c: the one policy for untrusted text (see escape.h for the table).
 *
 * One decoder (ll_utf8_decode) feeds one step (unit()), which turns the
 * character or byte at the cursor into the text to write; the buffer,
 * malloc and JSON front ends only differ in where that text goes and where
 * it is cut. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/escape.h"

/* Longest text unit() writes: "\u{10ffff}". */
#define UNIT_MAX 10

size_t ll_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t v, min;
	size_t n;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0; /* a continuation byte, an overlong 2-byte lead, past U+10FFFF */
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
	if (len < n)
		return 0;
	v = p[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Code points at or above U+0080 written as \u{...} on a terminal: the C1
 * controls, the line and paragraph separators and every format character
 * (Unicode general category Cf, which holds the bidi controls). Sorted. */
static const struct {
	uint32_t lo, hi;
} hidden[] = {
	{ 0x0080, 0x009f },   /* C1 controls */
	{ 0x00ad, 0x00ad },   /* soft hyphen */
	{ 0x0600, 0x0605 },   /* Arabic number signs */
	{ 0x061c, 0x061c },   /* Arabic letter mark (bidi) */
	{ 0x06dd, 0x06dd },
	{ 0x070f, 0x070f },
	{ 0x0890, 0x0891 },
	{ 0x08e2, 0x08e2 },
	{ 0x180e, 0x180e },   /* Mongolian vowel separator */
	{ 0x200b, 0x200f },   /* zero-width space/joiners, LRM, RLM */
	{ 0x2028, 0x202e },   /* line/paragraph separators, bidi embeddings and overrides */
	{ 0x2060, 0x206f },   /* word joiner, invisible operators, bidi isolates */
	{ 0xfeff, 0xfeff },   /* zero-width no-break space (BOM) */
	{ 0xfff9, 0xfffb },   /* interlinear annotation */
	{ 0x110bd, 0x110bd },
	{ 0x110cd, 0x110cd },
	{ 0x13430, 0x1343f }, /* Egyptian hieroglyph format controls */
	{ 0x1bca0, 0x1bca3 }, /* shorthand format controls */
	{ 0x1d173, 0x1d17a }, /* musical symbol format controls */
	{ 0xe0001, 0xe0001 }, /* language tag */
	{ 0xe0020, 0xe007f }, /* tag characters */
};

static bool hidden_cp(uint32_t cp)
{
	for (size_t i = 0; i < LL_ARRAY_SIZE(hidden) && cp >= hidden[i].lo; i++)
		if (cp <= hidden[i].hi)
			return true;
	return false;
}

static bool lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static size_t hex_byte(char *out, unsigned char b)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[b >> 4];
	out[3] = hex[b & 15];
	return 4;
}

static size_t hex_cp(char *out, uint32_t cp)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, digits = cp > 0xfffff ? 6 : cp > 0xffff ? 5 : 4;

	out[n++] = '\\';
	out[n++] = 'u';
	out[n++] = '{';
	for (size_t d = digits; d-- > 0;)
		out[n++] = hex[(cp >> (4 * d)) & 15];
	out[n++] = '}';
	return n;
}

/* The character or byte at s[0..len) (len > 0) under flags: its written form
 * in out (UNIT_MAX bytes) and its length in *outlen, or out untouched and
 * *outlen the input length when it is kept as it is. Returns the bytes of s
 * consumed. *kept tells which. */
static size_t unit(const char *s, size_t len, unsigned flags, char out[UNIT_MAX], size_t *outlen,
		   bool *kept)
{
	unsigned char b = (unsigned char)s[0];
	uint32_t cp;
	size_t n = ll_utf8_decode(s, len, &cp);

	*kept = false;
	if (n == 0 || b == 0) {
		*outlen = hex_byte(out, b);
		return 1;
	}
	if (b == '\\' && (flags & LL_ESC_FROM_JSON) && !(flags & LL_ESC_JSON)) {
		/* an escape LL_ESC_JSON wrote stands for what the terminal
		 * policy writes the same way: \\ for a backslash, \xHH for a
		 * byte that was NUL or not UTF-8 */
		size_t e = len >= 2 && s[1] == '\\' ? 2 : len >= 4 && s[1] == 'x' && lhex(s[2]) && lhex(s[3]) ? 4 : 0;

		if (e) {
			memcpy(out, s, e);
			*outlen = e;
			return e;
		}
	}
	if (b == '\\') {
		out[0] = out[1] = '\\';
		*outlen = 2;
		return 1;
	}
	if (flags & LL_ESC_JSON) {
		/* everything else that is valid is carried exactly */
	} else if (b < 0x20 || b == 0x7f) {
		*outlen = hex_byte(out, b);
		return 1;
	} else if (n > 1 && hidden_cp(cp)) {
		*outlen = hex_cp(out, cp);
		return n;
	}
	*kept = true;
	*outlen = n;
	return n;
}

bool ll_escape_needed(const char *s, size_t len, unsigned flags)
{
	for (size_t i = 0; s && i < len;) {
		char u[UNIT_MAX];
		size_t ul;
		bool kept;

		i += unit(s + i, len - i, flags, u, &ul, &kept);
		if (!kept)
			return true;
	}
	return false;
}

/* The escaping proper: s[0..len) into out, at most max_bytes bytes and
 * max_chars characters (an escape counts its length); past either, cut
 * after the last character that leaves room for "...". Returns the bytes
 * written (no NUL). */
static size_t escape(const char *s, size_t len, unsigned flags, char *out, size_t max_bytes,
		     size_t max_chars)
{
	size_t i = 0, o = 0, chars = 0, cut = 0, dots;

	while (s && i < len) {
		char u[UNIT_MAX];
		size_t ul, used, w, wc;
		bool kept;

		used = unit(s + i, len - i, flags, u, &ul, &kept);
		w = kept ? used : ul;
		wc = kept ? 1 : ul;
		if (o + 3 <= max_bytes && chars + 3 <= max_chars)
			cut = o;
		if (o + w > max_bytes || chars + wc > max_chars) {
			dots = max_bytes < 3 ? max_bytes : max_chars < 3 ? max_chars : 3;
			memcpy(out + cut, "...", dots);
			return cut + dots;
		}
		memcpy(out + o, kept ? s + i : u, w);
		o += w;
		chars += wc;
		i += used;
	}
	return o;
}

const char *ll_escape_buf(const char *s, size_t len, unsigned flags, char *buf, size_t size)
{
	if (!size)
		return buf;
	buf[escape(s, len, flags, buf, size - 1, SIZE_MAX)] = '\0';
	return buf;
}

const char *ll_esc(const char *s, char *buf, size_t size)
{
	return ll_escape_buf(s, s ? strlen(s) : 0, 0, buf, size);
}

char *ll_escape(const char *s, size_t len, unsigned flags, size_t width)
{
	/* at most 4 output bytes per input byte: \xHH for one, \u{HHHH} for
	 * two or three, \u{HHHHH} for four */
	size_t cap = len > (SIZE_MAX - 4) / 4 ? SIZE_MAX : 4 * len + 4;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[escape(s, len, flags, out, cap - 1, width ? width : SIZE_MAX)] = '\0';
	return out;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

char *ll_unescape(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\\') {
			out[o++] = '\\';
			i += 2;
		} else if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' && lhex(s[i + 2]) && lhex(s[i + 3])) {
			out[o++] = (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
			i += 4;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

json_object *ll_json_str_len(const char *s, size_t len)
{
	json_object *j;
	char *e;

	if (!s || len > INT_MAX / 4)
		return NULL;
	if (!ll_escape_needed(s, len, LL_ESC_JSON))
		return json_object_new_string_len(s, (int)len);
	e = ll_escape(s, len, LL_ESC_JSON, 0);
	if (!e)
		return NULL;
	j = json_object_new_string(e);
	free(e);
	return j;
}

json_object *ll_json_str(const char *s)
{
	return s ? ll_json_str_len(s, strlen(s)) : NULL;
}
