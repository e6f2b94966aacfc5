/* The PC board: which devices exist and where, from struct vm_config. */
#ifndef MINIVMM_PC_H
#define MINIVMM_PC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"

struct vm;
struct uart16550;

/* The board cfg->machine names: the PC, or microvm (hw/microvm.c) */
int pc_board_init(struct vm *vm);
int microvm_board_init(struct vm *vm);
/* The -device virtio-* devices, each on its transport (both boards); boot
 * (NULL on microvm) gets the SeaBIOS boot paths of those with bootindex= */
struct pc_boot_entry;
int board_virtio_create(struct vm *vm, struct pc_boot_entry *boot, unsigned *nboot);
/* COM1 (if com1 and -serial is not none), debugcon, fw_cfg and the ISA
 * devices -device adds (both boards) */
int board_isa_devices_create(struct vm *vm, bool com1);

/* The A20 gate's inputs: address bit 20 is masked while both are off */
enum pc_a20_input {
	PC_A20_PORT92 = 1,	/* system control port A, bit 1 */
	PC_A20_I8042 = 2,	/* the keyboard controller's output port, bit 1 */
};
void pc_set_a20_input(struct vm *vm, enum pc_a20_input input, bool on);

/* One creation function per device; each registers its I/O ranges and its
 * life cycle with the vm, and returns 0 or a negative errno. */
int uart16550_create(struct vm *vm, uint16_t base, unsigned irq, const struct chardev_config *out,
		     struct uart16550 **uart);
int isa_debug_exit_create(struct vm *vm, uint16_t iobase, uint16_t iosize);
int debugcon_create(struct vm *vm, uint16_t port, const struct chardev_config *out);
int fw_cfg_create(struct vm *vm);
int pc_testdev_create(struct vm *vm);

/* The legacy PC platform: PIC pair (installs vm->irqchip), PIT with the
 * port 0x61 speaker/refresh bits, CMOS RTC, i8042 (reset line), port 0x92,
 * POST port 0x80, PCI host bridge with config mechanism #1 and 0xCF9. */
struct i8259;
struct i8254;
struct mc146818_rtc;
struct i8042;
struct pci_bus;
int i8259_create(struct vm *vm, struct i8259 **out);
int i8254_create(struct vm *vm, struct i8254 **out);
int mc146818_rtc_create(struct vm *vm, struct mc146818_rtc **out);
int i8042_create(struct vm *vm, struct i8042 **out);
int port92_create(struct vm *vm);
int port80_create(struct vm *vm);
int pci_host_create(struct vm *vm, struct pci_bus **out);
/* ACPI PM1a event/control registers and PM timer at the ports the ACPI
 * tables name (boot/acpi.h: 0x600-0x60b, SCI on IRQ 9) */
int acpi_pm_create(struct vm *vm);
/* The same registers where a PIIX4 PM function's PMBA puts them: base 0
 * leaves them unmapped until acpi_pm_set_base (0, or -EEXIST when the
 * ports are taken, and they stay unmapped) */
struct acpi_pm;
int acpi_pm_create_at(struct vm *vm, uint16_t base, struct acpi_pm **out);
int acpi_pm_set_base(struct acpi_pm *pm, uint16_t base);

/* The PIIX functions of QEMU's pc machine at 00:01: the PIIX3 ISA bridge
 * (PIRQ routing) and the PIIX4 power-management function (the ACPI
 * registers' base, an SMBus with nothing on it).  firmware false: they
 * start as a BIOS leaves them (PM at 0x600, PIRQs to 10, 10, 11, 11). */
int piix_create(struct vm *vm, bool firmware);
/* The PIIX3 IDE function at 00:01.1 with the -drive if=ide drives (hw/ide.h) */
int piix_ide_create(struct vm *vm);

/* The APICs for the software CPU (hw/irq_router.h): a local APIC per vCPU
 * at 0xFEE00000 and the I/O APIC at 0xFEC00000; takes vm->irqchip over
 * from the PIC, so call it after i8259_create. */
int irq_router_create(struct vm *vm);

#endif
