/* demo-target.c: the process `lifeline demo inspect` and the inspect tests
 * look at. It has one of each thing a memory map can show: a [heap] (grown
 * with sbrk, so it exists even under ASan's allocator), a second thread
 * whose stack is an anonymous mapping, a shared library of its own loaded
 * with dlopen (libll-demo-inspect.so, next to this program), and a file it
 * mapped and then unlinked (maps shows it "(deleted)"; its name has spaces).
 *
 * It prints "key=value" lines: its pid, the runtime addresses of a few
 * functions, the heap, thread-stack and mapped-file addresses, then
 * "ready", and waits until its stdin reaches end of file (or it is killed;
 * it also dies with its parent). */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FILE_SIZE (64 * 1024)

static pthread_barrier_t started;
static volatile uintptr_t thread_local_addr;
static volatile pid_t thread_tid;

static inline unsigned square_plus(unsigned x)
{
	return x * x + 1;
}

/* A function of the executable for symbolize to name. */
__attribute__((noinline)) unsigned demo_target_work(unsigned n)
{
	unsigned s = 0;

	for (unsigned i = 0; i < n; i++)
		s += square_plus(i) ^ (s >> 3);
	return s;
}

static void *thread_main(void *arg)
{
	volatile char on_stack[256];

	(void)arg;
	memset((char *)on_stack, 0x5a, sizeof(on_stack));
	thread_local_addr = (uintptr_t)on_stack;
	thread_tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	for (;;)
		pause(); /* asleep in a system call: its stack pointer is readable */
	return NULL;
}

/* dlopen the library that sits beside this executable. */
static void *load_lib(char *path, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	void *h;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, size, "%s/libll-demo-inspect.so", exe);
	h = dlopen(path, RTLD_NOW);
	if (!h)
		fprintf(stderr, "demo-target: %s\n", dlerror());
	return h;
}

/* Create a file, map it, unlink it: the mapping stays, "(deleted)". */
static void *map_deleted_file(char *path, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	void *p;
	int fd;

	snprintf(path, size, "%s/lifeline demo file XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		perror("demo-target: mkstemp");
		return NULL;
	}
	if (ftruncate(fd, FILE_SIZE) < 0) {
		perror("demo-target: ftruncate");
		close(fd);
		unlink(path);
		return NULL;
	}
	p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	unlink(path);
	if (p == MAP_FAILED) {
		perror("demo-target: mmap");
		return NULL;
	}
	memset(p, 'L', FILE_SIZE);
	return p;
}

int main(void)
{
	char lib_path[PATH_MAX + 32], file_path[PATH_MAX];
	uint64_t (*checksum)(const unsigned char *, size_t);
	pthread_t th;
	void *lib, *file, *heap;
	char buf[256];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	heap = sbrk(128 * 1024);
	if (heap == (void *)-1) {
		perror("demo-target: sbrk");
		return 1;
	}
	memset(heap, 'H', 128 * 1024);
	lib = load_lib(lib_path, sizeof(lib_path));
	if (!lib)
		return 1;
	checksum = (uint64_t (*)(const unsigned char *, size_t))dlsym(lib, "demo_lib_checksum");
	file = map_deleted_file(file_path, sizeof(file_path));
	if (!checksum || !file)
		return 1;
	pthread_barrier_init(&started, NULL, 2);
	if (pthread_create(&th, NULL, thread_main, NULL) != 0) {
		fprintf(stderr, "demo-target: cannot start a thread\n");
		return 1;
	}
	pthread_barrier_wait(&started);

	printf("pid=%d\n", (int)getpid());
	printf("func main=%p\n", (void *)main);
	printf("func demo_target_work=%p\n", (void *)demo_target_work);
	printf("func demo_lib_checksum=%p\n", (void *)checksum);
	printf("work=%u checksum=%llx\n", demo_target_work(1000),
	       (unsigned long long)checksum(file, 4096));
	printf("heap=%p\n", heap);
	printf("thread_stack=%#lx\n", (unsigned long)thread_local_addr);
	printf("thread_tid=%d\n", (int)thread_tid);
	printf("deleted_file=%p\n", file);
	printf("deleted_path=%s\n", file_path);
	printf("lib_path=%s\n", lib_path);
	printf("ready\n");
	fflush(stdout);

	while (fgets(buf, sizeof(buf), stdin))
		;
	return 0;
}
