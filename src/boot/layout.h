/* Where the boot path puts its own structures in guest RAM.
 *
 * Low memory as the loaders and boot_setup_cpu use it:
 *
 *   0x00000-0x004ff  real-mode IVT and BIOS data area: left alone
 *   0x00500-0x005ff  GDT (0x500) and the TSS that TR points at (0x580)
 *   0x01000-0x01fff  boot information: the Multiboot information structure
 *                    or the PVH hvm_start_info (0x1000), the e820-like
 *                    memory map (0x1200), the module list (0x1400); for a
 *                    Linux kernel the whole page is the zero page (struct
 *                    boot_params), e820 table included
 *   0x02000-0x06fff  strings the boot information points at: command
 *                    line, module strings, boot loader name; for Linux
 *                    only the command line, from 0x2000
 *   0x07000-0x07bff  initial stack: ESP/RSP = 0x7c00 at entry
 *   0x07c00-0x07dff  a 512-byte boot sector, entered in real mode
 *   0x09000-...      long mode identity page tables: PML4 (0x9000), one
 *                    PDPT (0xa000), then one page directory of 2 MiB pages
 *                    per GiB from 0xb000 (at least 4, never past 0x9f000)
 *   0x9fc00-0x9ffff  reported as reserved (EBDA) in the memory map, as is
 *   0xf0000-0xfffff  (BIOS); 0xa0000-0xeffff (VGA, option ROMs) is left out
 *   0xe0000-0xeffff  ACPI tables, RSDP first (boot/acpi.h), written for
 *                    Linux kernels and then reported as ACPI data
 *   0x100000         a raw binary; Multiboot modules and the PVH initrd go
 *                    page-aligned after the kernel, never below here
 *
 * A loader refuses an image that overlaps a structure the chosen boot
 * protocol uses, so what it loads is never overwritten by what we build. */
#ifndef MINIVMM_BOOT_LAYOUT_H
#define MINIVMM_BOOT_LAYOUT_H

#include <stdint.h>

#define BOOT_GDT_ADDR 0x500ull
#define BOOT_TSS_ADDR 0x580ull
#define BOOT_TSS_SIZE 0x68ull	/* a 32-bit TSS without I/O bitmap */
#define BOOT_GDT_AREA_END 0x600ull

#define BOOT_INFO_ADDR 0x1000ull	/* Multiboot info or hvm_start_info */
#define BOOT_MEMMAP_ADDR 0x1200ull
#define BOOT_MEMMAP_MAX 16		/* entries */
#define BOOT_MODLIST_ADDR 0x1400ull
#define BOOT_MODULES_MAX 64
#define BOOT_INFO_END 0x2000ull
#define BOOT_STRINGS_ADDR 0x2000ull
#define BOOT_STRINGS_END 0x7000ull

#define BOOT_STACK_BOTTOM 0x7000ull
#define BOOT_STACK_TOP 0x7c00ull
#define BOOT_SECTOR_ADDR 0x7c00ull
#define BOOT_SECTOR_SIZE 512ull

#define BOOT_PML4_ADDR 0x9000ull
#define BOOT_PDPT_ADDR 0xa000ull
#define BOOT_PD_ADDR 0xb000ull
#define BOOT_PT_LIMIT 0x9f000ull	/* the page directories end below this */
#define BOOT_PD_MIN 4			/* always map the first 4 GiB */
#define BOOT_PD_MAX ((BOOT_PT_LIMIT - BOOT_PD_ADDR) / 0x1000)

/* Linux: the zero page and the command line it points at */
#define BOOT_ZEROPAGE_ADDR BOOT_INFO_ADDR
#define BOOT_ZEROPAGE_SIZE 0x1000ull
#define BOOT_CMDLINE_ADDR BOOT_STRINGS_ADDR
#define BOOT_CMDLINE_END BOOT_STRINGS_END

#define BOOT_RAW_ADDR 0x100000ull
#define BOOT_MODULES_MIN 0x100000ull

/* Segment selectors in our GDT */
#define BOOT_SEL_CODE64 0x08
#define BOOT_SEL_CODE32 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_TSS 0x20	/* 16 bytes: a 64-bit system descriptor */
#define BOOT_GDT_LIMIT 0x2f

/* Which boot structures an image must stay clear of */
enum boot_area {
	BOOT_AREA_GDT = 1u << 0,	/* GDT and TSS: every protected/long mode entry */
	BOOT_AREA_INFO = 1u << 1,	/* boot information and strings (Multiboot, PVH) */
	BOOT_AREA_STACK = 1u << 2,	/* the initial stack */
	BOOT_AREA_PAGETABLES = 1u << 3,	/* long mode page tables */
	BOOT_AREA_ACPI = 1u << 4,	/* ACPI tables (Linux) */
};

struct guest_mem;

/* How many page directories boot_setup_cpu writes for this RAM */
unsigned boot_pd_count(const struct guest_mem *gm);
/* One past the last byte of the page tables */
uint64_t boot_pagetables_end(const struct guest_mem *gm);

#endif
