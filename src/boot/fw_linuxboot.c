/* -kernel through firmware (fw_linuxboot.h): the items QEMU's
 * x86_load_linux gives linuxboot_dma.bin, built from our own bzImage
 * header parser. */
#include "boot/fw_linuxboot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/fw_cfg.h"
#include "mem/guest_mem.h"

#define LOADER_QEMU 0xb0	/* the type QEMU reports: 0xB, version 0 */
#define PAGE_MASK_4K 0xfffull

int linuxboot_patch_setup(const char *path, uint8_t *setup, size_t setup_len,
			  const struct bzimage_header *h, uint64_t lowmem_top,
			  uint64_t initrd_size, struct linuxboot_layout *out)
{
	*out = (struct linuxboot_layout){ 0 };
	if (setup_len < h->setup_size || h->setup_size < HDR_CMD_LINE_PTR + 4)
		return -EINVAL;
	setup[HDR_TYPE_OF_LOADER] = LOADER_QEMU;
	setup[HDR_LOADFLAGS] |= LOADFLAGS_CAN_USE_HEAP;
	/* the heap ends where the command line starts, both in the setup's
	 * 64 KiB segment as the setup code addresses them */
	boot_put_le16(setup + HDR_HEAP_END_PTR,
		      (uint16_t)(LINUXBOOT_CMDLINE_ADDR - LINUXBOOT_SETUP_ADDR - 0x200));
	boot_put_le32(setup + HDR_CMD_LINE_PTR, LINUXBOOT_CMDLINE_ADDR);
	boot_put_le32(setup + HDR_RAMDISK_IMAGE, 0);
	boot_put_le32(setup + HDR_RAMDISK_SIZE, 0);
	if (!initrd_size)
		return 0;

	uint64_t initrd_max = h->initrd_addr_max ? h->initrd_addr_max : 0x37ffffffu;
	if (lowmem_top <= LINUXBOOT_ACPI_RESERVE + LINUXBOOT_KERNEL_ADDR) {
		log_error("initrd: no RAM left for it below 0x%llx", (unsigned long long)lowmem_top);
		return -ENOMEM;
	}
	if (initrd_max >= lowmem_top - LINUXBOOT_ACPI_RESERVE)
		initrd_max = lowmem_top - LINUXBOOT_ACPI_RESERVE - 1;
	uint64_t kernel_end = LINUXBOOT_KERNEL_ADDR + (uint64_t)h->init_size;
	if (initrd_size > initrd_max + 1 || ((initrd_max + 1 - initrd_size) & ~PAGE_MASK_4K) < kernel_end) {
		log_error("initrd: %llu bytes do not fit between the kernel '%s' (up to 0x%llx) and "
			  "0x%llx; give more memory (-m)",
			  (unsigned long long)initrd_size, path, (unsigned long long)kernel_end,
			  (unsigned long long)initrd_max);
		return -ENOMEM;
	}
	out->initrd_addr = (uint32_t)((initrd_max + 1 - initrd_size) & ~PAGE_MASK_4K);
	boot_put_le32(setup + HDR_RAMDISK_IMAGE, out->initrd_addr);
	boot_put_le32(setup + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	return 0;
}

static uint64_t lowmem_top(const struct vm *vm)
{
	return vm->mem.ram_size < PC_LOWMEM_LIMIT ? vm->mem.ram_size : PC_LOWMEM_LIMIT;
}

int linuxboot_fw_cfg_setup(struct vm *vm, struct fw_cfg *fw)
{
	struct boot_image img = { .path = vm->cfg.kernel };
	uint8_t *kernel = NULL, *initrd = NULL, *rom = NULL, *setup = NULL;
	size_t initrd_size = 0, rom_size = 0;
	struct bzimage_header h;
	struct linuxboot_layout lay;
	char cmdline[BOOT_CMDLINE_MAX];
	int ret;

	if (access(LINUXBOOT_ROM, R_OK) < 0) {
		log_error("-kernel with -bios needs %s (install Debian's package qemu-system-data)",
			  LINUXBOOT_ROM);
		return -ENOENT;
	}
	ret = boot_read_file(vm, img.path, "kernel", lowmem_top(vm), &kernel, &img.size);
	if (ret < 0)
		return ret;
	img.data = kernel;
	if (!bzimage_format.probe(&img)) {
		log_error("kernel '%s': -bios boots Linux bzImage and Multiboot kernels, and this is neither",
			  img.path);
		ret = -ENOEXEC;
		goto out;
	}
	if ((ret = bzimage_parse_header(&img, &h)) < 0)
		goto out;
	if (LINUXBOOT_KERNEL_ADDR + (uint64_t)h.init_size > lowmem_top(vm)) {
		log_error("kernel '%s' needs RAM up to 0x%llx to unpack; -m %llu MiB is too small",
			  img.path, (unsigned long long)(LINUXBOOT_KERNEL_ADDR + (uint64_t)h.init_size),
			  (unsigned long long)(vm->mem.ram_size >> 20));
		ret = -ENOMEM;
		goto out;
	}
	if (vm->cfg.initrd) {
		ret = boot_read_file(vm, vm->cfg.initrd, "initrd", lowmem_top(vm), &initrd,
				     &initrd_size);
		if (ret < 0)
			goto out;
	}
	int cmdlen = boot_linux_cmdline(vm, cmdline, sizeof(cmdline));
	if (cmdlen < 0 || (h.cmdline_size && (uint32_t)cmdlen > h.cmdline_size)) {
		log_error("kernel '%s': the command line is longer than the kernel's %u bytes",
			  img.path, h.cmdline_size ? h.cmdline_size : BOOT_CMDLINE_MAX - 1);
		ret = -E2BIG;
		goto out;
	}
	setup = malloc(h.setup_size);
	if (!setup) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(setup, kernel, h.setup_size);
	ret = linuxboot_patch_setup(img.path, setup, h.setup_size, &h, lowmem_top(vm), initrd_size,
				    &lay);
	if (ret < 0)
		goto out;
	ret = boot_read_file(vm, LINUXBOOT_ROM, "option ROM", 1 << 20, &rom, &rom_size);
	if (ret < 0)
		goto out;
	if ((ret = fw_cfg_set_blob(fw, FW_CFG_SETUP_ADDR, LINUXBOOT_SETUP_ADDR, FW_CFG_SETUP_SIZE,
			    FW_CFG_SETUP_DATA, setup, h.setup_size)) < 0 ||
	    (ret = fw_cfg_set_blob(fw, FW_CFG_KERNEL_ADDR, LINUXBOOT_KERNEL_ADDR, FW_CFG_KERNEL_SIZE,
			    FW_CFG_KERNEL_DATA, kernel + h.setup_size, img.size - h.setup_size)) < 0 ||
	    (ret = fw_cfg_set_blob(fw, FW_CFG_CMDLINE_ADDR, LINUXBOOT_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE,
			    FW_CFG_CMDLINE_DATA, cmdline, (size_t)cmdlen + 1)) < 0 ||
	    (ret = fw_cfg_set_blob(fw, FW_CFG_INITRD_ADDR, lay.initrd_addr, FW_CFG_INITRD_SIZE,
			    FW_CFG_INITRD_DATA, initrd, initrd_size)) < 0 ||
	    (ret = fw_cfg_add_file(fw, "genroms/linuxboot_dma.bin", rom, rom_size)) < 0)
		log_error("fw_cfg: cannot add the -kernel items: %s", strerror(-ret));
out:
	free(kernel);
	free(initrd);
	free(rom);
	free(setup);
	return ret;
}
