/* socktab.c: the socket tables of a network namespace, by inode.
 *
 * /proc/PID/net/{tcp,tcp6,udp,udp6} give local and remote address, state
 * and inode of every IP socket of the namespace, and /proc/PID/net/unix the
 * unix sockets. Each file is read whole (bounded), parsed once, and its
 * entries put in an open-addressing hash table keyed by inode, so that the
 * lookup of each socket descriptor of a process is O(1). A small cache keyed
 * by the namespace inode (/proc/PID/ns/net) lets a scan of every process
 * parse each namespace once. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/common.h"
#include "inspect/fd/fd_internal.h"

#define TABLE_MAX (256u << 20) /* bytes of one /proc/net file */

struct slot {
	uint64_t ino; /* 0: empty */
	struct ll_fd_socket s;
};

struct ll_socktab {
	size_t cap, n; /* cap is a power of two */
	struct slot *slots;
};

static size_t hash_ino(uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdULL;
	ino ^= ino >> 33;
	return (size_t)ino;
}

static int grow(struct ll_socktab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct slot *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].ino)
			continue;
		size_t h = hash_ino(t->slots[i].ino) & (cap - 1);

		while (s[h].ino)
			h = (h + 1) & (cap - 1);
		s[h] = t->slots[i];
	}
	free(t->slots);
	t->slots = s;
	t->cap = cap;
	return 0;
}

static struct ll_fd_socket *insert(struct ll_socktab *t, uint64_t ino)
{
	size_t h;

	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return NULL;
	h = hash_ino(ino) & (t->cap - 1);
	while (t->slots[h].ino && t->slots[h].ino != ino)
		h = (h + 1) & (t->cap - 1);
	if (!t->slots[h].ino) {
		t->slots[h].ino = ino;
		t->n++;
	}
	memset(&t->slots[h].s, 0, sizeof(t->slots[h].s));
	return &t->slots[h].s;
}

const struct ll_fd_socket *ll_socktab_find(const struct ll_socktab *t, uint64_t ino)
{
	size_t h;

	if (!t || !t->cap || !ino)
		return NULL;
	h = hash_ino(ino) & (t->cap - 1);
	while (t->slots[h].ino) {
		if (t->slots[h].ino == ino)
			return &t->slots[h].s;
		h = (h + 1) & (t->cap - 1);
	}
	return NULL;
}

void ll_socktab_free(struct ll_socktab *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

static const char *tcp_state(unsigned st)
{
	static const char *const names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
		"NEW_SYN_RECV",
	};

	return st < LL_ARRAY_SIZE(names) ? names[st] : "?";
}

/* "0100007F" (IPv4) or 32 hex digits (IPv6), as the kernel prints the
 * address words in host order, plus the port -> "127.0.0.1:8080". */
static int format_endpoint(const char *hex, unsigned port, int v6, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	uint32_t w[4];

	if (!v6) {
		if (sscanf(hex, "%8x", &w[0]) != 1)
			return -EINVAL;
		if (!inet_ntop(AF_INET, &w[0], addr, sizeof(addr)))
			return -EINVAL;
		if (w[0] == 0 && port == 0)
			snprintf(out, size, "*:*");
		else
			snprintf(out, size, "%s:%u", addr, port);
	} else {
		if (sscanf(hex, "%8x%8x%8x%8x", &w[0], &w[1], &w[2], &w[3]) != 4)
			return -EINVAL;
		if (!inet_ntop(AF_INET6, w, addr, sizeof(addr)))
			return -EINVAL;
		if (!(w[0] | w[1] | w[2] | w[3]) && port == 0)
			snprintf(out, size, "*:*");
		else
			snprintf(out, size, "[%s]:%u", addr, port);
	}
	return 0;
}

