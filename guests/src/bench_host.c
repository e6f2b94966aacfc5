/* The benchmark's C built for the host: prints what the guest must print. */
#include <inttypes.h>
#include <stdio.h>

#include "bench.c"

void bench_print(const char *name, uint64_t value)
{
	printf("%s 0x%016" PRIx64 "\n", name, value);
}

int main(void)
{
	printf("bench: scale %d\n", BENCH_SCALE);
	bench_run();
	printf("bench: done\n");
	return 0;
}
