/* -M microvm: a machine without PCI, like QEMU's (and Firecracker's): the
 * local APICs and the I/O APIC, COM1, and optionally the i8259 pair, the
 * i8254 and the MC146818 RTC; ACPI (with the PM registers that power it
 * off) unless acpi=off; virtio devices on virtio-mmio transports.
 *
 * The transports are where QEMU's microvm puts them when it has one I/O
 * APIC: eight slots of 512 bytes from 0xFEB00000, on GSIs 16-23, which
 * no ISA device uses.  The DSDT names each one taken (_HID LNRO0005),
 * and the command line too (virtio_mmio.device=), for kernels that read
 * it. */
#include "hw/pc.h"

#include "boot/acpi.h"
#include "core/vm.h"
#include "hw/i8259.h"
#include "virtio/virtio_mmio.h"

#define MICROVM_VIRTIO_MMIO_BASE 0xfeb00000ull
#define MICROVM_VIRTIO_GSI_BASE 16

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define DEBUGCON_PORT 0xe9

/* The userspace interrupt controllers for the software CPU; KVM's
 * in-kernel irqchip always has its PIC and PIT, which the guest is simply
 * not told about when they are off */
static int microvm_irqchip_init(struct vm *vm)
{
	const struct microvm_config *m = &vm->cfg.microvm;
	int ret;

	if (vm->accel->kernel_irqchip)
		return 0;
	if (m->pic && (ret = i8259_create(vm, &vm->pic)) < 0)
		return ret;
	ret = irq_router_create(vm);
	if (ret < 0)
		return ret;
	return m->pit ? i8254_create(vm, NULL) : 0;
}

int microvm_board_init(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	const struct microvm_config *m = &cfg->microvm;
	int ret;

	ret = microvm_irqchip_init(vm);
	if (ret < 0)
		return ret;
	if (m->rtc && (ret = mc146818_rtc_create(vm, NULL)) < 0)
		return ret;
	if (m->acpi && (ret = acpi_pm_create(vm)) < 0)
		return ret;
	if (m->isa_serial && cfg->serial.kind != CHARDEV_NONE) {
		ret = uart16550_create(vm, COM1_BASE, COM1_IRQ, &cfg->serial, &vm->com1);
		if (ret < 0)
			return ret;
	}
	if (cfg->debugcon.kind != CHARDEV_NONE) {
		ret = debugcon_create(vm, DEBUGCON_PORT, &cfg->debugcon);
		if (ret < 0)
			return ret;
	}
	ret = fw_cfg_create(vm);
	if (ret < 0)
		return ret;
	if (cfg->debug_exit) {
		ret = isa_debug_exit_create(vm, cfg->debug_exit_iobase, cfg->debug_exit_iosize);
		if (ret < 0)
			return ret;
	}
	if (cfg->pc_testdev) {
		ret = pc_testdev_create(vm);
		if (ret < 0)
			return ret;
	}
	vm->virtio_mmio = (struct vm_virtio_mmio){ .base = MICROVM_VIRTIO_MMIO_BASE,
						   .gsi_base = MICROVM_VIRTIO_GSI_BASE,
						   .max = VIRTIO_MMIO_MAX_DEVICES };
	return board_virtio_create(vm);
}
