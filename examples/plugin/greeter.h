/* greeter.h: the function table the example host defines for its plugins.
 * A plugin built against another GREETER_ABI is refused by the host. */
#ifndef LL_EXAMPLE_GREETER_H
#define LL_EXAMPLE_GREETER_H

#define GREETER_ABI 1
#define GREETER_NAME "greeter"
/* answer(x) == x + GREETER_STEP * version number: a caller can tell which
 * version answered, and that the answer is whole. */
#define GREETER_STEP 1000000L

struct greeter_api {
	const char *(*version)(void);  /* "v1", "v2", ... */
	int (*number)(void);           /* 1, 2, ... */
	long (*answer)(long x);
	unsigned long (*served)(void); /* calls served, carried across reloads */
};

#endif
