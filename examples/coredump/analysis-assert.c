/* analysis-assert.c: fails an assert() (used by tests/inspect/core). */
#undef NDEBUG
#include <assert.h>
#include <stdio.h>

__attribute__((noipa)) static int check_balance(int debits, int credits)
{
	assert(debits == credits && "ledger out of balance");
	return debits - credits;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", check_balance(argc + 3, 3));
	return 0;
}
