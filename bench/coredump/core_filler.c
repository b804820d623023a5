/* core_filler: fills N MiB of its memory with data shaped like a real
 * server's heap, then crashes (SIGSEGV) so the kernel writes an ELF core of
 * about that size. Used by bench/coredump/run.sh (not a test).
 *
 *   core-filler MIB
 *
 * The memory is made of 64 KiB chunks, in a fixed pseudo-random order:
 * 30% text records ("id=... name=... email=..."), 25% arrays of pointers
 * into the heap, 20% random bytes (compressed or encrypted payloads), 25%
 * zeroes (untouched buffers, padding). Deterministic (fixed seed). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const names[] = { "alice", "bob", "carol", "dave", "erin", "frank", "grace",
				     "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy" };
static const char *const states[] = { "active", "suspended", "pending", "closed" };

static void fill_text(char *p, size_t n)
{
	size_t i = 0;

	while (i + 128 < n) {
		uint64_t r = next();
		int l = snprintf(p + i, n - i,
				 "{\"id\":%llu,\"name\":\"%s\",\"email\":\"%s%u@example.com\",\"state\":\"%s\","
				 "\"balance\":%u.%02u}\n",
				 (unsigned long long)(r % 10000000), names[r % 14], names[(r >> 8) % 14],
				 (unsigned)((r >> 16) % 1000), states[(r >> 24) % 4],
				 (unsigned)((r >> 32) % 100000), (unsigned)((r >> 48) % 100));
		if (l <= 0)
			break;
		i += (size_t)l;
	}
}

static void fill_pointers(char *p, size_t n, uintptr_t base, size_t span)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t r = next();
		uintptr_t v = (r & 3) == 0 ? 0 : base + ((r >> 8) % span & ~(uintptr_t)15);

		memcpy(p + i, &v, 8);
	}
}

static void fill_random(char *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t r = next();

		memcpy(p + i, &r, 8);
	}
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, size = mib << 20;
	const size_t chunk = 64 << 10;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t off = 0; off < size; off += chunk) {
		unsigned kind = (unsigned)(next() % 100);

		if (kind < 30)
			fill_text(mem + off, chunk);
		else if (kind < 55)
			fill_pointers(mem + off, chunk, (uintptr_t)mem, size);
		else if (kind < 75)
			fill_random(mem + off, chunk);
		else
			mem[off] = 0; /* touched, so it is dumped, but zero */
	}
	setrlimit(RLIMIT_CORE, &rl);
	fprintf(stderr, "core-filler: %zu MiB filled, crashing\n", mib);
	raise(SIGSEGV);
	return 1;
}
