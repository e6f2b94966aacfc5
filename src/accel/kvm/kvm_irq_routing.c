/* GSI routing for the in-kernel interrupt controllers, matching the MADT
 * the monitor writes (src/boot/acpi.c): ISA IRQ n reaches PIC input n and
 * I/O APIC pin n, except that the timer (IRQ 0) is wired to pin 2, as the
 * MADT's interrupt source override says.  KVM's default routing sends GSI 0
 * to pin 0, and Linux would then find the 8254 timer not connected. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm/kvm_internal.h"
#include "core/log.h"

static void route(struct kvm_irq_routing_entry *e, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

unsigned kvm_pc_irq_routes(struct kvm_irq_routing_entry *e)
{
	unsigned n = 0;
	for (uint32_t gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;	/* the master PIC's cascade input */
		route(&e[n++], gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
		      gsi & 7);
	}
	for (uint32_t gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		if (gsi == 2)
			continue;	/* pin 2 is the timer's */
		route(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	}
	return n;
}

int kvm_set_pc_irq_routing(int vm_fd)
{
	struct {
		struct kvm_irq_routing head;
		struct kvm_irq_routing_entry entries[KVM_PC_IRQ_ROUTES];
	} table = { 0 };
	table.head.nr = kvm_pc_irq_routes(table.entries);
	if (ioctl(vm_fd, KVM_SET_GSI_ROUTING, &table) < 0) {
		int err = errno;
		log_error("KVM: KVM_SET_GSI_ROUTING: %s", strerror(err));
		return -err;
	}
	return 0;
}
