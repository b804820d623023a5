/* livetarget.c: see livetarget.h. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "livetarget.h"
#include "testutil.h"

/* True when every thread of pid sleeps in a system call (its stack
 * pointer is then readable from task/TID/syscall). */
static bool all_asleep(pid_t pid)
{
	char path[64], line[256];
	struct dirent *de;
	bool asleep = true;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return true;
	while (asleep && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) && !strncmp(line, "running", 7))
			asleep = false;
		fclose(f);
	}
	closedir(d);
	return asleep;
}

int lt_start(char *const argv[], struct lt_proc *p)
{
	int in[2], out[2];
	size_t cap = 8192, len = 0;

	memset(p, 0, sizeof(*p));
	p->in_fd = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	p->out = calloc(1, cap);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			cap *= 2;
			p->out = realloc(p->out, cap);
		}
		n = read(out[0], p->out + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		p->out[len] = '\0';
		if (strstr(p->out, "\nready\n"))
			break;
	}
	close(out[0]);
	if (!strstr(p->out, "\nready\n")) {
		fprintf(stderr, "livetarget: %s exited before 'ready'; it printed:\n%s\n", argv[0],
			p->out);
		lt_stop(p);
		return -EPROTO;
	}
	/* "ready" is printed just before the program goes to sleep: wait for
	 * it to be asleep (not a timing assertion: this only waits). */
	for (int i = 0; i < 1000 && !all_asleep(p->pid); i++)
		usleep(10 * 1000);
	return 0;
}

void lt_stop(struct lt_proc *p)
{
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	p->pid = 0;
	free(p->out);
	p->out = NULL;
}

const char *lt_value(const struct lt_proc *p, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *l = p->out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, klen) && l[klen] == '=') {
			size_t n = strcspn(l + klen + 1, "\n");

			if (n >= size)
				n = size - 1;
			memcpy(buf, l + klen + 1, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

uint64_t lt_addr(const struct lt_proc *p, const char *key)
{
	char buf[64];

	if (!lt_value(p, key, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 16);
}

int lt_addr2line(const char *file, uint64_t addr, char *buf, size_t size)
{
	char a[32], *out = NULL;
	char *argv[] = { "addr2line", "-f", "-e", (char *)file, a, NULL };
	int st;

	snprintf(a, sizeof(a), "%#llx", (unsigned long long)addr);
	st = tu_run(argv, NULL, &out, NULL);
	if (st < 0)
		return st;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out);
		return -EIO;
	}
	snprintf(buf, size, "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	return 0;
}
