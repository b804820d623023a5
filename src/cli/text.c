/* text.c: escaping of untrusted names for a terminal and for JSON, and
 * getopt_long() error messages (see text.h).
 *
 * A file name, a process name or an input line can hold anything but '/'
 * and NUL: an escape sequence printed raw would drive the operator's
 * terminal, and bytes that are not UTF-8 make JSON that parsers reject. Both
 * are written as \xHH text; everything else is kept as it is. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/text.h"

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when s[0] does not
 * start one. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
	    (c == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate, past U+10FFFF */
	return n;
}

/* Bytes of s[0..avail) to copy as they are (n > 0), or 0 when s[0] must be
 * escaped for a terminal. */
static size_t term_safe(const unsigned char *s, size_t avail)
{
	size_t n = utf8_len(s, avail);

	if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f || s[0] == '\\'))
		return 0;
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0; /* C1 controls (U+0080..U+009F): CSI and friends */
	return n;
}

int cli_is_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = term_safe(p + i, len - i);

		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

const char *cli_esc_len(const char *s, size_t len, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0;

	if (!size)
		return buf;
	while (i < len) {
		size_t n = term_safe(p + i, len - i);
		size_t need = n ? n : (p[i] == '\\' ? 2 : 4);

		if (o + need + 4 > size) { /* room for "..." and NUL */
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (n)
			memcpy(buf + o, p + i, n);
		else if (p[i] == '\\')
			memcpy(buf + o, "\\\\", 2);
		else
			snprintf(buf + o, 5, "\\x%02x", p[i]);
		o += need;
		i += n ? n : 1;
	}
	buf[o] = '\0';
	return buf;
}

const char *cli_esc(const char *s, char *buf, size_t size)
{
	return cli_esc_len(s ? s : "", s ? strlen(s) : 0, buf, size);
}

json_object *cli_json_str_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_object *o;
	char *t;
	size_t o_len = 0;

	if (!s)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);

		if (!n)
			break;
		i += n;
		if (i == len)
			return json_object_new_string_len(s, (int)len); /* valid: as it is */
	}
	if (len == 0)
		return json_object_new_string("");
	t = malloc(len * 4 + 1);
	if (!t)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);

		if (n) {
			memcpy(t + o_len, p + i, n);
			o_len += n;
			i += n;
		} else {
			snprintf(t + o_len, 5, "\\x%02x", p[i]);
			o_len += 4;
			i++;
		}
	}
	o = json_object_new_string_len(t, (int)o_len);
	free(t);
	return o;
}

json_object *cli_json_str(const char *s)
{
	return s ? cli_json_str_len(s, strlen(s)) : NULL;
}

unsigned cli_std_fds(void)
{
	static int done;
	static unsigned closed;

	/* main() calls this first; a command calling it again learns what was
	 * closed when lifeline started. */
	if (done)
		return closed;
	done = 1;
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		closed |= 1u << fd;
		n = open("/dev/null", O_RDONLY); /* the lowest free number: fd itself */
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	return closed;
}

static const struct option *find_long(const struct option *longopts, int val)
{
	for (const struct option *o = longopts; o && o->name; o++)
		if (o->val == val)
			return o;
	return NULL;
}

int cli_opt_error(const char *cmd, int c, char **argv, const struct option *longopts)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const struct option *lo = find_long(longopts, optopt);
	char ebuf[256];

	if (!arg)
		arg = "";
	if (c == ':') {
		if (lo)
			out_error(cmd, "option '--%s' needs a value; see 'lifeline %s --help'", lo->name, cmd);
		else
			out_error(cmd, "option '-%c' needs a value; see 'lifeline %s --help'", optopt, cmd);
	} else if (!strncmp(arg, "--", 2) && optopt && lo && strchr(arg, '=')) {
		out_error(cmd, "option '--%s' takes no value; see 'lifeline %s --help'", lo->name, cmd);
	} else if (optopt >= '0' && optopt <= '9') {
		out_error(cmd, "'-%c...': a negative number is not a valid argument (process ids, addresses "
			       "and counts are positive); see 'lifeline %s --help'", optopt, cmd);
	} else if (optopt) {
		out_error(cmd, "unknown option '-%c'; see 'lifeline %s --help'", optopt, cmd);
	} else {
		size_t n = strcspn(arg, "=");
		char name[200];

		snprintf(name, sizeof(name), "%.*s", (int)(n < 199 ? n : 199), arg);
		out_error(cmd, "unknown option '%s'; see 'lifeline %s --help'", cli_esc(name, ebuf, sizeof(ebuf)),
			  cmd);
	}
	return LL_EXIT_USAGE;
}
