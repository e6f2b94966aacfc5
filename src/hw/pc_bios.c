/* The PC's firmware: a BIOS image (SeaBIOS by default) as ROM ending at
 * 4 GiB, its last 128 KiB also at 0xE0000-0xFFFFF, where the CPU's first
 * far jump lands, and the fw_cfg files a QEMU-aware BIOS reads to learn
 * the machine (memory map, ACPI tables, boot order and wait).
 *
 * The low copy lives in RAM: at every reset the BIOS bytes are written
 * there again, which is what a BIOS sees on a chipset whose PAM registers
 * (pci_host.c) point reads of 0xC0000-0xFFFFF at the ROM after reset and
 * that it then switches to RAM to shadow itself.  The ROM below 4 GiB is
 * a read-only MMIO range: writes are dropped. */
#include "hw/pc_bios.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/fw_linuxboot.h"
#include "boot/fw_multiboot.h"
#include "boot/loaders.h"
#include "boot/smbios.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/fw_cfg.h"
#include "mem/dma.h"

#define ISA_BIOS_END 0x100000ull
#define ISA_BIOS_MAX 0x20000ull		/* 128 KiB at 0xE0000 */
#define BIOS_MAX_SIZE (16ull << 20)	/* QEMU's limit: 0xFF000000 up */
#define BIOS_ALIGN 0x10000ull
#define E820_RAM 1

struct pc_bios {
	struct vm *vm;
	uint8_t *image;
	size_t size;
	uint64_t base;		/* 4 GiB - size */
};

static uint64_t pc_bios_rom_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pc_bios *bios = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < bios->size; i++)
		v |= (uint64_t)bios->image[offset + i] << (8 * i);
	return v;
}

/* ROM: a write changes nothing */
static void pc_bios_rom_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)value;
}

static const struct io_ops pc_bios_rom_ops = { .read = pc_bios_rom_read,
					       .write = pc_bios_rom_write };

static void pc_bios_reset(void *opaque)
{
	struct pc_bios *bios = opaque;
	size_t isa = bios->size < ISA_BIOS_MAX ? bios->size : ISA_BIOS_MAX;
	/* checked at creation: RAM covers the first MiB */
	(void)dma_write(bios->vm, ISA_BIOS_END - isa, bios->image + bios->size - isa, isa);
}

static void pc_bios_destroy(void *opaque)
{
	struct pc_bios *bios = opaque;
	io_bus_unregister(&bios->vm->mmio, bios->base);
	free(bios->image);
	free(bios);
}

/* etc/e820: the RAM, as {le64 address, le64 length, le32 type} records;
 * the BIOS adds its own reservations */
static int pc_bios_add_e820(struct vm *vm, struct fw_cfg *fw)
{
	uint8_t buf[GUEST_MEM_MAX_REGIONS * 20];
	size_t len = 0;
	for (int i = 0; i < vm->mem.nr_regions; i++, len += 20) {
		boot_put_le64(buf + len, vm->mem.regions[i].gpa);
		boot_put_le64(buf + len + 8, vm->mem.regions[i].size);
		boot_put_le32(buf + len + 16, E820_RAM);
	}
	return fw_cfg_add_file(fw, "etc/e820", buf, len);
}

static int pc_bios_add_files(struct vm *vm)
{
	struct fw_cfg *fw = vm->fw_cfg;
	uint8_t wait[4];
	int ret;

	/* no bootable device: wait for ever rather than reboot (QEMU's
	 * default -boot reboot-timeout=-1) */
	boot_put_le32(wait, 0xffffffffu);
	if ((ret = pc_bios_add_e820(vm, fw)) < 0 ||
	    (ret = fw_cfg_add_file(fw, "etc/boot-fail-wait", wait, sizeof(wait))) < 0) {
		log_error("bios: cannot add fw_cfg files: %s", strerror(-ret));
		return ret;
	}
	if ((ret = smbios_add_fw_cfg(vm, fw)) < 0)
		return ret;
	return acpi_build_fw_cfg(vm, fw);
}

