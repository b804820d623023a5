/* fuzz_util.c: the helpers of fuzz_util.h (memfds, the scratch directory,
 * sectioned inputs written out as a fake /proc/PID directory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

int fz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Remove what dirfd holds (files, and directories one level down). */
static void wipe(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		if (errno == EISDIR) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				wipe(sub);
				close(sub);
			}
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

static char scratch[PATH_MAX];
static int scratch_fd = -1;

static void remove_scratch(void)
{
	if (scratch_fd >= 0) {
		wipe(scratch_fd);
		close(scratch_fd);
		rmdir(scratch);
	}
}

const char *fz_scratch(int *dirfd)
{
	if (scratch_fd < 0) {
		const char *base = getenv("TMPDIR");

		snprintf(scratch, sizeof(scratch), "%s/lifeline-fuzz-XXXXXX",
			 base && *base ? base : "/dev/shm");
		if (!mkdtemp(scratch)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		scratch_fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (scratch_fd < 0)
			abort();
		atexit(remove_scratch);
	}
	if (dirfd)
		*dirfd = scratch_fd;
	return scratch;
}

static const uint8_t *find_header(const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		const uint8_t *h = memmem(p, (size_t)(end - p), "==> ", 4);

		if (!h)
			return NULL;
		if (h == p || h[-1] == '\n')
			return h;
		p = h + 1;
	}
	return NULL;
}

size_t fz_split(const uint8_t *data, size_t size, struct fz_section *v, char *namebuf,
		size_t namebuf_size)
{
	const uint8_t *end = data + size, *h = find_header(data, end);
	size_t n = 0, used = 0;

	while (h && n < FZ_MAX_SECTIONS) {
		const uint8_t *nl = memchr(h, '\n', (size_t)(end - h));
		const uint8_t *name = h + 4, *name_end = nl ? nl : end, *body, *next;
		size_t len;

		if (name_end - name >= 4 && !memcmp(name_end - 4, " <==", 4))
			name_end -= 4;
		len = (size_t)(name_end - name);
		if (len > 200)
			len = 200;
		if (used + len + 1 > namebuf_size)
			break;
		memcpy(namebuf + used, name, len);
		namebuf[used + len] = '\0';
		body = nl ? nl + 1 : end;
		next = find_header(body, end);
		v[n].name = namebuf + used;
		v[n].data = body;
		v[n].len = (size_t)((next ? next : end) - body);
		/* the newline that ends the section belongs to the layout */
		if (next && v[n].len > 0 && body[v[n].len - 1] == '\n')
			v[n].len--;
		used += len + 1;
		n++;
		h = next;
	}
	return n;
}

/* 0: not allowed; 1: a file; 2: a symbolic link ("@NAME" or "@DIR/"). */
static int allowed_kind(const char *name, const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++) {
		const char *a = allowed[i] + (allowed[i][0] == '@');
		int kind = allowed[i][0] == '@' ? 2 : 1;
		size_t l = strlen(a);

		if (l && a[l - 1] == '/') {
			const char *num = name + l;

			if (strncmp(name, a, l) || !*num || strlen(num) > 9 || (num[0] == '0' && num[1]) ||
			    strspn(num, "0123456789") != strlen(num))
				continue;
			return kind;
		}
		if (!strcmp(name, a))
			return kind;
	}
	return 0;
}

void fz_fill_dir(int dirfd, const struct fz_section *v, size_t n, const char *const *allowed)
{
	size_t per_dir = 0;

	wipe(dirfd);
	for (size_t i = 0; i < n; i++) {
		int kind = allowed_kind(v[i].name, allowed);
		const char *slash = strchr(v[i].name, '/');

		if (!kind)
			continue;
		if (slash) {
			char dir[64];

			if (++per_dir > 64)
				continue;
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - v[i].name), v[i].name);
			mkdirat(dirfd, dir, 0700);
		}
		if (kind == 2) {
			char target[4096];
			size_t l = v[i].len < sizeof(target) - 1 ? v[i].len : sizeof(target) - 1;

			memcpy(target, v[i].data, l);
			target[l] = '\0';
			target[strcspn(target, "\n")] = '\0';
			if (target[0])
				symlinkat(target, dirfd, v[i].name);
		} else {
			int fd = openat(dirfd, v[i].name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

			if (fd < 0)
				continue;
			if (v[i].len && write(fd, v[i].data, v[i].len) < 0)
				perror("fuzz: write");
			close(fd);
		}
	}
}

void fz_quiet_stdout(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		fflush(stdout);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
}
