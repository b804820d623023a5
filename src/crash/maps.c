/* maps.c: a snapshot of /proc/self/maps for the crash handler.
 *
 * The file is read with open/read into a static buffer (no malloc; the
 * buffer lives in .bss, so it costs memory only once a crash touches it) and
 * each line is split in place: '\n' becomes '\0' so that the line and its
 * path are C strings. Entries are in address order, as the kernel prints
 * them; lookups are linear (a few hundred entries, once per frame).
 * Only the thread writing the report (there is one at a time) uses it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crash/crash_internal.h"

#define MAPS_BUF_SIZE (1u << 20)
#define MAPS_MAX 16384

static char maps_buf[MAPS_BUF_SIZE];
static struct crash_map maps[MAPS_MAX];
static size_t nmaps;

static const char *parse_hex(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	int any = 0;

	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		v = (v << 4) | d;
		any = 1;
	}
	*out = v;
	return any ? p : NULL;
}

static const char *skip_field(const char *p)
{
	while (*p && *p != ' ')
		p++;
	while (*p == ' ')
		p++;
	return p;
}

/* Parse one NUL-terminated line; 0 on success. */
static int parse_line(char *line, struct crash_map *m)
{
	const char *p = line;
	char *path;
	size_t len;
	static const char deleted[] = " (deleted)";

	p = parse_hex(p, &m->start);
	if (!p || *p != '-')
		return -1;
	p = parse_hex(p + 1, &m->end);
	if (!p || *p != ' ')
		return -1;
	p++;
	m->perms = 0;
	if (p[0] == 'r')
		m->perms |= CM_R;
	if (p[0] && p[1] == 'w')
		m->perms |= CM_W;
	if (p[0] && p[1] && p[2] == 'x')
		m->perms |= CM_X;
	if (p[0] && p[1] && p[2] && p[3] == 's')
		m->perms |= CM_S;
	p = skip_field(p);
	if (!parse_hex(p, &m->off))
		return -1;
	p = skip_field(p);   /* offset -> dev */
	p = skip_field(p);   /* dev -> inode */
	p = skip_field(p);   /* inode -> path (or end) */
	m->line = line;
	/* The path is the tail of the line, which must stay intact for the
	 * map section of the report: a " (deleted)" suffix is only noted. */
	path = (char *)p;
	len = strlen(path);
	m->deleted = len >= sizeof(deleted) - 1 &&
		     !memcmp(path + len - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1);
	m->path = path;
	return 0;
}

int crash_maps_snapshot(void)
{
	size_t len = 0;
	char *p, *end;
	int fd;

	nmaps = 0;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < sizeof(maps_buf) - 1) {
		ssize_t n = read(fd, maps_buf + len, sizeof(maps_buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	/* Drop a partial last line if the buffer filled up. */
	if (len == sizeof(maps_buf) - 1)
		while (len > 0 && maps_buf[len - 1] != '\n')
			len--;
	maps_buf[len] = '\0';
	end = maps_buf + len;
	for (p = maps_buf; p < end && nmaps < MAPS_MAX;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end;
		*nl = '\0';
		if (parse_line(p, &maps[nmaps]) == 0)
			nmaps++;
		p = nl + 1;
	}
	return (int)nmaps;
}

size_t crash_maps_count(void)
{
	return nmaps;
}

const struct crash_map *crash_maps_at(size_t i)
{
	return i < nmaps ? &maps[i] : NULL;
}

const struct crash_map *crash_maps_find(uint64_t addr)
{
	for (size_t i = 0; i < nmaps; i++)
		if (addr >= maps[i].start && addr < maps[i].end)
			return &maps[i];
	return NULL;
}

const struct crash_map *crash_maps_above(uint64_t addr)
{
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i].start > addr)
			return &maps[i];
	return NULL;
}
