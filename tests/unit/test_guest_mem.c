/* Guest RAM: the PC layout around the hole below 4 GiB, every edge of
 * guest_mem_ptr's range check, and copies that must not half-happen. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/guest_mem.h"
#include "test.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

TEST(layout_128m)
{
	struct guest_mem gm;
	CHECK_EQ(guest_mem_init_pc(&gm, 128 * MiB), 0);
	CHECK_EQ(gm.nr_regions, 1);
	CHECK_EQ(gm.ram_size, 128 * MiB);
	CHECK_EQ(gm.regions[0].gpa, 0);
	CHECK_EQ(gm.regions[0].size, 128 * MiB);
	CHECK(gm.regions[0].hva == gm.base);
	CHECK_EQ(gm.regions[0].slot, 0);
	CHECK_EQ(guest_mem_lowmem_end(&gm), 128 * MiB);
	CHECK(guest_mem_is_ram(&gm, 0));
	CHECK(guest_mem_is_ram(&gm, 128 * MiB - 1));
	CHECK(!guest_mem_is_ram(&gm, 128 * MiB));
	CHECK(!guest_mem_is_ram(&gm, PC_HIGHMEM_BASE));
	CHECK(!guest_mem_is_ram(&gm, UINT64_MAX));
	/* fresh RAM reads as zeros */
	uint8_t buf[16] = { 1 };
	CHECK_EQ(guest_mem_read(&gm, 64 * MiB, buf, sizeof(buf)), 0);
	CHECK_EQ(buf[0], 0);
	guest_mem_destroy(&gm);
	CHECK(gm.base == NULL);
	CHECK_EQ(gm.nr_regions, 0);
	CHECK(guest_mem_ptr(&gm, 0, 1) == NULL);
}

/* 4 GiB is mapped without reserving it; skip where even that is refused */
static bool init_or_skip(struct guest_mem *gm, uint64_t size)
{
	int ret = guest_mem_init_pc(gm, size);
	if (ret == -ENOMEM)
		return false;
	CHECK_EQ(ret, 0);
	return ret == 0;
}

TEST(layout_4g)
{
	struct guest_mem gm;
	if (!init_or_skip(&gm, 4 * GiB))
		SKIP("cannot map 4 GiB of address space");
	CHECK_EQ(gm.nr_regions, 2);
	CHECK_EQ(gm.ram_size, 4 * GiB);
	CHECK_EQ(gm.regions[0].gpa, 0);
	CHECK_EQ(gm.regions[0].size, PC_LOWMEM_LIMIT);
	CHECK_EQ(gm.regions[1].gpa, PC_HIGHMEM_BASE);
	CHECK_EQ(gm.regions[1].size, 4 * GiB - PC_LOWMEM_LIMIT);
	CHECK(gm.regions[1].hva == gm.base + PC_LOWMEM_LIMIT);
	CHECK(gm.regions[0].slot != gm.regions[1].slot);
	CHECK_EQ(guest_mem_lowmem_end(&gm), 0xC0000000ull);

	CHECK(guest_mem_is_ram(&gm, 0xBFFFFFFFull));
	CHECK(!guest_mem_is_ram(&gm, 0xC0000000ull));
	CHECK(!guest_mem_is_ram(&gm, 0xFEE00000ull));
	CHECK(!guest_mem_is_ram(&gm, 0xFFFFFFFFull));
	CHECK(guest_mem_is_ram(&gm, 0x100000000ull));
	CHECK(guest_mem_is_ram(&gm, 0x13FFFFFFFull));
	CHECK(!guest_mem_is_ram(&gm, 0x140000000ull));

	/* the same host byte seen through the high region */
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE, 1) == gm.base + PC_LOWMEM_LIMIT);
	guest_mem_destroy(&gm);
}

