/* mbinfo: prints the Multiboot information the guest was entered with --
 * flags, memory sizes, command line, modules (where, how long, their
 * strings and a checksum of their bytes) and the memory map -- so that the
 * scripts can compare what minivmm's loaders give with what QEMU's give. */
#include "libg.h"

extern uint32_t boot_info;

static uint32_t rd32(uint32_t a)
{
	return *(volatile uint32_t *)a;
}

static uint64_t rd64(uint32_t a)
{
	return rd32(a) | (uint64_t)rd32(a + 4) << 32;
}

void main(void)
{
	serial_init();
	uint32_t mbi = boot_info;
	uint32_t flags = rd32(mbi);
	printf("mbinfo: flags %x\n", flags);
	if (flags & 1)
		printf("mem_lower %u KiB, mem_upper %u KiB\n", rd32(mbi + 4), rd32(mbi + 8));
	if (flags & 4)
		printf("cmdline '%s'\n", (const char *)rd32(mbi + 16));
	if (flags & 8) {
		uint32_t n = rd32(mbi + 20), list = rd32(mbi + 24);
		printf("modules %u at %x\n", n, list);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t e = list + 16 * i, start = rd32(e), end = rd32(e + 4);
			uint32_t sum = 0;
			for (uint32_t a = start; a < end; a++)
				sum = sum * 31 + *(volatile uint8_t *)a;
			printf("module %u: %x-%x (%u bytes, sum %x) '%s'\n", i, start, end, end - start,
			       sum, (const char *)rd32(e + 8));
		}
	}
	if (flags & 64) {
		uint32_t len = rd32(mbi + 44), a = rd32(mbi + 48);
		printf("mmap %u bytes at %x\n", len, a);
		for (uint32_t p = a; p < a + len; p += rd32(p) + 4)
			printf("  %llx +%llx type %u\n", (unsigned long long)rd64(p + 4),
			       (unsigned long long)rd64(p + 12), rd32(p + 20));
	}
	check((flags & 0x4d) == 0x4d, "memory sizes, command line, modules and memory map given");
	finish();
}
