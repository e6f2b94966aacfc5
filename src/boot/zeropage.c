/* The Linux zero page (struct boot_params, Documentation/arch/x86/
 * zero-page.rst and boot.rst): the setup header as the kernel file has it,
 * then what a boot loader fills in: loader type, command line, initrd,
 * the e820 memory map and the ACPI RSDP. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/loaders.h"
#include "boot/smbios.h"
#include "core/log.h"
#include "core/vm.h"

/* boot_params offsets */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_E820_ENTRY_SIZE 20
#define LOADER_UNDEFINED 0xff	/* no boot loader ID assigned */
#define PAGE_SIZE 0x1000ull

void linux_default_setup_header(uint8_t *hdr)
{
	uint8_t *z = hdr - LINUX_SETUP_HEADER_OFFSET;	/* index by zero page offset */
	memset(hdr, 0, LINUX_HDR_MAX);
	boot_put_le16(z + HDR_BOOT_FLAG, 0xaa55);
	z[HDR_JUMP] = 0xeb;
	z[HDR_JUMP + 1] = (uint8_t)(0x268 - 0x202);	/* the header ends at 0x268 */
	memcpy(z + HDR_MAGIC, "HdrS", 4);
	boot_put_le16(z + HDR_VERSION, 0x020f);
	z[HDR_LOADFLAGS] = LOADFLAGS_LOADED_HIGH;
	boot_put_le32(z + HDR_INITRD_ADDR_MAX, 0x7fffffff);
	boot_put_le32(z + HDR_KERNEL_ALIGNMENT, 0x200000);
	z[HDR_RELOCATABLE] = 0;
	boot_put_le32(z + HDR_CMDLINE_SIZE, 2047);	/* x86 COMMAND_LINE_SIZE - 1 */
}

static int linux_write_cmdline(struct vm *vm, const char *path, uint32_t cmdline_size,
			       uint32_t *ptr)
{
	char cmdline[BOOT_CMDLINE_MAX];
	int n = boot_linux_cmdline(vm, cmdline, sizeof(cmdline));
	if (n < 0) {
		log_error("kernel '%s': command line longer than %d bytes", path, BOOT_CMDLINE_MAX - 1);
		return n;
	}
	size_t len = (size_t)n;
	uint64_t room = BOOT_CMDLINE_END - BOOT_CMDLINE_ADDR - 1;
	uint64_t max = cmdline_size < room ? cmdline_size : room;

	if (len > max) {
		log_error("kernel '%s': command line is %zu bytes, longer than the %llu the kernel accepts",
			  path, len, (unsigned long long)max);
		return -E2BIG;
	}
	uint8_t *p = guest_mem_ptr(&vm->mem, BOOT_CMDLINE_ADDR, len + 1);
	if (!p) {
		log_error("kernel '%s': guest RAM is too small for the command line", path);
		return -ENOMEM;
	}
	memcpy(p, cmdline, len);
	p[len] = 0;
	*ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	return 0;
}

/* As high as it goes below min(initrd_addr_max, end of low RAM), page
 * aligned, above the kernel: where the kernel expects it and where it
 * stays out of the way of the decompressor */
static int linux_load_initrd(struct vm *vm, const char *path, const struct linux_boot *lb,
			     uint64_t *gpa, uint64_t *size)
{
	const char *file = vm->cfg.initrd;
	uint64_t top = guest_mem_lowmem_end(&vm->mem);
	uint64_t bottom = (lb->kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint8_t *data;
	size_t len;

	if ((uint64_t)lb->initrd_addr_max + 1 < top)
		top = (uint64_t)lb->initrd_addr_max + 1;
	top &= ~(PAGE_SIZE - 1);
	if (bottom >= top) {
		log_error("initrd '%s': no guest RAM left between the kernel (ends at 0x%llx) and 0x%llx",
			  file, (unsigned long long)lb->kernel_end, (unsigned long long)top);
		return -ENOMEM;
	}
	int ret = boot_read_file(vm, file, "initrd", top - bottom, &data, &len);
	if (ret < 0)
		return ret;
	*gpa = len ? (top - len) & ~(PAGE_SIZE - 1) : 0;
	*size = len;
	uint8_t *dst = len ? guest_mem_ptr(&vm->mem, *gpa, len) : NULL;
	if (len && !dst) {
		log_error("initrd '%s' (%zu bytes) does not fit below 0x%llx (kernel '%s')", file,
			  len, (unsigned long long)top, path);
		ret = -ENOMEM;
	} else if (len) {
		memcpy(dst, data, len);
	} else {
		log_warn("initrd '%s' is empty", file);
	}
	free(data);
	return ret;
}

int linux_write_zeropage(struct vm *vm, const char *path, const struct linux_boot *lb)
{
	struct boot_memmap_entry map[BP_E820_MAX];
	uint64_t initrd = 0, initrd_size = 0;
	uint32_t cmdline;
	int ret;

	uint8_t *zp = guest_mem_ptr(&vm->mem, BOOT_ZEROPAGE_ADDR, BOOT_ZEROPAGE_SIZE);
	if (!zp) {
		log_error("kernel '%s': guest RAM is too small for the zero page", path);
		return -ENOMEM;
	}
	if (lb->hdr_len > BOOT_ZEROPAGE_SIZE - LINUX_SETUP_HEADER_OFFSET) {
		log_error("kernel '%s': setup header of %zu bytes does not fit the zero page", path,
			  lb->hdr_len);
		return -ENOEXEC;
	}
	ret = linux_write_cmdline(vm, path, lb->cmdline_size, &cmdline);
	if (ret < 0)
		return ret;
	if (vm->cfg.initrd) {
		ret = linux_load_initrd(vm, path, lb, &initrd, &initrd_size);
		if (ret < 0)
			return ret;
	}
	uint64_t rsdp = 0;
	if (acpi_enabled(vm) && !(rsdp = acpi_build_tables(vm)))
		return -ENOMEM;
	ret = smbios_install(vm);
	if (ret < 0)
		return ret;

	memset(zp, 0, BOOT_ZEROPAGE_SIZE);
	memcpy(zp + LINUX_SETUP_HEADER_OFFSET, lb->setup_header, lb->hdr_len);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADFLAGS_CAN_USE_HEAP;
	/* only the real-mode setup code, which we skip, uses the heap */
	boot_put_le16(zp + HDR_HEAP_END_PTR, 0xfe00);
	boot_put_le32(zp + HDR_CMD_LINE_PTR, cmdline);
	boot_put_le32(zp + BP_EXT_CMD_LINE_PTR, 0);
	boot_put_le32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd);
	boot_put_le32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	boot_put_le32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
	boot_put_le32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	boot_put_le64(zp + BP_ACPI_RSDP_ADDR, rsdp);

	int n = boot_memmap_acpi(&vm->mem, map, BP_E820_MAX);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
		boot_put_le64(e, map[i].addr);
		boot_put_le64(e + 8, map[i].size);
		boot_put_le32(e + 16, map[i].type);
	}
	return 0;
}