TEST(layout_edges_of_the_hole)
{
	struct guest_mem gm;
	/* exactly the low limit: no high region */
	if (!init_or_skip(&gm, PC_LOWMEM_LIMIT))
		SKIP("cannot map 3 GiB of address space");
	CHECK_EQ(gm.nr_regions, 1);
	CHECK_EQ(guest_mem_lowmem_end(&gm), PC_LOWMEM_LIMIT);
	CHECK(!guest_mem_is_ram(&gm, PC_HIGHMEM_BASE));
	guest_mem_destroy(&gm);

	/* one page more: a one-page high region at 4 GiB */
	if (!init_or_skip(&gm, PC_LOWMEM_LIMIT + 4096))
		SKIP("cannot map 3 GiB of address space");
	CHECK_EQ(gm.nr_regions, 2);
	CHECK_EQ(gm.regions[1].gpa, PC_HIGHMEM_BASE);
	CHECK_EQ(gm.regions[1].size, 4096);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE + 4095, 1) != NULL);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE + 4096, 1) == NULL);
	guest_mem_destroy(&gm);
}

TEST(init_refuses_bad_sizes)
{
	struct guest_mem gm;
	CHECK_EQ(guest_mem_init_pc(&gm, 0), -EINVAL);
	CHECK(gm.base == NULL);
	CHECK_EQ(guest_mem_init_pc(&gm, GUEST_MEM_MAX_SIZE + 1), -EINVAL);
	CHECK_EQ(guest_mem_init_pc(&gm, UINT64_MAX), -EINVAL);
	CHECK(gm.base == NULL);
	CHECK_EQ(gm.nr_regions, 0);
	guest_mem_destroy(&gm);	/* harmless after a failure */
}

TEST(ptr_edges)
{
	struct guest_mem gm;
	const uint64_t size = 128 * MiB;
	CHECK_EQ(guest_mem_init_pc(&gm, size), 0);
	uint8_t *base = gm.base;

	CHECK(guest_mem_ptr(&gm, 0, 1) == base);
	CHECK(guest_mem_ptr(&gm, 0, size) == base);
	CHECK(guest_mem_ptr(&gm, 0, size + 1) == NULL);
	CHECK(guest_mem_ptr(&gm, size - 1, 1) == base + size - 1);	/* last byte */
	CHECK(guest_mem_ptr(&gm, size - 1, 2) == NULL);			/* one past */
	CHECK(guest_mem_ptr(&gm, size - 8, 8) == base + size - 8);
	CHECK(guest_mem_ptr(&gm, size - 8, 9) == NULL);
	CHECK(guest_mem_ptr(&gm, size, 1) == NULL);
	CHECK(guest_mem_ptr(&gm, size + 1, 1) == NULL);
	/* len 0 is one byte */
	CHECK(guest_mem_ptr(&gm, size - 1, 0) == base + size - 1);
	CHECK(guest_mem_ptr(&gm, size, 0) == NULL);
	/* lengths and addresses that wrap around 2^64 */
	CHECK(guest_mem_ptr(&gm, UINT64_MAX, 1) == NULL);
	CHECK(guest_mem_ptr(&gm, UINT64_MAX, 2) == NULL);
	CHECK(guest_mem_ptr(&gm, UINT64_MAX - 3, 8) == NULL);
	CHECK(guest_mem_ptr(&gm, 1, UINT64_MAX) == NULL);
	CHECK(guest_mem_ptr(&gm, 0, UINT64_MAX) == NULL);
	CHECK(guest_mem_ptr(&gm, size - 1, UINT64_MAX) == NULL);
	CHECK(guest_mem_ptr(&gm, 16, UINT64_MAX - 15) == NULL);	/* gpa + len == 2^64 */
	CHECK(guest_mem_ptr(&gm, 16, UINT64_MAX - 7) == NULL);	/* gpa + len wraps to 8 */
	guest_mem_destroy(&gm);
}

