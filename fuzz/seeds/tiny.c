/* tiny.c: a program without libc whose core is a few pages (make-seeds.sh):
 * a store through a null pointer from _start. */
void _start(void)
{
	volatile int *volatile p = 0;

	*p = 42;
	for (;;)
		;
}
