/* The O_DIRECT bounce buffers: 2 MiB-aligned, kept for reuse up to a
 * bound, larger ones mapped and unmapped each time, small ones from the
 * heap */
#include <stdint.h>
#include <string.h>

#include "block/bounce.h"
#include "test.h"

#define MiB (1u << 20)

TEST(aligned_and_reused)
{
	struct bounce_pool p;
	bounce_pool_init(&p);
	void *a = bounce_get(&p, BOUNCE_HEAP_BELOW);
	CHECK(a != NULL);
	CHECK_EQ((uintptr_t)a % (2 * MiB), 0);
	memset(a, 0x5a, BOUNCE_HEAP_BELOW);
	bounce_put(&p, a, BOUNCE_HEAP_BELOW);
	/* any size from 64 KiB up to the kept one takes it back */
	void *b = bounce_get(&p, BOUNCE_KEEP_SIZE);
	CHECK(b == a);
	bounce_put(&p, b, BOUNCE_KEEP_SIZE);
	bounce_pool_destroy(&p);
}

TEST(keeps_a_bounded_number)
{
	struct bounce_pool p;
	bounce_pool_init(&p);
	void *bufs[BOUNCE_KEEP_COUNT + 3];
	for (unsigned i = 0; i < BOUNCE_KEEP_COUNT + 3; i++) {
		bufs[i] = bounce_get(&p, MiB);
		CHECK(bufs[i] != NULL);
		CHECK_EQ((uintptr_t)bufs[i] % (2 * MiB), 0);
		memset(bufs[i], (int)i, MiB);
	}
	for (unsigned i = 0; i < BOUNCE_KEEP_COUNT + 3; i++)
		bounce_put(&p, bufs[i], MiB);
	CHECK_EQ(p.nkept, BOUNCE_KEEP_COUNT);
	bounce_pool_destroy(&p);
}

TEST(small_from_the_heap)
{
	struct bounce_pool p;
	bounce_pool_init(&p);
	uint8_t *a = bounce_get(&p, 512);
	CHECK(a != NULL);
	CHECK_EQ((uintptr_t)a % BOUNCE_HEAP_BELOW, 0);
	memset(a, 2, 512);
	bounce_put(&p, a, 512);
	CHECK_EQ(p.nkept, 0);
	bounce_pool_destroy(&p);
}

TEST(larger_than_kept)
{
	struct bounce_pool p;
	bounce_pool_init(&p);
	size_t len = 3 * MiB + 4096;
	uint8_t *a = bounce_get(&p, len);
	CHECK(a != NULL);
	CHECK_EQ((uintptr_t)a % (2 * MiB), 0);
	memset(a, 1, len);
	CHECK_EQ(a[len - 1], 1);
	bounce_put(&p, a, len);
	CHECK_EQ(p.nkept, 0);
	bounce_pool_destroy(&p);
}

RUN_TESTS(T(aligned_and_reused), T(keeps_a_bounded_number), T(small_from_the_heap),
	  T(larger_than_kept))
