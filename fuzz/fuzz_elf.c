/* fuzz_elf.c: libFuzzer target for the ELF/DWARF symbolizer and the
 * disassembler. Each input is written to a memfd and opened as a module
 * (no debug-file search: the input alone is read); then a spread of
 * addresses (entry point, every function symbol found by the lookups, a few
 * fixed ones) is symbolized and disassembled.
 *
 *   ./dev.sh fuzz elf 60        (seeds: fuzz/corpus/elf) */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lifeline/inspect/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(struct ll_symbolizer *s, uint64_t addr)
{
	struct ll_sym_result r;
	struct ll_insn *v = NULL;
	size_t n = 0;

	if (ll_symbolize(s, addr, &r) == 0 && r.symbol)
		(void)ll_symbolizer_find_symbol(s, r.symbol, &addr);
	if (ll_disasm(s, addr, 3, 3, &v, &n) == 0)
		free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ll_sym_opts opts = { .flags = LL_SYM_NO_DEBUG_SEARCH };
	struct ll_symbolizer *s = NULL;
	struct ll_sym_info info;
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size)
		goto out;
	if (ll_symbolizer_open_fd(fd, "fuzz-elf", &opts, &s) < 0)
		goto out;
	ll_symbolizer_info(s, &info);
	probe(s, info.entry);
	probe(s, info.entry + 7);
	for (uint64_t a = 0; a < 0x3000; a += 0x1d3)
		probe(s, a);
	probe(s, 0x400000);
	probe(s, UINT64_MAX);
	/* The bytes at the input's own offsets, read as addresses. */
	for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
		uint64_t a;

		__builtin_memcpy(&a, data + i, sizeof(a));
		probe(s, a);
	}
	ll_symbolizer_free(s);
out:
	close(fd);
	return 0;
}
