/* elfcheck.c: ll_plugin_check_elf(), the plugin's view of the complete-ELF
 * check that lives in src/common/elfcheck.c (shared with the whole-binary
 * upgrade): a plugin must be an ET_DYN shared object with a dynamic section.
 * Then dyncheck.c checks the dynamic tables ld.so will trust (a mix of two
 * versions written in place). */
#include "common/common.h"
#include "lifeline/plugin.h"
#include "plugin/plugin_private.h"

int ll_plugin_check_elf(const void *buf, size_t len, char *why, size_t why_size)
{
	int r = ll_elf_check_complete(buf, len, LL_ELF_SHARED_OBJECT, why, why_size);

	return r < 0 ? r : ll_plugin_check_dynamic(buf, len, why, why_size);
}
