/* A Multiboot -kernel through firmware (fw_multiboot.h), laid out as
 * QEMU's load_multiboot lays it out for multiboot_dma.bin:
 *   KERNEL_DATA, copied to KERNEL_ADDR: the kernel image as it sits in RAM
 *     (page-aligned), then the module list, the command lines and the boot
 *     loader's name (page-aligned), then each module, page-aligned;
 *   INITRD_DATA, copied to 0x9500: the 88-byte multiboot_info, whose
 *     memory map (at 0x9000), mem_lower and mem_upper the ROM fills in
 *     from the BIOS (int 0x15 e820, int 0x12);
 *   KERNEL_ENTRY: where the ROM jumps, in 32-bit protected mode with EAX
 *     the boot magic and EBX the information's address. */
#include "boot/fw_multiboot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/fw_linuxboot.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/fw_cfg.h"
#include "mem/guest_mem.h"

#define MB_MMAP_ADDR 0x9000u	/* the ROM writes the e820 map here */
#define MB_INFO_ADDR 0x9500u
#define MBI_SIZE 88
#define MB_MOD_SIZE 16
#define PAGE_4K 0x1000ull

/* struct multiboot_info: the fields set here, and its flags */
#define MBI_FLAGS 0
#define MBI_BOOT_DEVICE 12
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_ADDR 48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_HAS_INFO 0x24fu	/* memory, boot device, cmdline, mods, mmap, loader name */
#define MBI_NO_BOOT_DEVICE 0x8000ffffu

static const char loader_name[] = "minivmm";

static uint64_t align_4k(uint64_t v)
{
	return (v + PAGE_4K - 1) & ~(PAGE_4K - 1);
}

struct mb_module {
	const char *text;	/* "file args" */
	uint8_t *data;
	size_t size;
};

/* Read each module named in -initrd; returns the count */
static int read_modules(struct vm *vm, const char *path, char *textbuf, struct mb_module *mods,
			uint64_t max)
{
	const char *texts[BOOT_MODULES_MAX];
	int n = multiboot_split_modules(vm->cfg.initrd, textbuf, texts, BOOT_MODULES_MAX, path);
	for (int i = 0; i < n; i++) {
		char *file = strndup(texts[i], strcspn(texts[i], " "));
		if (!file)
			return -ENOMEM;
		mods[i].text = texts[i];
		int ret = boot_read_file(vm, file, "Multiboot module", max, &mods[i].data,
					 &mods[i].size);
		free(file);
		if (ret < 0)
			return ret;
	}
	return n;
}

static uint32_t put_string(uint8_t *buf, size_t *off, uint64_t phys, const char *s)
{
	size_t len = strlen(s) + 1;
	memcpy(buf + *off, s, len);
	uint32_t gpa = (uint32_t)(phys + *off);
	*off += len;
	return gpa;
}

