/* text.c: the standard descriptors at start and getopt_long() error
 * messages (see text.h). Untrusted text is escaped by src/common/escape.c. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/text.h"
#include "common/escape.h"

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
		out_error(cmd, "unknown option '%s'; see 'lifeline %s --help'", ll_esc(name, ebuf, sizeof(ebuf)),
			  cmd);
	}
	return LL_EXIT_USAGE;
}
