/* test_escape.c: the one policy for untrusted text (src/common/escape.c),
 * one table row at a time, in both modes, plus the decoder's edge cases and
 * the cut with "...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/escape.h"

/* s[0..len) escaped for a terminal (a large buffer). */
static const char *term(const char *s, size_t len)
{
	static char buf[512];

	return ll_escape_buf(s, len, 0, buf, sizeof(buf));
}
#define T(lit) term(lit, sizeof(lit) - 1)

/* The JSON text json-c writes for the string s[0..len). */
static char *json(const char *s, size_t len)
{
	json_object *o = ll_json_str_len(s, len);
	char *t;

	assert_non_null(o);
	t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return t;
}

static void test_decoder(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(ll_utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(ll_utf8_decode("\xc2\x9b", 2, &cp), 2);
	assert_int_equal(cp, 0x9b);
	assert_int_equal(ll_utf8_decode("\xe2\x80\xae", 3, &cp), 3);
	assert_int_equal(cp, 0x202e);
	assert_int_equal(ll_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(ll_utf8_decode("", 0, &cp), 0);               /* nothing */
	assert_int_equal(ll_utf8_decode("\x9b", 1, &cp), 0);           /* lone C1 byte */
	assert_int_equal(ll_utf8_decode("\xc0\xaf", 2, &cp), 0);       /* overlong '/' */
	assert_int_equal(ll_utf8_decode("\xe0\x80\xaf", 3, &cp), 0);   /* overlong, 3 bytes */
	assert_int_equal(ll_utf8_decode("\xed\xa0\x80", 3, &cp), 0);   /* surrogate */
	assert_int_equal(ll_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* past U+10FFFF */
	assert_int_equal(ll_utf8_decode("\xe2\x80", 2, &cp), 0);       /* truncated */
	assert_int_equal(ll_utf8_decode("\xe2\x41\xae", 3, &cp), 0);   /* bad continuation */
	assert_int_equal(ll_utf8_decode("\xff", 1, &cp), 0);
}

static void test_terminal_policy(void **state)
{
	(void)state;
	/* printable ASCII and ordinary UTF-8 (accents, CJK, emoji) are kept */
	assert_string_equal(T("plain /usr/bin/x y"), "plain /usr/bin/x y");
	assert_string_equal(T("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
	/* C0 (newline and tab too) and DEL: \xHH */
	assert_string_equal(T("a\nb\tc\rd\x1b[31me\x07\x7f"), "a\\x0ab\\x09c\\x0dd\\x1b[31me\\x07\\x7f");
	assert_string_equal(term("a\0b", 3), "a\\x00b");
	/* backslash: \\, so every backslash on screen starts an escape */
	assert_string_equal(T("C:\\x41"), "C:\\\\x41");
	/* C1 as UTF-8 (U+009B is a CSI) and the lone byte 0x9b */
	assert_string_equal(T("\xc2\x9b" "31m"), "\\u{009b}31m");
	assert_string_equal(T("\x9b" "31m"), "\\x9b31m");
	/* bidi controls and the other invisible format characters */
	assert_string_equal(T("\xe2\x80\xae" "gpj.exe"), "\\u{202e}gpj.exe");
	assert_string_equal(T("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u{2066}x\\u{2069}");
	assert_string_equal(T("\xd8\x9c"), "\\u{061c}");
	assert_string_equal(T("a\xe2\x80\x8b" "b\xc2\xad" "c\xef\xbb\xbf"), "a\\u{200b}b\\u{00ad}c\\u{feff}");
	assert_string_equal(T("\xe2\x80\xa8"), "\\u{2028}");
	assert_string_equal(T("\xf3\xa0\x80\x81"), "\\u{e0001}");
	/* a no-break space and U+00A0.. are ordinary */
	assert_string_equal(T("\xc2\xa0\xc2\xbf"), "\xc2\xa0\xc2\xbf");
	/* bytes that are not UTF-8: each one \xHH, resynchronising at the next */
	assert_string_equal(T("\xff\xfe"), "\\xff\\xfe");
	assert_string_equal(T("\xe2\x80" "A"), "\\xe2\\x80A");
	assert_string_equal(T("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	assert_string_equal(T("\xc0\xaf"), "\\xc0\\xaf");
	/* NULL is the empty string */
	assert_string_equal(ll_esc(NULL, (char[8]){ 0 }, 8), "");
}

static void test_needed(void **state)
{
	(void)state;
	assert_false(ll_escape_needed("plain caf\xc3\xa9", 11, 0));
	assert_true(ll_escape_needed("a\\b", 3, 0));
	assert_true(ll_escape_needed("\xe2\x80\xae", 3, 0));
	assert_false(ll_escape_needed("\xe2\x80\xae\n\"", 5, LL_ESC_JSON));
	assert_true(ll_escape_needed("a\\b", 3, LL_ESC_JSON));
	assert_true(ll_escape_needed("\xff", 1, LL_ESC_JSON));
	assert_true(ll_escape_needed("a\0", 2, LL_ESC_JSON));
}

static void test_json_policy(void **state)
{
	char *t;

	(void)state;
	/* valid UTF-8 is carried exactly: json-c escapes the controls and the
	 * quote; C1 and bidi stay (JSON is data) */
	t = json("a\n\x1b\"\xc2\x9b\xe2\x80\xae", 9);
	assert_string_equal(t, "\"a\\n\\u001b\\\"\xc2\x9b\xe2\x80\xae\"");
	free(t);
	/* a backslash is \\ and bytes JSON cannot hold are \xHH (json-c then
	 * doubles each backslash in the JSON text) */
	t = json("a\xff" "b\0c\\", 6);
	assert_string_equal(t, "\"a\\\\xffb\\\\x00c\\\\\\\\\"");
	free(t);
	/* the result always parses */
	{
		json_object *o = ll_json_str_len("\x9b\xc0\xaf\xed\xa0\x80", 6);
		json_object *back = json_tokener_parse(json_object_to_json_string(o));

		assert_non_null(back);
		assert_string_equal(json_object_get_string(back), "\\x9b\\xc0\\xaf\\xed\\xa0\\x80");
		json_object_put(back);
		json_object_put(o);
	}
	assert_null(ll_json_str(NULL));
}

/* Text read back from JSON: its escapes pass as they are, so each byte is
 * escaped once on the terminal, and the rest gets the terminal policy. */
static void test_from_json(void **state)
{
	const char raw[] = "p\\q\xff\x1b[1;31m\xe2\x80\xae";
	char buf[256], *j;
	json_object *o;

	(void)state;
	/* the raw bytes through JSON and back */
	o = ll_json_str_len(raw, sizeof(raw) - 1);
	j = strdup(json_object_get_string(o));
	json_object_put(o);
	assert_string_equal(j, "p\\\\q\\xff\x1b[1;31m\xe2\x80\xae");
	/* the same terminal text as the raw bytes would give */
	assert_string_equal(ll_escape_buf(j, strlen(j), LL_ESC_FROM_JSON, buf, sizeof(buf)),
			    T("p\\q\xff\x1b[1;31m\xe2\x80\xae"));
	assert_string_equal(buf, "p\\\\q\\xff\\x1b[1;31m\\u{202e}");
	free(j);
	/* a backslash that starts no escape of ours (a hostile child's
	 * answer, an upper-case digit) is shown as a backslash */
	assert_string_equal(ll_escape_buf("a\\qb\\xFFc\\x4", 12, LL_ESC_FROM_JSON, buf, sizeof(buf)),
			    "a\\\\qb\\\\xFFc\\\\x4");
	/* the reader that needs the bytes gets them back exactly */
	{
		const char odd[] = "/x\\y\xff\0z";
		size_t n;
		char *e = ll_escape(odd, sizeof(odd) - 1, LL_ESC_JSON, 0), *back;

		assert_string_equal(e, "/x\\\\y\\xff\\x00z");
		back = ll_unescape(e, strlen(e), &n);
		assert_int_equal(n, sizeof(odd) - 1);
		assert_memory_equal(back, odd, n);
		free(back);
		free(e);
		back = ll_unescape("a\\q\\x4", 6, &n);
		assert_string_equal(back, "a\\q\\x4");
		free(back);
	}
	/* and raw control bytes in it are escaped as ever */
	assert_string_equal(ll_escape_buf("\x1b]0;t\x07", 6, LL_ESC_FROM_JSON, buf, sizeof(buf)),
			    "\\x1b]0;t\\x07");
}

/* The invariants, on 20,000 random strings made of the bytes that matter
 * (controls, backslash, quote, C1 and bidi lead bytes, continuation bytes,
 * ASCII): the terminal text holds no control byte, no C1 or format
 * character, and is valid UTF-8; the JSON text is valid UTF-8; escaping
 * for JSON then reading back for a terminal gives the terminal text of the
 * raw bytes (each byte escaped once); ll_unescape inverts LL_ESC_JSON. */
static void test_invariants(void **state)
{
	static const unsigned char alphabet[] = { 0x00, 0x07, 0x0a, 0x1b, 0x7f, '\\', '"', 'x', 'a', '[',
						  '0', 0xc2, 0x9b, 0x80, 0xe2, 0x81, 0xae, 0xa6, 0xd8,
						  0x9c, 0xf3, 0xa0, 0xff, 0xef, 0xbb, 0xbf, 0xc3, 0xa9 };
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		char raw[24], tbuf[256], fbuf[256];
		size_t n, back_len;
		char *j, *back;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(raw);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			raw[i] = (char)alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		ll_escape_buf(raw, n, 0, tbuf, sizeof(tbuf));
		for (size_t i = 0; tbuf[i];) {
			uint32_t cp;
			size_t l = ll_utf8_decode(tbuf + i, strlen(tbuf + i), &cp);

			assert_true(l > 0);
			assert_true(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f));
			assert_false(cp == 0x202e || cp == 0x2066 || cp == 0x061c || cp == 0xfeff);
			i += l;
		}
		j = ll_escape(raw, n, LL_ESC_JSON, 0);
		assert_non_null(j);
		for (size_t i = 0; j[i];) {
			uint32_t cp;
			size_t l = ll_utf8_decode(j + i, strlen(j + i), &cp);

			assert_true(l > 0);
			i += l;
		}
		ll_escape_buf(j, strlen(j), LL_ESC_FROM_JSON, fbuf, sizeof(fbuf));
		assert_string_equal(fbuf, tbuf);
		back = ll_unescape(j, strlen(j), &back_len);
		assert_int_equal(back_len, n);
		assert_memory_equal(back, raw, n);
		free(back);
		free(j);
	}
}

static void test_cut(void **state)
{
	char buf[12];
	char *m;

	(void)state;
	/* fits exactly: no dots */
	assert_string_equal(ll_escape_buf("hello world", 11, 0, buf, sizeof(buf)), "hello world");
	/* one more: cut with "..." within the buffer */
	assert_string_equal(ll_escape_buf("hello world!", 12, 0, buf, sizeof(buf)), "hello wo...");
	/* an escape is never cut in half */
	assert_string_equal(ll_escape_buf("abcdef\x1b\x1b\x1b", 9, 0, buf, sizeof(buf)), "abcdef...");
	assert_string_equal(ll_escape_buf("abcdefg\xe2\x80\xae", 10, 0, buf, sizeof(buf)), "abcdefg...");
	/* nor a UTF-8 character */
	assert_string_equal(ll_escape_buf("abcdefg\xe6\x97\xa5\xe6\x97\xa5", 13, 0, buf, sizeof(buf)),
			    "abcdefg...");
	/* tiny buffers */
	assert_string_equal(ll_escape_buf("abcdef", 6, 0, buf, 3), "..");
	assert_string_equal(ll_escape_buf("abcdef", 6, 0, buf, 1), "");
	/* width in characters: a kept character counts one, an escape its length */
	m = ll_escape("\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5", 12, 0, 4);
	assert_string_equal(m, "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5");
	free(m);
	m = ll_escape("abcdefgh", 8, 0, 6);
	assert_string_equal(m, "abc...");
	free(m);
	m = ll_escape("ab\x1b" "cdef", 7, 0, 8);
	assert_string_equal(m, "ab...");
	free(m);
	/* no width: the whole thing, at 4 bytes a byte at worst */
	m = ll_escape("\xff\xff\xff\xf3\xa0\x80\x81", 7, 0, 0);
	assert_string_equal(m, "\\xff\\xff\\xff\\u{e0001}");
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoder),
		cmocka_unit_test(test_terminal_policy),
		cmocka_unit_test(test_needed),
		cmocka_unit_test(test_json_policy),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
