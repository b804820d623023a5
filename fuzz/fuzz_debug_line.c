/* fuzz_debug_line.c: libFuzzer target for the symbolizer's own .debug_line
 * reader (src/inspect/symbol/dwarf_line.c). The input's first byte picks
 * the address size (4 or 8), byte order and whether a comp_dir is given;
 * the rest is the .debug_line section, and also serves as .debug_str and
 * .debug_line_str (DWARF 5 file names point into them). The line table at
 * offset 0 is read; every row's file must be one of the table's names.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address -Db_lundef=false
 *   ninja -C build-fuzz fuzz/fuzz_debug_line
 *   build-fuzz/fuzz/fuzz_debug_line -max_total_time=60 CORPUS_DIR fuzz/corpus/debug_line */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/symbol/dwarf_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dw_sections s = { 0 };
	struct dw_line_table t;
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* a copy of exactly the section's bytes: reads past it are caught */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	s.p[DW_SEC_LINE] = s.p[DW_SEC_STR] = s.p[DW_SEC_LINE_STR] = copy;
	s.size[DW_SEC_LINE] = s.size[DW_SEC_STR] = s.size[DW_SEC_LINE_STR] = size - 1;
	s.big_endian = data[0] & 2;
	if (dw_line_read(&s, 0, data[0] & 1 ? 8 : 4, data[0] & 4 ? "/comp/dir" : NULL, 1u << 16, &t) == 0) {
		for (size_t i = 0; i < t.nrows; i++) {
			bool known = t.rows[i].file == NULL;

			for (size_t k = 0; k < t.nfnames && !known; k++)
				known = t.rows[i].file == t.fnames[k];
			if (!known)
				abort();
		}
		dw_line_free(&t);
	}
	free(copy);
	return 0;
}
