/* A Multiboot -kernel with -bios, as QEMU boots one: the firmware runs,
 * then an option ROM (QEMU's multiboot_dma.bin, Debian package
 * qemu-system-data) copies the kernel, its modules and the Multiboot
 * information from fw_cfg items and enters the kernel. */
#ifndef MINIVMM_BOOT_FW_MULTIBOOT_H
#define MINIVMM_BOOT_FW_MULTIBOOT_H

#include "boot/loaders.h"

struct vm;
struct fw_cfg;

#define MULTIBOOT_ROM "/usr/share/qemu/multiboot_dma.bin"

/* img: the -kernel file, a Multiboot image (multiboot_format.probe).
 * Builds the fw_cfg items and adds the option ROM; one error line and a
 * negative errno when the image or its modules cannot be booted. */
int multiboot_fw_cfg_setup(struct vm *vm, struct fw_cfg *fw, const struct boot_image *img);

#endif
