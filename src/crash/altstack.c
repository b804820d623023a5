/* altstack.c: alternate signal stacks, one per thread.
 *
 * A stack overflow leaves no stack to run a handler on, so each thread
 * needs its own alternate stack (SA_ONSTACK). It is mmap'ed (never malloc'ed:
 * the heap may be what is broken) with one PROT_NONE guard page below it,
 * so that a report that overruns it faults cleanly instead of scribbling
 * over a neighbour; the thread-local record says whether the stack is ours
 * to release. */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crash/crash_internal.h"
#include "lifeline/crash.h"

#define ALTSTACK_MIN (64 * 1024)
#define ALTSTACK_DEFAULT (256 * 1024)

size_t crash_altstack_size = ALTSTACK_DEFAULT;

static __thread void *own_map;
static __thread size_t own_len;

int ll_crash_thread_init(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = crash_altstack_size < ALTSTACK_MIN ? ALTSTACK_MIN : crash_altstack_size;
	stack_t cur, ss;
	void *map;

	size = (size + page - 1) / page * page;
	if (sigaltstack(NULL, &cur) < 0)
		return -errno;
	if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= size)
		return 0;
	if (cur.ss_flags & SS_ONSTACK)
		return -EBUSY;
	map = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	if (mprotect(map, page, PROT_NONE) < 0) {
		int r = -errno;

		munmap(map, size + page);
		return r;
	}
	ss.ss_sp = (char *)map + page;
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) < 0) {
		int r = -errno;

		munmap(map, size + page);
		return r;
	}
	if (own_map)
		munmap(own_map, own_len);
	own_map = map;
	own_len = size + page;
	return 0;
}

int ll_crash_thread_fini(void)
{
	stack_t ss = { .ss_flags = SS_DISABLE };
	stack_t cur;

	if (!own_map)
		return 0;
	if (sigaltstack(NULL, &cur) < 0)
		return -errno;
	if (cur.ss_flags & SS_ONSTACK)
		return -EBUSY;
	/* Only disable the alternate stack if it is still ours. */
	if (!(cur.ss_flags & SS_DISABLE) && (char *)cur.ss_sp == (char *)own_map + (own_len - cur.ss_size))
		if (sigaltstack(&ss, NULL) < 0)
			return -errno;
	munmap(own_map, own_len);
	own_map = NULL;
	own_len = 0;
	return 0;
}