TEST(ptr_edges_4g)
{
	struct guest_mem gm;
	if (!init_or_skip(&gm, 5 * GiB))
		SKIP("cannot map 5 GiB of address space");
	const uint64_t high_end = PC_HIGHMEM_BASE + 5 * GiB - PC_LOWMEM_LIMIT;
	CHECK(guest_mem_ptr(&gm, PC_LOWMEM_LIMIT - 4, 4) == gm.base + PC_LOWMEM_LIMIT - 4);
	CHECK(guest_mem_ptr(&gm, PC_LOWMEM_LIMIT - 4, 5) == NULL);	/* into the hole */
	CHECK(guest_mem_ptr(&gm, PC_LOWMEM_LIMIT, 1) == NULL);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE - 1, 1) == NULL);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE - 1, 2) == NULL);	/* hole into high RAM */
	/* low and high RAM are adjacent in the host mapping: never one pointer */
	const uint64_t hole = PC_HIGHMEM_BASE - PC_LOWMEM_LIMIT;
	CHECK(guest_mem_ptr(&gm, PC_LOWMEM_LIMIT - 1, hole + 2) == NULL);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE, 1) == gm.base + PC_LOWMEM_LIMIT);
	CHECK(guest_mem_ptr(&gm, high_end - 1, 1) == gm.base + 5 * GiB - 1);
	CHECK(guest_mem_ptr(&gm, high_end - 1, 2) == NULL);
	CHECK(guest_mem_ptr(&gm, high_end, 1) == NULL);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE, high_end - PC_HIGHMEM_BASE) != NULL);
	CHECK(guest_mem_ptr(&gm, PC_HIGHMEM_BASE, high_end - PC_HIGHMEM_BASE + 1) == NULL);
	CHECK(guest_mem_ptr(&gm, high_end - 1, UINT64_MAX) == NULL);
	guest_mem_destroy(&gm);
}

TEST(read_write_round_trip)
{
	struct guest_mem gm;
	CHECK_EQ(guest_mem_init_pc(&gm, 16 * MiB), 0);
	uint8_t out[10000], in[10000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	/* across page boundaries */
	CHECK_EQ(guest_mem_write(&gm, 0x1ff0, out, sizeof(out)), 0);
	CHECK(!memcmp(gm.base + 0x1ff0, out, sizeof(out)));
	memset(in, 0, sizeof(in));
	CHECK_EQ(guest_mem_read(&gm, 0x1ff0, in, sizeof(in)), 0);
	CHECK(!memcmp(in, out, sizeof(in)));
	/* right up to the end */
	CHECK_EQ(guest_mem_write(&gm, 16 * MiB - 4, out, 4), 0);
	CHECK_EQ(guest_mem_read(&gm, 16 * MiB - 4, in, 4), 0);
	CHECK(!memcmp(in, out, 4));
	/* nothing to copy is always fine */
	CHECK_EQ(guest_mem_write(&gm, 0, out, 0), 0);
	CHECK_EQ(guest_mem_read(&gm, 16 * MiB, in, 0), 0);
	guest_mem_destroy(&gm);
}

/* A memfd behind the RAM: shared, another mapping of the fd (what a
 * vhost-user back-end makes) sees the guest's bytes and the guest sees
 * its; private, the fd keeps its own copy; the fd cannot be shrunk */
TEST(memfd_shared_and_private)
{
	struct guest_mem gm;
	uint64_t size = 3 * GiB + 16 * MiB;	/* two regions: the hole splits it */
	CHECK_EQ(guest_mem_init_pc_memfd(&gm, size, true), 0);
	CHECK(gm.fd >= 0 && gm.shared);
	CHECK_EQ(gm.nr_regions, 2);
	uint8_t *other = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, gm.fd, 0);
	CHECK(other != MAP_FAILED);
	CHECK_EQ(guest_mem_write(&gm, PC_HIGHMEM_BASE + 5, "guest", 5), 0);
	CHECK(!memcmp(other + PC_LOWMEM_LIMIT + 5, "guest", 5));
	memcpy(other + 0x1000, "device", 6);
	char in[6];
	CHECK_EQ(guest_mem_read(&gm, 0x1000, in, 6), 0);
	CHECK(!memcmp(in, "device", 6));
	CHECK(ftruncate(gm.fd, 4096) < 0);
	munmap(other, size);
	guest_mem_destroy(&gm);

	CHECK_EQ(guest_mem_init_pc_memfd(&gm, 16 * MiB, false), 0);
	CHECK(gm.fd >= 0 && !gm.shared);
	other = mmap(NULL, 16 * MiB, PROT_READ, MAP_SHARED, gm.fd, 0);
	CHECK(other != MAP_FAILED);
	CHECK_EQ(guest_mem_write(&gm, 0, "private", 7), 0);
	CHECK(memcmp(other, "private", 7) != 0);
	munmap(other, 16 * MiB);
	guest_mem_destroy(&gm);

	CHECK_EQ(guest_mem_init_pc_memfd(&gm, 0, true), -EINVAL);
	/* anonymous RAM has no fd */
	CHECK_EQ(guest_mem_init_pc(&gm, 16 * MiB), 0);
	CHECK_EQ(gm.fd, -1);
	guest_mem_destroy(&gm);
}

