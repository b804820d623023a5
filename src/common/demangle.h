/* demangle.h: C++ (and Rust) symbol names made readable, for every printer
 * of function names (symbolize, the core analysis, cores list --top). Not
 * installed, not exported from liblifeline.so (hidden visibility). */
#ifndef LL_DEMANGLE_H
#define LL_DEMANGLE_H

#include <stdbool.h>

/* The demangled form of name as `c++filt` prints it ("srv::handle(
 * std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)"), malloc'ed;
 * NULL when name is not a mangled C++ ("_Z...") or Rust v0 ("_R...") name
 * the demangler understands (every C name), or on ENOMEM. The caller frees
 * it. Not async-signal-safe (it allocates): the crash handler prints
 * mangled names. */
__attribute__((visibility("hidden"))) char *ll_demangle(const char *name);

/* name demangled when demangle is true and ll_demangle() gives something,
 * else name itself (NULL stays NULL). *to_free receives the malloc'ed
 * string to free afterwards, or NULL. */
__attribute__((visibility("hidden"))) const char *ll_demangle_or(const char *name, bool demangle,
								 char **to_free);

#endif
