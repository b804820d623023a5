/* escape.h: the one policy for untrusted text (private, not installed).
 *
 * A file name, a process name, a command line, a symbol read from an ELF
 * file or a core, a line of a crash report: all are bytes chosen by someone
 * else. Written raw to a terminal they can move the cursor, set the title,
 * recolour or reorder what the reader sees; written raw into JSON they make
 * a document parsers reject. Every such string goes through this module,
 * once, where it is formatted (never the finished output again), in the
 * manner of systemd's xescape_full().
 *
 * The policy, in one notation (that of C and Rust string literals):
 *
 *   what                                          terminal (0)   LL_ESC_JSON
 *   C0 controls U+0000..U+001F (incl. \n, \t)     \xHH           kept (json-c
 *   DEL U+007F                                    \xHH           writes \u00HH),
 *                                                                but NUL: \x00
 *   backslash                                     \\             \\
 *   C1 controls U+0080..U+009F (U+009B is a CSI)  \u{HHHH}       kept
 *   bidi controls (U+061C, U+200E/F, U+202A..E,   \u{HHHH}       kept
 *     U+2066..9) and the other invisible format
 *     characters (Unicode Cf: U+00AD, U+200B..D,
 *     U+2060.., U+FEFF, the tags U+E0001..,...),
 *     line and paragraph separators U+2028/9
 *   a byte that is not part of valid UTF-8        \xHH           \xHH
 *     (overlong, surrogate, past U+10FFFF,
 *     stray or missing continuation byte)
 *   everything else                               kept           kept
 *
 * HH is two lower-case hex digits, \u{} holds at least four. On a terminal
 * the result is printable, unambiguous (a backslash always starts an
 * escape) and cannot reorder the text around it. In JSON valid UTF-8 is
 * carried exactly (json-c escapes what JSON requires), and a backslash
 * always starts an escape there too: \\ is a backslash, \xHH a byte that
 * JSON cannot hold. Text read back from such JSON (a store record, the
 * answer of an analysis run in a child) is escaped for a terminal with
 * LL_ESC_FROM_JSON: its \\ and \xHH are already in the terminal's notation
 * and pass as they are, the rest gets the terminal policy, so each byte is
 * escaped once and a backslash is never doubled twice.
 *
 * Colour is not this module's business: the layer that decides colour (tty
 * and NO_COLOR aware) wraps escaped text in its sequences, so no output is
 * ever scanned again. */
#ifndef LL_COMMON_ESCAPE_H
#define LL_COMMON_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Flags of the escape functions. 0 is the terminal policy. */
#define LL_ESC_JSON (1u << 0)      /* for a JSON string: NUL, backslash, invalid bytes */
#define LL_ESC_FROM_JSON (1u << 1) /* the input was escaped with LL_ESC_JSON */

/* The one UTF-8 decoder: the length (1 to 4) of the valid UTF-8 sequence at
 * s[0..len) with its code point in *cp, or 0 when s does not start one
 * (len == 0, a continuation or invalid lead byte, a truncated sequence, an
 * overlong form, a surrogate, a value past U+10FFFF). */
size_t ll_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* True when the policy above writes s[0..len) other than as it is. */
bool ll_escape_needed(const char *s, size_t len, unsigned flags);

/* s[0..len) escaped with flags into buf (size bytes, NUL-terminated).
 * When the result does not fit, it is cut between two characters and ends
 * with "...". Returns buf (an empty string for s == NULL). */
const char *ll_escape_buf(const char *s, size_t len, unsigned flags, char *buf, size_t size);

/* ll_escape_buf() of the NUL-terminated s for a terminal: the common case. */
const char *ll_esc(const char *s, char *buf, size_t size);

/* s[0..len) escaped with flags into a malloc'ed string. With width > 0 the
 * result holds at most width characters (an escape counts its length, a
 * kept character one), cut with "..." when longer. NULL on ENOMEM. */
char *ll_escape(const char *s, size_t len, unsigned flags, size_t width);

/* A json-c string of s[0..len) escaped with LL_ESC_JSON, so that the JSON is
 * valid whatever s holds; NULL (JSON null) for s == NULL or ENOMEM. */
json_object *ll_json_str_len(const char *s, size_t len);

/* The bytes that s[0..len), escaped with LL_ESC_JSON, stood for: \\ and
 * \xHH decoded, everything else as it is. For a reader that needs the bytes
 * themselves (a path to open, a name to compare with a core's). Malloc'ed
 * and NUL-terminated (the bytes may hold a NUL: *outlen, when outlen is not
 * NULL, has their count); NULL on ENOMEM. */
char *ll_unescape(const char *s, size_t len, size_t *outlen);

/* ll_json_str_len() of the NUL-terminated s (NULL gives NULL). */
json_object *ll_json_str(const char *s);

#endif
