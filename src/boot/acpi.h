/* The ACPI tables minivmm leaves in guest RAM, as firmware would, and the
 * fixed-hardware registers they describe.
 *
 * The builder lives in src/boot because the tables are boot-time content
 * of guest RAM, written afresh by every boot_load (so they are back after
 * a reset even if the guest scribbled on them), and because it needs
 * nothing but guest memory: the loaders' fuzzers link it as they are.  The
 * device behind the registers is src/hw/acpi_pm.c, which takes its port
 * numbers from here so that the tables and the device cannot disagree.
 *
 * Layout (all in the 0xE0000-0xEFFFF segment, which the Linux e820 map
 * reports as ACPI data): the RSDP at 0xE0000, where the legacy scan of
 * 0xE0000-0xFFFFF finds it, then FACS, DSDT, FADT, MADT, RSDT and XSDT. */
#ifndef MINIVMM_BOOT_ACPI_H
#define MINIVMM_BOOT_ACPI_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

#define ACPI_AREA_ADDR 0xe0000ull
#define ACPI_AREA_END 0xf0000ull
#define ACPI_RSDP_ADDR ACPI_AREA_ADDR

/* PM1a event block (status, enable), control block and PM timer, in port
 * I/O.  0x600 is free: the ISA devices sit below 0x400, fw_cfg at 0x510,
 * pc-testdev at 0x2000 and PCI I/O BARs from 0xC000. */
#define ACPI_PM_IO_BASE 0x600
#define ACPI_PM1A_EVT_BLK (ACPI_PM_IO_BASE + 0x0)	/* PM1_STS, PM1_EN */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1A_CNT_BLK (ACPI_PM_IO_BASE + 0x4)
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_BLK (ACPI_PM_IO_BASE + 0x8)
#define ACPI_PM_TMR_LEN 4
#define ACPI_PM_IO_LEN 0xc

#define ACPI_SCI_IRQ 9
#define ACPI_PM_TIMER_HZ 3579545ull

/* PM1 status and enable bits */
#define ACPI_PM1_TMR 0x0001
#define ACPI_PM1_GBL 0x0020
#define ACPI_PM1_PWRBTN 0x0100
#define ACPI_PM1_SLPBTN 0x0200
#define ACPI_PM1_RTC 0x0400
#define ACPI_PM1_WAK_STS 0x8000
/* PM1 control bits */
#define ACPI_PM1_SCI_EN 0x0001
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN 0x2000

/* The SLP_TYP value the DSDT's \_S5 package names: soft off */
#define ACPI_SLP_TYP_S5 5

/* The FADT reset register: the PIIX reset control register at 0xCF9
 * (src/hw/pci_host.c), value 0x06 = full reset of the CPU */
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06
/* microvm has no PCI host bridge: its reset register is system control
 * port A (src/hw/port92.c), bit 0 */
#define ACPI_MICROVM_RESET_PORT 0x92
#define ACPI_MICROVM_RESET_VALUE 0x01

#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_IOAPIC_ID 0	/* as QEMU: I/O APIC IDs are their own namespace */

/* Does the machine have ACPI tables (not -M microvm,acpi=off)? */
bool acpi_enabled(const struct vm *vm);
/* Write every table for vm->nr_vcpus CPUs into guest RAM.  Returns the
 * RSDP's guest address, or 0 after printing an error (RAM too small). */
uint64_t acpi_build_tables(struct vm *vm);

/* The same tables for firmware that runs QEMU's ACPI loader (SeaBIOS):
 * the fw_cfg files etc/acpi/tables, etc/acpi/rsdp and etc/table-loader.
 * 0 or a negative errno after printing an error. */
struct fw_cfg;
int acpi_build_fw_cfg(struct vm *vm, struct fw_cfg *fw);

/* Table checksum helper: the byte that makes len bytes sum to 0 */
uint8_t acpi_checksum(const uint8_t *p, uint64_t len);

#endif
