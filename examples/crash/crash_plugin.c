/* crash_plugin.c: libcrashplugin.so, a plugin that crashes.
 *
 * crashme dlopen()s it after the crash reporter is installed (a module the
 * reporter learns about only at crash time) and calls plugin_run() with a
 * configuration whose slot pointer is NULL: the NULL store happens in
 * store_setting(), which is inlined into plugin_run(), so the report names
 * plugin_run and `lifeline symbolize` can show the inlined frame. */
#include <stddef.h>

struct plugin_conf {
	const char *name;
	int *slot;
};

/* Inlined into plugin_run: the faulting store belongs to this function in
 * the debug info (DW_TAG_inlined_subroutine), not to its caller. */
__attribute__((always_inline, no_sanitize("undefined"))) static inline void
store_setting(struct plugin_conf *c, int v)
{
	int scaled = v * 2 + 1;

	if (c->name && c->name[0] == '\0')
		scaled = 0;
	*c->slot = scaled;
}

__attribute__((visibility("default"), noinline, no_sanitize("undefined")))
int plugin_run(struct plugin_conf *c, int v)
{
	int before = c->name ? (int)c->name[0] : 0;

	store_setting(c, v + before);
	return c->name ? 1 : 0;
}
