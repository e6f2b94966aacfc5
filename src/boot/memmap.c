/* The memory map a Multiboot or PVH guest is told about, e820 style: RAM
 * below the EBDA, the legacy reserved holes, RAM from 1 MiB to the PCI
 * hole, and RAM above 4 GiB. */
#include "boot/acpi.h"
#include "boot/loaders.h"
#include "mem/guest_mem.h"

#define EBDA_START 0x9fc00ull
#define EBDA_END 0xa0000ull
#define BIOS_START 0xf0000ull
#define HIGH_START 0x100000ull

static int memmap_add(struct boot_memmap_entry *map, int n, int max, uint64_t addr,
		      uint64_t end, uint32_t type)
{
	if (end <= addr || n >= max)
		return n;
	map[n] = (struct boot_memmap_entry){ .addr = addr, .size = end - addr, .type = type };
	return n + 1;
}

static int memmap_build(const struct guest_mem *gm, struct boot_memmap_entry *map, int max,
			bool acpi)
{
	uint64_t low_end = guest_mem_lowmem_end(gm);
	int n = 0;

	n = memmap_add(map, n, max, 0, low_end < EBDA_START ? low_end : EBDA_START, E820_RAM);
	if (low_end > EBDA_START)
		n = memmap_add(map, n, max, EBDA_START, EBDA_END, E820_RESERVED);
	if (acpi)
		n = memmap_add(map, n, max, ACPI_AREA_ADDR, ACPI_AREA_END, E820_ACPI);
	n = memmap_add(map, n, max, BIOS_START, HIGH_START, E820_RESERVED);
	n = memmap_add(map, n, max, HIGH_START, low_end, E820_RAM);
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct mem_region *r = &gm->regions[i];
		if (r->gpa >= PC_HIGHMEM_BASE)
			n = memmap_add(map, n, max, r->gpa, r->gpa + r->size, E820_RAM);
	}
	return n;
}

int boot_memmap(const struct guest_mem *gm, struct boot_memmap_entry *map, int max)
{
	return memmap_build(gm, map, max, false);
}

int boot_memmap_acpi(const struct guest_mem *gm, struct boot_memmap_entry *map, int max)
{
	return memmap_build(gm, map, max, true);
}