static int boot_entry_cmp(const void *a, const void *b)
{
	return ((const struct pc_boot_entry *)a)->bootindex -
	       ((const struct pc_boot_entry *)b)->bootindex;
}

int pc_bios_set_bootorder(struct vm *vm, struct pc_boot_entry *e, unsigned n)
{
	char buf[PC_BIOS_MAX_BOOT * 65 + 1];
	size_t len = 0;
	if (n == 0)
		return 0;
	qsort(e, n, sizeof(*e), boot_entry_cmp);
	for (unsigned i = 0; i < n && i < PC_BIOS_MAX_BOOT; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "\n" : "",
					e[i].path);
	/* lines, and a NUL at the end */
	int ret = fw_cfg_add_file(vm->fw_cfg, "bootorder", buf, len + 1);
	if (ret < 0)
		log_error("bios: cannot add the boot order: %s", strerror(-ret));
	return ret;
}

const char *pc_bios_path(const struct vm_config *cfg)
{
	return cfg->bios ? cfg->bios : PC_BIOS_DEFAULT;
}

/* -kernel with -bios: through QEMU's option ROM for the kernel's kind */
static int pc_bios_kernel_setup(struct vm *vm)
{
	struct boot_image img = { .path = vm->cfg.kernel };
	uint8_t *data = NULL;
	int ret = boot_read_file(vm, img.path, "kernel", PC_LOWMEM_LIMIT, &data, &img.size);
	if (ret < 0)
		return ret;
	img.data = data;
	if (multiboot_format.probe(&img) && !bzimage_format.probe(&img))
		ret = multiboot_fw_cfg_setup(vm, vm->fw_cfg, &img);
	else
		ret = linuxboot_fw_cfg_setup(vm, vm->fw_cfg);
	free(data);
	return ret;
}

int pc_bios_create(struct vm *vm)
{
	const char *path = pc_bios_path(&vm->cfg);
	struct pc_bios *bios;
	uint8_t *image;
	size_t size;
	int ret;

	if (!vm->cfg.bios && access(path, R_OK) < 0) {
		log_error("no -kernel given and no firmware: %s is missing (install Debian's "
			  "package seabios, or give -bios FILE or -kernel FILE)",
			  path);
		return -ENOENT;
	}
	ret = boot_read_file(vm, path, "bios", BIOS_MAX_SIZE, &image, &size);
	if (ret < 0)
		return ret;
	if (size == 0 || size % BIOS_ALIGN) {
		log_error("bios '%s': %zu bytes is not a multiple of 64 KiB", path, size);
		free(image);
		return -EINVAL;
	}
	if (!guest_mem_ptr(&vm->mem, 0, ISA_BIOS_END)) {
		log_error("bios '%s': needs at least 1 MiB of RAM", path);
		free(image);
		return -EINVAL;
	}
	bios = calloc(1, sizeof(*bios));
	if (!bios) {
		free(image);
		return -ENOMEM;
	}
	*bios = (struct pc_bios){ .vm = vm, .image = image, .size = size,
				  .base = (1ull << 32) - size };
	ret = io_bus_register(&vm->mmio, bios->base, size, &pc_bios_rom_ops, bios, "bios");
	if (ret < 0) {
		log_error("bios '%s': cannot map it at 0x%llx: %s", path,
			  (unsigned long long)bios->base,
			  ret == -EEXIST ? "another device is there" : strerror(-ret));
		free(image);
		free(bios);
		return ret;
	}
	ret = vm_add_device(vm, "bios", bios, pc_bios_reset, pc_bios_destroy);
	if (ret < 0) {
		log_error("bios: too many devices");
		pc_bios_destroy(bios);
		return ret;
	}
	ret = pc_bios_add_files(vm);
	if (ret < 0 || !vm->cfg.kernel)
		return ret;
	return pc_bios_kernel_setup(vm);
}
