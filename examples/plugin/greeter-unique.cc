// greeter-unique.cc: the greeter plugin in C++, with a template's inline
// static member: g++ emits it as an STB_GNU_UNIQUE symbol, and glibc then
// never unloads the object (dlclose leaves it mapped). The host must notice
// and say why. Version number 10.
#include <lifeline/plugin.h>

#include "greeter.h"

template <typename T> struct counter {
	static inline T value = 0;
};

static const char *version()
{
	return "v10";
}

static int number()
{
	return 10;
}

static long answer(long x)
{
	counter<unsigned long>::value++;
	return x + GREETER_STEP * 10;
}

static unsigned long served()
{
	return counter<unsigned long>::value;
}

static const greeter_api api = { version, number, answer, served };

LL_PLUGIN(.name = GREETER_NAME, .abi = GREETER_ABI, .table = &api);
