/* version.c: the library's version, from the build configuration. */
#include "ll_config.h"
#include "lifeline/lifeline.h"

const char *ll_version(void)
{
	return LL_VERSION;
}
