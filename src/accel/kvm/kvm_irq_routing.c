/* GSI routing for the in-kernel interrupt controllers, matching the MADT
 * the monitor writes (src/boot/acpi.c): ISA IRQ n reaches PIC input n and
 * I/O APIC pin n, except that the timer (IRQ 0) is wired to pin 2, as the
 * MADT's interrupt source override says.  KVM's default routing sends GSI 0
 * to pin 0, and Linux would then find the 8254 timer not connected.
 *
 * Above the I/O APIC's pins, devices add MSI routes (api.rst 4.52,
 * KVM_IRQ_ROUTING_MSI) so that an irqfd can raise an MSI-X vector.
 * KVM_SET_GSI_ROUTING replaces the whole table, so every change hands KVM
 * all the routes again: the PC's and every MSI route. */
#include <errno.h>
#include <stdlib.h>
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

void kvm_routes_init(struct kvm_gsi_routes *rt, unsigned gsi_limit)
{
	memset(rt, 0, sizeof(*rt));
	rt->gsi_limit = gsi_limit;
}

static int find_msi(const struct kvm_gsi_routes *rt, unsigned gsi)
{
	for (unsigned i = 0; i < rt->nr_msi; i++)
		if (rt->msi[i].gsi == gsi)
			return (int)i;
	return -1;
}

static void msi_entry(struct kvm_irq_routing_entry *e, unsigned gsi, uint64_t addr, uint32_t data)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
			   .data = data },
	};
}

int kvm_routes_add_msi(struct kvm_gsi_routes *rt, uint64_t addr, uint32_t data)
{
	if (rt->nr_msi == KVM_MAX_MSI_ROUTES)
		return -ENOSPC;
	/* the lowest free GSI above the I/O APIC's pins */
	unsigned gsi = KVM_MSI_GSI_BASE;
	while (gsi < rt->gsi_limit && find_msi(rt, gsi) >= 0)
		gsi++;
	if (gsi >= rt->gsi_limit)
		return -ENOSPC;
	msi_entry(&rt->msi[rt->nr_msi++], gsi, addr, data);
	return (int)gsi;
}

int kvm_routes_set_msi(struct kvm_gsi_routes *rt, unsigned gsi, uint64_t addr, uint32_t data)
{
	int i = find_msi(rt, gsi);
	if (i < 0)
		return -ENOENT;
	msi_entry(&rt->msi[i], gsi, addr, data);
	return 0;
}

int kvm_routes_remove(struct kvm_gsi_routes *rt, unsigned gsi)
{
	int i = find_msi(rt, gsi);
	if (i < 0)
		return -ENOENT;
	rt->msi[i] = rt->msi[--rt->nr_msi];
	return 0;
}

struct kvm_irq_routing *kvm_routes_table(const struct kvm_gsi_routes *rt)
{
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + (KVM_PC_IRQ_ROUTES + rt->nr_msi) *
							    sizeof(t->entries[0]));
	if (!t)
		return NULL;
	t->nr = kvm_pc_irq_routes(t->entries);
	memcpy(&t->entries[t->nr], rt->msi, rt->nr_msi * sizeof(rt->msi[0]));
	t->nr += rt->nr_msi;
	return t;
}

int kvm_routes_commit(int vm_fd, const struct kvm_gsi_routes *rt)
{
	struct kvm_irq_routing *t = kvm_routes_table(rt);
	if (!t)
		return -ENOMEM;
	int ret = ioctl(vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
	free(t);
	if (ret < 0)
		log_error("KVM: KVM_SET_GSI_ROUTING (%u MSI routes): %s", rt->nr_msi, strerror(-ret));
	return ret;
}
