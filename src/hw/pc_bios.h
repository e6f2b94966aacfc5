/* Booting through firmware: the BIOS image and what it reads of the
 * machine (hw/pc_bios.c). */
#ifndef MINIVMM_PC_BIOS_H
#define MINIVMM_PC_BIOS_H

#include "core/config.h"

struct vm;

/* Debian's SeaBIOS (package seabios), the firmware when there is no -kernel */
#define PC_BIOS_DEFAULT "/usr/share/seabios/bios-256k.bin"

/* Does this machine boot through firmware (no -kernel, or -bios given:
 * then an option ROM loads the -kernel)? */
static inline bool pc_boots_firmware(const struct vm_config *cfg)
{
	return !cfg->kernel || cfg->bios;
}

/* -bios, or the default */
const char *pc_bios_path(const struct vm_config *cfg);

/* Map the image and add its fw_cfg files; call after fw_cfg_create and
 * once the vCPUs exist.  Prints one error (naming the package when the
 * default firmware is missing). */
int pc_bios_create(struct vm *vm);

/* The "bootorder" file: devices named by their OpenFirmware paths, as
 * QEMU's bootindex= gives them, lowest index first */
#define PC_BIOS_MAX_BOOT 32
struct pc_boot_entry {
	int bootindex;
	char path[64];
};
int pc_bios_set_bootorder(struct vm *vm, struct pc_boot_entry *e, unsigned n);

#endif