TEST(failed_copies_change_nothing)
{
	struct guest_mem gm;
	const uint64_t size = 16 * MiB;
	CHECK_EQ(guest_mem_init_pc(&gm, size), 0);
	uint8_t ones[64], buf[64];
	memset(ones, 0xff, sizeof(ones));

	/* across the end of RAM */
	CHECK_EQ(guest_mem_write(&gm, size - 8, ones, 16), -EFAULT);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(gm.base[size - 8 + i], 0);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(guest_mem_read(&gm, size - 8, buf, 16), -EFAULT);
	CHECK_EQ(buf[0], 0x5a);
	CHECK_EQ(buf[15], 0x5a);
	/* wholly outside, and wrapping */
	CHECK_EQ(guest_mem_write(&gm, size, ones, 1), -EFAULT);
	CHECK_EQ(guest_mem_write(&gm, UINT64_MAX, ones, 2), -EFAULT);
	CHECK_EQ(guest_mem_write(&gm, UINT64_MAX - 3, ones, 8), -EFAULT);
	CHECK_EQ(guest_mem_read(&gm, UINT64_MAX - 3, buf, 8), -EFAULT);
	CHECK_EQ(guest_mem_write(&gm, 0, ones, SIZE_MAX), -EFAULT);
	CHECK_EQ(gm.base[0], 0);
	guest_mem_destroy(&gm);
}

TEST(copies_across_the_hole_fail_whole)
{
	struct guest_mem gm;
	if (!init_or_skip(&gm, 4 * GiB))
		SKIP("cannot map 4 GiB of address space");
	uint8_t ones[32], buf[32];
	memset(ones, 0xff, sizeof(ones));

	/* from the last low bytes into the hole */
	CHECK_EQ(guest_mem_write(&gm, PC_LOWMEM_LIMIT - 8, ones, 16), -EFAULT);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(gm.base[PC_LOWMEM_LIMIT - 8 + i], 0);
	/* from the hole into high RAM */
	CHECK_EQ(guest_mem_write(&gm, PC_HIGHMEM_BASE - 4, ones, 8), -EFAULT);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(gm.base[PC_LOWMEM_LIMIT + i], 0);
	/* all of the hole and both sides */
	CHECK_EQ(guest_mem_write(&gm, PC_LOWMEM_LIMIT - 1, ones,
				 PC_HIGHMEM_BASE - PC_LOWMEM_LIMIT + 2), -EFAULT);
	CHECK_EQ(gm.base[PC_LOWMEM_LIMIT - 1], 0);
	CHECK_EQ(gm.base[PC_LOWMEM_LIMIT], 0);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(guest_mem_read(&gm, PC_LOWMEM_LIMIT - 8, buf, 16), -EFAULT);
	CHECK_EQ(buf[0], 0x5a);
	/* either side on its own works */
	CHECK_EQ(guest_mem_write(&gm, PC_LOWMEM_LIMIT - 8, ones, 8), 0);
	CHECK_EQ(gm.base[PC_LOWMEM_LIMIT - 1], 0xff);
	CHECK_EQ(guest_mem_write(&gm, PC_HIGHMEM_BASE, ones, 8), 0);
	CHECK_EQ(gm.base[PC_LOWMEM_LIMIT], 0xff);
	CHECK_EQ(guest_mem_read(&gm, PC_HIGHMEM_BASE, buf, 8), 0);
	CHECK_EQ(buf[7], 0xff);
	/* the end of high RAM */
	CHECK_EQ(guest_mem_write(&gm, PC_HIGHMEM_BASE + GiB - 4, ones, 8), -EFAULT);
	CHECK_EQ(gm.base[4 * GiB - 4], 0);
	guest_mem_destroy(&gm);
}

RUN_TESTS(T(layout_128m), T(layout_4g), T(layout_edges_of_the_hole), T(init_refuses_bad_sizes),
	  T(ptr_edges), T(ptr_edges_4g), T(read_write_round_trip), T(memfd_shared_and_private), T(failed_copies_change_nothing),
	  T(copies_across_the_hole_fail_whole))
