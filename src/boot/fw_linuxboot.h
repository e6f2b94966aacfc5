/* -kernel with -bios, as QEMU does it: the firmware boots, and an option
 * ROM (QEMU's linuxboot_dma.bin, Debian package qemu-system-data) loads
 * the kernel's real-mode setup, the kernel, initrd and command line from
 * fw_cfg items and enters the setup code, which then uses the BIOS. */
#ifndef MINIVMM_BOOT_FW_LINUXBOOT_H
#define MINIVMM_BOOT_FW_LINUXBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "boot/loaders.h"

struct vm;
struct fw_cfg;

#define LINUXBOOT_ROM "/usr/share/qemu/linuxboot_dma.bin"
#define LINUXBOOT_SETUP_ADDR 0x10000u	/* the real-mode setup, as QEMU */
#define LINUXBOOT_CMDLINE_ADDR 0x20000u
#define LINUXBOOT_KERNEL_ADDR 0x100000u
/* room SeaBIOS takes at the top of low RAM for the ACPI tables (QEMU keeps
 * the initrd below the same amount) */
#define LINUXBOOT_ACPI_RESERVE 0x28000u

struct linuxboot_layout {
	uint32_t initrd_addr;		/* 0 without an initrd */
};

/* Patch the setup sectors (setup, setup_len bytes, a copy of the file's
 * first h->setup_size bytes) as a boot loader does: loader type, command
 * line pointer, heap end, and the initrd's place below both the kernel's
 * initrd_addr_max and lowmem_top (RAM below 4 GiB).  Pure; -EINVAL for a
 * setup too short to patch, -ENOMEM with one error line naming path when
 * the initrd does not fit. */
int linuxboot_patch_setup(const char *path, uint8_t *setup, size_t setup_len,
			  const struct bzimage_header *h, uint64_t lowmem_top,
			  uint64_t initrd_size, struct linuxboot_layout *out);

/* Read -kernel/-initrd, build the fw_cfg items and add the option ROM */
int linuxboot_fw_cfg_setup(struct vm *vm, struct fw_cfg *fw);

#endif
