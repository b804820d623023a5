/* fuzz_util.h: what the libFuzzer targets share: an input as a memfd, a
 * private scratch directory per fuzzing process, and inputs made of named
 * sections that become the files of a fake /proc/PID directory.
 *
 * Sectioned inputs use the format `tail -n +1 FILE...` prints, so a seed is
 * made from real files with one command:
 *
 *   ==> status <==
 *   Name:	cat
 *   ...
 *
 *   ==> stat <==
 *   ...
 *
 * A section runs from the end of its header line to the newline before the
 * next header (or to the end of the input). Only names the target allows
 * become files; some (fd/N, exe, cwd) symbolic links, as in /proc. */
#ifndef LL_FUZZ_UTIL_H
#define LL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A memfd holding data (offset 0), or -1. */
int fz_memfd(const uint8_t *data, size_t size);

/* This process's scratch directory (created on first use under $TMPDIR or
 * /dev/shm, removed at exit); an O_DIRECTORY fd through *dirfd when non-NULL. */
const char *fz_scratch(int *dirfd);

/* One section of a sectioned input. */
struct fz_section {
	const char *name;      /* NUL-terminated copy of the header's name */
	const uint8_t *data;
	size_t len;
};

#define FZ_MAX_SECTIONS 64

/* Split data into at most FZ_MAX_SECTIONS sections; returns their number.
 * Names are copied into namebuf (namebuf_size bytes); longer ones are cut. */
size_t fz_split(const uint8_t *data, size_t size, struct fz_section *v, char *namebuf,
		size_t namebuf_size);

/* Make dirfd hold exactly the sections whose names are in allowed (a
 * NULL-terminated list; an entry "DIR/" admits any decimal name under DIR,
 * up to 64 files in subdirectories; an entry starting with '@' makes
 * symbolic links, the section's first line being the target): everything
 * else in it (from an earlier input) is removed first. Subdirectories are
 * created as needed. */
void fz_fill_dir(int dirfd, const struct fz_section *v, size_t n, const char *const *allowed);

/* Redirect stdout to /dev/null (the CLI targets print). */
void fz_quiet_stdout(void);

#endif
