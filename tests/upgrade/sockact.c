/* sockact.c: a server written against systemd's socket-activation
 * convention only (no lifeline, no libsystemd): LISTEN_PID must be this
 * process, LISTEN_FDS descriptors from 3, their names in LISTEN_FDNAMES
 * (':'-separated), as sd_listen_fds_with_names(3) reads them. It accepts
 * connections on the descriptor named argv[1] and answers each with one
 * line: its pid, whether LISTEN_PID matched, the names it received, and
 * the descriptors it holds. Bounded: at most 100 connections, 30 s. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
	char line[1024], held[512] = "", namelist[512] = "", copy[512];
	int n = fds ? atoi(fds) : 0, want = -1, off = 0, pid_ok = pid && atoi(pid) == getpid();
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	alarm(30);
	if (argc != 2 || !pid_ok || n <= 0) {
		fprintf(stderr, "sockact: no socket activation for me (LISTEN_PID=%s, LISTEN_FDS=%s)\n",
			pid ? pid : "-", fds ? fds : "-");
		return 1;
	}
	snprintf(copy, sizeof(copy), "%s", names ? names : "");
	for (int i = 0; i < n; i++) {
		char *name = strtok(i == 0 ? copy : NULL, ":");

		fcntl(3 + i, F_SETFD, FD_CLOEXEC);
		if (name && !strcmp(name, argv[1]))
			want = 3 + i;
		snprintf(namelist + strlen(namelist), sizeof(namelist) - strlen(namelist), "%s%s", i ? "," : "",
			 name ? name : "unknown");
	}
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			off += snprintf(held + off, sizeof(held) - (size_t)off, "%s%s", off ? "," : "", e->d_name);
	if (d)
		closedir(d);
	if (want < 0) {
		fprintf(stderr, "sockact: no descriptor named %s in LISTEN_FDNAMES=%s\n", argv[1], namelist);
		return 1;
	}
	snprintf(line, sizeof(line), "pid=%d listen_pid_ok=%d names=%s fds=%s\n", (int)getpid(), pid_ok, namelist,
		 held);
	for (int i = 0; i < 100; i++) {
		int c = accept(want, NULL, NULL);

		if (c < 0)
			return 1;
		if (write(c, line, strlen(line)) < 0)
			return 1;
		close(c);
	}
	return 0;
}
