/* The benchmark as a guest: the work in bench.c, results on COM1. */
#include "libg.h"

#include "bench.c"

void bench_print(const char *name, uint64_t value)
{
	printf("%s %llx\n", name, (unsigned long long)value);
}

void main(void)
{
	serial_init();
	printf("bench: scale %u\n", BENCH_SCALE);
	bench_run();
	puts("bench: done\n");
	debug_exit(EXIT_PASS);
}
