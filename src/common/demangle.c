/* demangle.c: the one demangler of lifeline, behind every printed name.
 *
 * libiberty's cplus_demangle (static libiberty.a from libiberty-dev) with
 * c++filt's own flags (DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE): the very
 * code binutils' c++filt and addr2line -C run, so a name reads exactly as
 * there (the tests compare with c++filt), and no C++ runtime is pulled into
 * the C services that link liblifeline (libstdc++'s __cxa_demangle would
 * be the same code, but a libstdc++.so dependency for every user, and
 * without the verbose flag c++filt uses). Only names with a mangling prefix
 * are handed to it ("_Z": Itanium C++ ABI, also Rust legacy; "_R": Rust
 * v0): a C name is never changed, whatever it looks like. */
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "common/demangle.h"

char *ll_demangle(const char *name)
{
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE);
}

const char *ll_demangle_or(const char *name, bool demangle, char **to_free)
{
	*to_free = demangle ? ll_demangle(name) : NULL;
	return *to_free ? *to_free : name;
}