static int parse_inet(struct ll_socktab *t, char *text, enum ll_sock_proto proto)
{
	int v6 = proto == LL_SOCK_TCP6 || proto == LL_SOCK_UDP6;
	int udp = proto == LL_SOCK_UDP || proto == LL_SOCK_UDP6;
	char *line = strchr(text, '\n'); /* skip the header */

	while (line && *++line) {
		char lhex[40], rhex[40];
		unsigned lport, rport, st;
		unsigned long long ino;
		char *next = strchr(line, '\n');
		struct ll_fd_socket *s;

		if (next)
			*next = '\0';
		if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*u %llu",
			   lhex, &lport, rhex, &rport, &st, &ino) == 6 && ino) {
			s = insert(t, ino);
			if (!s)
				return -ENOMEM;
			s->proto = proto;
			s->local_port = (uint16_t)lport;
			s->remote_port = (uint16_t)rport;
			format_endpoint(lhex, lport, v6, s->local, sizeof(s->local));
			format_endpoint(rhex, rport, v6, s->remote, sizeof(s->remote));
			if (udp)
				snprintf(s->state, sizeof(s->state), "%s", st == 7 ? "UNCONN" : tcp_state(st));
			else
				snprintf(s->state, sizeof(s->state), "%s", tcp_state(st));
		}
		line = next;
	}
	return 0;
}

static int parse_unix(struct ll_socktab *t, char *text)
{
	char *line = strchr(text, '\n');

	while (line && *++line) {
		unsigned flags, type, st;
		unsigned long long ino;
		int off = 0;
		char *next = strchr(line, '\n');
		struct ll_fd_socket *s;

		if (next)
			*next = '\0';
		if (sscanf(line, "%*x: %*x %*x %x %x %x %llu%n", &flags, &type, &st, &ino, &off) == 4 && ino) {
			const char *path = line + off;

			path += strspn(path, " ");
			s = insert(t, ino);
			if (!s)
				return -ENOMEM;
			s->proto = LL_SOCK_UNIX;
			s->unix_type = (int)type;
			snprintf(s->local, sizeof(s->local), "%s", path);
			if (flags & (1u << 16))
				snprintf(s->state, sizeof(s->state), "LISTEN");
			else if (st == 3)
				snprintf(s->state, sizeof(s->state), "CONNECTED");
			else if (st == 2)
				snprintf(s->state, sizeof(s->state), "CONNECTING");
			else
				snprintf(s->state, sizeof(s->state), "UNCONN");
		}
		line = next;
	}
	return 0;
}

int ll_socktab_load(int procdir, struct ll_socktab **out)
{
	static const struct {
		const char *path;
		enum ll_sock_proto proto;
	} files[] = {
		{ "net/tcp", LL_SOCK_TCP }, { "net/tcp6", LL_SOCK_TCP6 },
		{ "net/udp", LL_SOCK_UDP }, { "net/udp6", LL_SOCK_UDP6 },
		{ "net/unix", LL_SOCK_UNIX },
	};
	struct ll_socktab *t = calloc(1, sizeof(*t));
	int r = 0;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < LL_ARRAY_SIZE(files) && r == 0; i++) {
		char *text = NULL;

		r = ll_read_file_at(procdir, files[i].path, TABLE_MAX, &text, NULL);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		r = files[i].proto == LL_SOCK_UNIX ? parse_unix(t, text)
						   : parse_inet(t, text, files[i].proto);
		free(text);
	}
	if (r < 0) {
		ll_socktab_free(t);
		return r;
	}
	*out = t;
	return 0;
}

struct ll_socktab_cache {
	uint64_t netns;
	struct ll_socktab *tab;
	struct ll_socktab_cache *next;
};

int ll_socktab_cache_get(struct ll_socktab_cache **cache, int procdir,
			 const struct ll_socktab **out)
{
	struct ll_socktab_cache *c;
	struct stat st;
	uint64_t netns = 0;
	int r;

	if (fstatat(procdir, "ns/net", &st, 0) == 0)
		netns = st.st_ino;
	for (c = *cache; c; c = c->next)
		if (netns && c->netns == netns) {
			*out = c->tab;
			return 0;
		}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = ll_socktab_load(procdir, &c->tab);
	if (r < 0) {
		free(c);
		return r;
	}
	c->netns = netns;
	c->next = *cache;
	*cache = c;
	*out = c->tab;
	return 0;
}

void ll_socktab_cache_free(struct ll_socktab_cache *cache)
{
	while (cache) {
		struct ll_socktab_cache *next = cache->next;

		ll_socktab_free(cache->tab);
		free(cache);
		cache = next;
	}
}
