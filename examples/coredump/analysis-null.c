/* analysis-null.c: crashes with a NULL pointer dereference in a named
 * function (used by tests/inspect/core). */
#include <stdio.h>
#include <stdlib.h>

struct record {
	long id;
	long flags;
	const char *name;
};

__attribute__((noipa)) static long parse_record(const struct record *r)
{
	/* r is NULL: reads address 0x10 */
	return (long)r->name[0] + r->id;
}

__attribute__((noipa)) static struct record *lookup(int argc)
{
	static struct record known = { 1, 0, "one" };

	return argc > 5 ? &known : NULL;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%ld\n", parse_record(lookup(argc)));
	return 0;
}
