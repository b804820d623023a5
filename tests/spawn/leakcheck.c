/* leakcheck.c: see leakcheck.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "leakcheck.h"

int lc_open_many(int n)
{
	struct rlimit rl;
	int base;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	base = open("/dev/null", O_RDONLY);
	if (base < 0)
		return -errno;
	for (int i = 1; i < n; i++)
		if (dup(base) < 0)
			return -errno;
	return 0;
}

int lc_listen(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		int e = errno;

		close(s);
		return -e;
	}
	*port = ntohs(a.sin_port);
	return s;
}

int lc_rebind(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((unsigned short)port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		r = -errno;
	close(s);
	return r;
}

int lc_field(const char *line, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p++) {
		size_t n;

		if ((p != line && p[-1] != ' ') || p[klen] != '=')
			continue;
		p += klen + 1;
		n = strcspn(p, " \n");
		snprintf(out, size, "%.*s", (int)n, p);
		return 0;
	}
	return -ENOENT;
}

int lc_read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t used = 0;

	while (used + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, timeout_ms);

		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = read(fd, buf + used, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0 || buf[used] == '\n')
			break;
		used++;
	}
	buf[used] = '\0';
	return (int)used;
}
