/* Images with no header minivmm knows.  QEMU refuses these (it takes them
 * for a broken Linux kernel); minivmm runs them, because a flat binary is
 * the simplest test kernel there is:
 *
 *  - a boot sector: exactly 512 bytes ending in the 0x55 0xAA signature.
 *    Loaded at 0x7C00 and entered in real mode at 0000:7C00 with DL = 0x80
 *    (the first hard disk, as a BIOS passes it), SS:SP = 0000:7C00, all
 *    other segment registers 0.  There is no BIOS behind it: no INT 10h or
 *    INT 13h services.
 *  - anything else: a raw binary loaded at 0x100000 (1 MiB) and entered at
 *    its first byte in 32-bit protected mode, paging off, with flat 4 GiB
 *    code and data segments (CS = 0x10, the others 0x18), EAX = EBX = 0
 *    and ESP = 0x7C00.
 *
 * Neither can receive -initrd (an error) or -append (ignored with a
 * warning). */
#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

#include <stdio.h>
#include <string.h>

static bool bootsector_probe(const struct boot_image *img)
{
	return img->size == BOOT_SECTOR_SIZE && img->data[510] == 0x55 && img->data[511] == 0xaa;
}

/* Both forms: the whole image at gpa, which must not overlap areas */
static int flat_image_load(struct vm *vm, const struct boot_image *img, const char *what,
			   uint64_t gpa, unsigned areas)
{
	char where[512];
	int ret = boot_refuse_extras(vm, img->path, what);
	if (ret < 0)
		return ret;
	snprintf(where, sizeof(where), "kernel '%s'", img->path);
	ret = boot_check_placement(vm, where, what, gpa, img->size, areas);
	if (ret < 0)
		return ret;
	memcpy(guest_mem_ptr(&vm->mem, gpa, img->size), img->data, img->size);
	return 0;
}

static int bootsector_load(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	int ret = flat_image_load(vm, img, "boot sector", BOOT_SECTOR_ADDR, 0);
	if (ret < 0)
		return ret;
	entry->mode = BOOT_MODE_REAL16;
	entry->rip = BOOT_SECTOR_ADDR;
	entry->gpr[X86_RDX] = 0x80;
	entry->gpr[X86_RSP] = BOOT_STACK_TOP;
	return 0;
}

static bool raw_probe(const struct boot_image *img)
{
	(void)img;
	return true;
}

static int raw_load(struct vm *vm, const struct boot_image *img, struct boot_entry *entry)
{
	int ret = flat_image_load(vm, img, "raw binary", BOOT_RAW_ADDR,
				  BOOT_AREA_GDT | BOOT_AREA_STACK);
	if (ret < 0)
		return ret;
	entry->mode = BOOT_MODE_PROT32;
	entry->rip = BOOT_RAW_ADDR;
	entry->gpr[X86_RSP] = BOOT_STACK_TOP;
	return 0;
}

const struct boot_format bootsector_format = {
	.name = "boot sector",
	.probe = bootsector_probe,
	.load = bootsector_load,
};

const struct boot_format raw_format = {
	.name = "raw binary",
	.probe = raw_probe,
	.load = raw_load,
};
