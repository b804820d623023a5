/* analysis-plugin-small.c: the new, much smaller version of the plugin
 * copied over the loaded one (used by tests/inspect/core). */
long plugin_run(long x)
{
	return x + 2;
}
