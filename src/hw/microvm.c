/* -M microvm: a machine without PCI, like QEMU's (and Firecracker's): the
 * local APICs and the I/O APIC, COM1, and optionally the i8259 pair, the
 * i8254 and the MC146818 RTC; ACPI (with the PM registers that power it
 * off, and port 0x92 as its reset register) unless acpi=off; virtio
 * devices on virtio-mmio transports.
 *
 * The transports are where QEMU's microvm puts them when it has one I/O
 * APIC: eight slots of 512 bytes from 0xFEB00000, on GSIs 16-23, which
 * no ISA device uses.  The DSDT names each one taken (_HID LNRO0005);
 * with acpi=off the kernel command line does (virtio_mmio.device=), for
 * kernels that read it. */
#include "hw/pc.h"

#include "core/log.h"
#include "core/vm.h"
#include "hw/i8259.h"
#include "hw/pc_bios.h"
#include "virtio/virtio_mmio.h"

#define MICROVM_VIRTIO_MMIO_BASE 0xfeb00000ull
#define MICROVM_VIRTIO_GSI_BASE 16

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
	/* port 0x92 is the ACPI reset register here */
	if (m->acpi && ((ret = acpi_pm_create(vm)) < 0 || (ret = port92_create(vm)) < 0))
		return ret;
	ret = board_isa_devices_create(vm, m->isa_serial);
	if (ret < 0)
		return ret;
	if (cfg->bios && (ret = pc_bios_create(vm)) < 0)
		return ret;
	/* the I/O APIC is made known by the MADT alone: minivmm writes no
	 * MP table */
	if (!m->acpi && cfg->nr_virtio)
		log_warn("-M microvm,acpi=off: the guest is not told of the I/O APIC (there is no "
			 "MP table), so virtio-mmio devices on GSI %u and up cannot interrupt it",
			 MICROVM_VIRTIO_GSI_BASE);
	vm->virtio_mmio = (struct vm_virtio_mmio){ .base = MICROVM_VIRTIO_MMIO_BASE,
						   .gsi_base = MICROVM_VIRTIO_GSI_BASE,
						   .max = VIRTIO_MMIO_MAX_DEVICES };
	return board_virtio_create(vm, NULL, NULL);
}
