/* The PVH boot protocol's start-of-day structure (Xen public header
 * arch-x86/hvm/start_info.h, version 1): command line, the -initrd file as
 * module 0, and the memory map.  All of it lives in the boot information
 * area (layout.h) except the initrd, which follows the kernel. */
#include <errno.h>
#include <string.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

#define HVM_START_MAGIC 0x336ec578
#define HVM_START_INFO_SIZE 56
#define HVM_MODLIST_ENTRY_SIZE 32
#define HVM_MEMMAP_ENTRY_SIZE 24

int pvh_write_start_info(struct vm *vm, const char *path, uint64_t kernel_end, uint64_t *info_gpa)
{
	struct boot_memmap_entry map[BOOT_MEMMAP_MAX];
	struct boot_strings strings;
	uint64_t cmdline = 0;
	unsigned nr_modules = 0;

	uint8_t *info = guest_mem_ptr(&vm->mem, BOOT_INFO_ADDR, BOOT_STRINGS_END - BOOT_INFO_ADDR);
	if (!info) {
		log_error("kernel '%s': guest RAM is too small for the PVH start info", path);
		return -ENOMEM;
	}
	memset(info, 0, BOOT_INFO_END - BOOT_INFO_ADDR);
	boot_strings_init(&strings);

	char line[BOOT_CMDLINE_MAX];
	int len = boot_linux_cmdline(vm, line, sizeof(line));
	if (len < 0) {
		log_error("kernel '%s': command line longer than %d bytes", path, BOOT_CMDLINE_MAX - 1);
		return len;
	}
	if (len) {
		cmdline = boot_strings_put(vm, &strings, path, line, (size_t)len);
		if (!cmdline)
			return -E2BIG;
	}
	if (vm->cfg.initrd) {
		struct boot_module mod;
		uint64_t next = kernel_end > BOOT_MODULES_MIN ? kernel_end : BOOT_MODULES_MIN;
		int ret = boot_load_module(vm, vm->cfg.initrd, &next,
					   BOOT_AREA_GDT | BOOT_AREA_STACK | BOOT_AREA_INFO, &mod);
		if (ret < 0)
			return ret;
		uint8_t *e = info + (BOOT_MODLIST_ADDR - BOOT_INFO_ADDR);
		boot_put_le64(e, mod.start);
		boot_put_le64(e + 8, mod.end - mod.start);
		nr_modules = 1;
	}

	int n = boot_memmap(&vm->mem, map, BOOT_MEMMAP_MAX);
	for (int i = 0; i < n; i++) {
		uint8_t *e = info + (BOOT_MEMMAP_ADDR - BOOT_INFO_ADDR) + i * HVM_MEMMAP_ENTRY_SIZE;
		boot_put_le64(e, map[i].addr);
		boot_put_le64(e + 8, map[i].size);
		boot_put_le32(e + 16, map[i].type);
	}

	boot_put_le32(info + 0, HVM_START_MAGIC);
	boot_put_le32(info + 4, 1);	/* version */
	boot_put_le32(info + 12, nr_modules);
	boot_put_le64(info + 16, nr_modules ? BOOT_MODLIST_ADDR : 0);
	boot_put_le64(info + 24, cmdline);
	boot_put_le64(info + 32, 0);	/* rsdp_paddr: no ACPI tables yet */
	boot_put_le64(info + 40, BOOT_MEMMAP_ADDR);
	boot_put_le32(info + 48, (uint32_t)n);
	*info_gpa = BOOT_INFO_ADDR;
	return 0;
}
