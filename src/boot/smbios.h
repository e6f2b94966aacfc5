/* SMBIOS tables (DMTF DSP0134, version 2.8 structures behind a 2.1
 * entry point, as QEMU's pc machine gives them): BIOS (0, on a direct
 * boot or when -smbios type=0 says something), system (1), baseboard (2,
 * when -smbios type=2 says something), chassis (3), one processor per
 * vCPU (4), OEM strings (11, when given), memory array (16), devices
 * (17, one per 16 GiB), mapped addresses (19, one per RAM range), boot
 * information (32) and the end (127).
 *
 * A direct boot puts the entry point and the tables in the F segment,
 * where Linux's DMI scan looks; with firmware they are fw_cfg files
 * ("etc/smbios/smbios-anchor", "etc/smbios/smbios-tables") that SeaBIOS
 * and qboot copy into place, adding their own BIOS table. */
#ifndef MINIVMM_BOOT_SMBIOS_H
#define MINIVMM_BOOT_SMBIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct fw_cfg;

#define SMBIOS_ANCHOR_LEN 31
#define SMBIOS_FSEG_ADDR 0xf0000ull	/* the entry point; the tables follow */
#define SMBIOS_FSEG_END 0xfff00ull	/* clear of the reset vector */

struct smbios_tables {
	uint8_t *data;
	size_t len;
	unsigned count;		/* structures */
	unsigned max_size;	/* of the largest structure */
};

/* The tables for vm; for_firmware leaves the BIOS table to the firmware
 * unless -smbios type=0 set a field.  0 or -errno. */
int smbios_build(const struct vm *vm, bool for_firmware, struct smbios_tables *t);
void smbios_tables_free(struct smbios_tables *t);
/* The 2.1 entry point for tables at table_addr */
void smbios_anchor(const struct smbios_tables *t, uint32_t table_addr,
		   uint8_t anchor[SMBIOS_ANCHOR_LEN]);

/* A direct boot: entry point and tables in the F segment */
int smbios_install(struct vm *vm);
/* Firmware: the fw_cfg files */
int smbios_add_fw_cfg(struct vm *vm, struct fw_cfg *fw);

#endif
