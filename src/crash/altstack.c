/* altstack.c: alternate signal stacks, one per thread.
 *
 * A stack overflow leaves no stack to run a handler on, so each thread
 * needs its own alternate stack (SA_ONSTACK). It is mmap'ed (never malloc'ed:
 * the heap may be what is broken) with one PROT_NONE guard page below it,
 * so that a report that overruns it faults cleanly instead of scribbling
 * over a neighbour; the thread-local record says whether the stack is ours
 * to release. A thread that ends without calling ll_crash_thread_fini()
 * still gives its stack back: a pthread key whose destructor runs at thread
 * exit calls it (a program that starts and ends threads all day must not
 * leak 260 KiB of address space per thread). A smaller alternate stack that
 * someone else had set (the program, or a runtime such as ASan, which
 * frees "the current one" at thread exit) is replaced, remembered, and put
 * back by ll_crash_thread_fini(): without that, its owner would free ours
 * (or nothing) and its own would leak. */
#include <errno.h>
#include <pthread.h>
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
/* Someone else's (smaller) alternate stack that ours replaced: put back
 * by ll_crash_thread_fini(), so that its owner (a runtime such as ASan, or
 * the program) still finds and frees its own stack at thread exit. */
static __thread stack_t prev_ss;
static __thread int have_prev;

static int is_ours(const stack_t *cur)
{
	return own_map && !(cur->ss_flags & SS_DISABLE) &&
	       (char *)cur->ss_sp == (char *)own_map + (own_len - cur->ss_size);
}

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int have_key;

static void at_thread_exit(void *unused)
{
	(void)unused;
	ll_crash_thread_fini();
}

static void make_key(void)
{
	have_key = pthread_key_create(&exit_key, at_thread_exit) == 0;
}

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
	if (!(cur.ss_flags & SS_DISABLE) && !is_ours(&cur)) {
		prev_ss = cur;
		prev_ss.ss_flags = 0;
		have_prev = 1;
	}
	if (own_map)
		munmap(own_map, own_len);
	own_map = map;
	own_len = size + page;
	/* Any non-NULL value: the destructor runs at thread exit. */
	pthread_once(&key_once, make_key);
	if (have_key)
		pthread_setspecific(exit_key, &own_map);
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
	/* Only touch the alternate stack if it is still ours; put back the
	 * one ours replaced, if any. */
	if (is_ours(&cur) && sigaltstack(have_prev ? &prev_ss : &ss, NULL) < 0)
		return -errno;
	munmap(own_map, own_len);
	own_map = NULL;
	own_len = 0;
	have_prev = 0;
	if (have_key)
		pthread_setspecific(exit_key, NULL);
	return 0;
}
