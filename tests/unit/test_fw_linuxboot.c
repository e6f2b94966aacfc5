/* -kernel through -bios: the setup header patches and the initrd's place
 * (linuxboot_patch_setup), a pure function */
#include "boot/fw_linuxboot.h"
#include "boot/loaders.h"
#include "test.h"

#include <errno.h>

#define SETUP_SIZE (5 * 512)

static void make_header(uint8_t *s, struct bzimage_header *h)
{
	memset(s, 0, SETUP_SIZE);
	s[0x211] = 0x01;	/* LOADED_HIGH */
	*h = (struct bzimage_header){ .version = 0x20f, .setup_sects = 4, .setup_size = SETUP_SIZE,
				      .loadflags = 0x01, .initrd_addr_max = 0x7fffffff,
				      .init_size = 16 << 20 };
}

TEST(header_fields_patched)
{
	uint8_t s[SETUP_SIZE];
	struct bzimage_header h;
	struct linuxboot_layout lay;
	make_header(s, &h);
	CHECK_EQ(linuxboot_patch_setup("k", s, sizeof(s), &h, 512 << 20, 0, &lay), 0);
	CHECK_EQ(s[0x210], 0xb0);
	CHECK_EQ(s[0x211], 0x81);
	CHECK_EQ(boot_le16(s + 0x224), 0xfe00);
	CHECK_EQ(boot_le32(s + 0x228), LINUXBOOT_CMDLINE_ADDR);
	CHECK_EQ(boot_le32(s + 0x218), 0);
	CHECK_EQ(boot_le32(s + 0x21c), 0);
	CHECK_EQ(lay.initrd_addr, 0);
}

TEST(initrd_below_ram_top_and_acpi)
{
	uint8_t s[SETUP_SIZE];
	struct bzimage_header h;
	struct linuxboot_layout lay;
	make_header(s, &h);
	CHECK_EQ(linuxboot_patch_setup("k", s, sizeof(s), &h, 512 << 20, 1000000, &lay), 0);
	uint64_t max = (512u << 20) - LINUXBOOT_ACPI_RESERVE - 1;
	CHECK_EQ(lay.initrd_addr, (max + 1 - 1000000) & ~0xfffull);
	CHECK_EQ(boot_le32(s + 0x218), lay.initrd_addr);
	CHECK_EQ(boot_le32(s + 0x21c), 1000000);
	/* the kernel's own limit wins when it is lower */
	make_header(s, &h);
	h.initrd_addr_max = 0x0fffffff;
	CHECK_EQ(linuxboot_patch_setup("k", s, sizeof(s), &h, 1ull << 30, 4096, &lay), 0);
	CHECK_EQ(lay.initrd_addr, 0x0ffff000);
}

TEST(initrd_that_does_not_fit_is_refused)
{
	uint8_t s[SETUP_SIZE];
	struct bzimage_header h;
	struct linuxboot_layout lay;
	make_header(s, &h);
	/* 64 MiB of RAM, a 16 MiB kernel at 1 MiB: 60 MiB of initrd overlaps it */
	CHECK_EQ(linuxboot_patch_setup("k", s, sizeof(s), &h, 64 << 20, 60 << 20, &lay), -ENOMEM);
	CHECK_EQ(linuxboot_patch_setup("k", s, sizeof(s), &h, 64 << 20, 4ull << 30, &lay), -ENOMEM);
	CHECK_EQ(linuxboot_patch_setup("k", s, sizeof(s), &h, 0x100000, 4096, &lay), -ENOMEM);
	/* a setup buffer shorter than the header says is refused */
	CHECK_EQ(linuxboot_patch_setup("k", s, 512, &h, 64 << 20, 0, &lay), -EINVAL);
}

RUN_TESTS(T(header_fields_patched), T(initrd_below_ram_top_and_acpi),
	  T(initrd_that_does_not_fit_is_refused))
