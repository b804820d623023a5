/* mapper.c: a live process for the install/stale tests.
 *
 *   mapper dlopen PATH   dlopen PATH (a shared object) and wait
 *   mapper mmap PATH     map the whole file read-only and wait
 *
 * Prints "ready PID" once mapped, then waits for its stdin to close and
 * leaves with _exit (no destructors: the tests truncate the mapped file, and
 * running code from it would raise SIGBUS, which is the point of `stale`). */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[64];
	struct stat st;

	if (argc != 3) {
		fprintf(stderr, "usage: mapper dlopen|mmap PATH\n");
		return 2;
	}
	if (!strcmp(argv[1], "dlopen")) {
		if (!dlopen(argv[2], RTLD_NOW | RTLD_LOCAL)) {
			fprintf(stderr, "mapper: %s\n", dlerror());
			return 1;
		}
	} else {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0 || fstat(fd, &st) < 0 ||
		    mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) {
			perror("mapper");
			return 1;
		}
		close(fd);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}
