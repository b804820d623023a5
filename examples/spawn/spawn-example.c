/* spawn-example.c: how a program uses lifeline's spawn API.
 *
 * 1. ll_spawn: run `uname -sr` with its stdout on a pipe (the only
 *    descriptor it gets besides 0 and 2), wait with a timeout.
 * 2. ll_popen/ll_pclose: read `ls /proc/self/fd` from the shell: the child
 *    lists only 0, 1, 2 (and the directory ls itself opened), whatever this
 *    process has open.
 * 3. ll_system: exit status as system() gives it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lifeline/spawn.h>

int main(void)
{
	char *argv[] = { "uname", "-sr", NULL };
	struct ll_spawn_fd map[1];
	struct ll_spawn_opts o = { 0 };
	char buf[256];
	int p[2], pidfd, st, r;
	ssize_t n;
	pid_t pid;
	FILE *f;

	for (int i = 0; i < 20; i++) /* descriptors the children must not get */
		open("/dev/null", O_RDONLY);
	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	map[0] = (struct ll_spawn_fd){ .parent_fd = p[1], .child_fd = 1 };
	o.fds = map;
	o.nfds = 1;
	o.flags = LL_SPAWN_SEARCH_PATH;
	r = ll_spawn(argv, &o, &pid, &pidfd);
	if (r < 0) {
		fprintf(stderr, "ll_spawn uname: %s\n", strerror(-r));
		return 1;
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	r = ll_spawn_wait(pid, pidfd, 5000, &st);
	printf("1. ll_spawn: uname says %s   (wait: %s, exit %d)\n", strtok(buf, "\n"),
	       r == 0 ? "ok" : strerror(-r), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(pidfd);
	close(p[0]);

	f = ll_popen("ls /proc/self/fd | tr '\\n' ' '", "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		return 1;
	printf("2. ll_popen: the child's descriptors: %s\n", buf);
	ll_pclose(f);

	st = ll_system("exit 3");
	printf("3. ll_system(\"exit 3\"): exit status %d\n", WEXITSTATUS(st));
	return 0;
}
