/* cores_gdb.h: `lifeline cores gdb` on a stored core (cores_gdb.c). */
#ifndef LL_CLI_CORES_GDB_H
#define LL_CLI_CORES_GDB_H

#include "lifeline/store.h"

/* Run gdb on e's core. As root: as the crash's uid when the record lets it
 * read the core, else as root with a private sysroot of safely copied
 * regular files; in its own session, killed with its process group after a
 * time limit when stdin is not a terminal. Not root: exec gdb directly.
 * Returns the command's exit code. */
int cores_gdb(int storefd, const struct ll_store_entry *e);

#endif