int multiboot_fw_cfg_setup(struct vm *vm, struct fw_cfg *fw, const struct boot_image *img)
{
	const uint64_t top = guest_mem_lowmem_end(&vm->mem) - LINUXBOOT_ACPI_RESERVE;
	struct mb_module mods[BOOT_MODULES_MAX] = { 0 };
	char *textbuf = NULL, *cmdline = NULL;
	uint8_t *buf = NULL, *rom = NULL;
	size_t rom_size = 0;
	int nmods = 0, ret;

	if (access(MULTIBOOT_ROM, R_OK) < 0) {
		log_error("a Multiboot -kernel with -bios needs %s (install Debian's package qemu-system-data)",
			  MULTIBOOT_ROM);
		return -ENOENT;
	}
	/* the kernel goes where direct boot puts it, and from there into
	 * the blob; the RAM is handed to the firmware cleared again */
	uint64_t entry, start, end;
	ret = multiboot_place_kernel(vm, img, 0, &entry, &start, &end);
	if (ret < 0)
		return ret;
	uint8_t *placed = guest_mem_ptr(&vm->mem, start, end - start);

	const char *append = vm->cfg.append ? vm->cfg.append : "";
	size_t cmdline_len = strlen(img->path) + 1 + strlen(append) + 1;
	if (!(cmdline = malloc(cmdline_len))) {
		ret = -ENOMEM;
		goto out;
	}
	/* QEMU's: the file name, a space, -append (empty or not) */
	snprintf(cmdline, cmdline_len, "%s %s", img->path, append);
	size_t strings_len = cmdline_len + sizeof(loader_name);
	if (vm->cfg.initrd) {
		size_t spec_len = strlen(vm->cfg.initrd) + 1;
		if (!(textbuf = malloc(spec_len))) {
			ret = -ENOMEM;
			goto out;
		}
		nmods = read_modules(vm, img->path, textbuf, mods, top);
		if (nmods < 0) {
			ret = nmods;
			goto out;
		}
		strings_len += spec_len;
	}

	uint64_t info_off = align_4k(end - start);
	uint64_t size = align_4k(info_off + (uint64_t)nmods * MB_MOD_SIZE + strings_len);
	uint64_t mod_off[BOOT_MODULES_MAX];
	for (int i = 0; i < nmods; i++) {
		mod_off[i] = size;
		size = align_4k(size + mods[i].size);
	}
	if (start + size > top) {
		log_error("kernel '%s': the kernel and its modules (0x%llx bytes from 0x%llx) do not fit below 0x%llx; give more memory (-m)",
			  img->path, (unsigned long long)size, (unsigned long long)start,
			  (unsigned long long)top);
		ret = -ENOMEM;
		goto out;
	}
	if (!(buf = calloc(1, size))) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(buf, placed, end - start);
	memset(placed, 0, end - start);

	size_t str_off = info_off + (size_t)nmods * MB_MOD_SIZE;
	for (int i = 0; i < nmods; i++) {
		uint8_t *e = buf + info_off + (size_t)i * MB_MOD_SIZE;
		memcpy(buf + mod_off[i], mods[i].data, mods[i].size);
		boot_put_le32(e, (uint32_t)(start + mod_off[i]));
		boot_put_le32(e + 4, (uint32_t)(start + mod_off[i] + mods[i].size));
		boot_put_le32(e + 8, put_string(buf, &str_off, start, mods[i].text));
	}
	uint8_t info[MBI_SIZE] = { 0 };
	boot_put_le32(info + MBI_FLAGS, MBI_HAS_INFO);
	boot_put_le32(info + MBI_BOOT_DEVICE, MBI_NO_BOOT_DEVICE);
	boot_put_le32(info + MBI_CMDLINE, put_string(buf, &str_off, start, cmdline));
	boot_put_le32(info + MBI_BOOT_LOADER_NAME, put_string(buf, &str_off, start, loader_name));
	boot_put_le32(info + MBI_MODS_COUNT, (uint32_t)nmods);
	boot_put_le32(info + MBI_MODS_ADDR, (uint32_t)(start + info_off));
	boot_put_le32(info + MBI_MMAP_ADDR, MB_MMAP_ADDR);

	ret = boot_read_file(vm, MULTIBOOT_ROM, "option ROM", 1 << 20, &rom, &rom_size);
	if (ret < 0)
		goto out;
	if ((ret = fw_cfg_set_int(fw, FW_CFG_KERNEL_ENTRY, entry, 4)) < 0 ||
	    (ret = fw_cfg_set_blob(fw, FW_CFG_KERNEL_ADDR, (uint32_t)start, FW_CFG_KERNEL_SIZE,
				   FW_CFG_KERNEL_DATA, buf, size)) < 0 ||
	    (ret = fw_cfg_set_blob(fw, FW_CFG_INITRD_ADDR, MB_INFO_ADDR, FW_CFG_INITRD_SIZE,
				   FW_CFG_INITRD_DATA, info, sizeof(info))) < 0 ||
	    (ret = fw_cfg_add_file(fw, "genroms/multiboot_dma.bin", rom, rom_size)) < 0)
		log_error("fw_cfg: cannot add the Multiboot -kernel items: %s", strerror(-ret));
out:
	for (int i = 0; i < BOOT_MODULES_MAX; i++)
		free(mods[i].data);
	free(textbuf);
	free(cmdline);
	free(buf);
	free(rom);
	return ret;
}
