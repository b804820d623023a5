/* fdreport.c: a child for the spawn tests. It prints one line describing
 * itself as the kernel sees it, read from its own /proc/self:
 *   pid=N ppid=N sid=N pgid=N sigblk=HEX sigign=HEX nofile=N llt=VALUE cwd=PATH fds=0,1,2
 * (fds excludes the directory descriptor used to list /proc/self/fd).
 * Arguments, in order: "write FD TEXT" writes TEXT and a newline to FD
 * (repeatable); "wait" then sleeps until killed (at most 60 s). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void status_field(const char *name, char *out, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	size_t n = strlen(name);

	snprintf(out, size, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			char *v = line + n + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, size, "%s", v);
			break;
		}
	fclose(f);
}

int main(int argc, char **argv)
{
	char fds[65536] = "", blk[64], ign[64], cwd[4096];
	const char *llt = getenv("LL_T");
	struct rlimit rl;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	size_t used = 0;
	int i = 1;

	for (; i + 2 < argc && !strcmp(argv[i], "write"); i += 3) {
		int fd = atoi(argv[i + 1]);

		if (dprintf(fd, "%s\n", argv[i + 2]) < 0) {
			perror("fdreport: write");
			return 1;
		}
	}
	if (!dir)
		return 1;
	while ((d = readdir(dir))) {
		int fd;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		fd = atoi(d->d_name);
		if (fd == dirfd(dir))
			continue;
		used += (size_t)snprintf(fds + used, sizeof(fds) - used, "%s%d", used ? "," : "", fd);
		if (used >= sizeof(fds) - 16)
			break;
	}
	closedir(dir);
	status_field("SigBlk", blk, sizeof(blk));
	status_field("SigIgn", ign, sizeof(ign));
	getrlimit(RLIMIT_NOFILE, &rl);
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "?");
	printf("pid=%d ppid=%d sid=%d pgid=%d sigblk=%s sigign=%s nofile=%llu llt=%s cwd=%s fds=%s\n",
	       (int)getpid(), (int)getppid(), (int)getsid(0), (int)getpgid(0), blk, ign,
	       (unsigned long long)rl.rlim_cur, llt ? llt : "-", cwd, fds);
	fflush(stdout);
	if (i < argc && !strcmp(argv[i], "wait")) {
		alarm(60);
		for (;;)
			pause();
	}
	return 0;
}
