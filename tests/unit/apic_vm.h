/* A test machine with the PC's interrupt controllers: the PIC pair, the
 * I/O APIC and a local APIC per vCPU on the fake engine of platform_vm.h,
 * which here also records what the APICs deliver to the vCPUs. */
#ifndef MINIVMM_TEST_APIC_VM_H
#define MINIVMM_TEST_APIC_VM_H

#include "hw/i8259.h"
#include "hw/ioapic.h"
#include "hw/irq_router.h"
#include "hw/lapic.h"
#include "hw/pc.h"
#include "platform_vm.h"

struct delivery {
	unsigned cpu;
	enum vcpu_delivery what;
	uint8_t vector;
};

/* INIT, SIPI and NMI in order; WAKEs only counted */
static struct delivery deliveries[64];
static int nr_deliveries;
static int wakes[4];

static void record_delivery(struct vcpu *vcpu, enum vcpu_delivery what, uint8_t vector)
{
	if (what == VCPU_DELIVER_WAKE) {
		if (vcpu->id < 4)
			wakes[vcpu->id]++;
		return;
	}
	if (nr_deliveries < 64)
		deliveries[nr_deliveries++] = (struct delivery){ vcpu->id, what, vector };
}

static struct accel_ops apic_accel;

static inline struct vm *apic_vm_new(unsigned nr_cpus)
{
	struct vm *vm = test_vm_new();
	/* the fake engine keeps nothing per vCPU: more of them is what
	 * vm_init would do with cfg.smp */
	for (unsigned i = vm->nr_vcpus; i < nr_cpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
	}
	vm->nr_vcpus = nr_cpus;
	apic_accel = fake_accel;
	apic_accel.vcpu_deliver = record_delivery;
	vm->accel = &apic_accel;
	nr_deliveries = 0;
	memset(wakes, 0, sizeof(wakes));
	if (i8259_create(vm, &vm->pic) < 0 || irq_router_create(vm) < 0) {
		printf("  cannot create the interrupt controllers\n");
		exit(1);
	}
	return vm;
}

/* xAPIC register access as vCPU cpu */
static inline uint32_t apic_read(struct vm *vm, unsigned cpu, uint32_t reg)
{
	uint64_t v;
	vm->current_cpu = cpu;
	io_bus_read(&vm->mmio, APIC_DEFAULT_BASE + reg, 4, &v);
	return (uint32_t)v;
}

static inline void apic_write(struct vm *vm, unsigned cpu, uint32_t reg, uint32_t v)
{
	vm->current_cpu = cpu;
	io_bus_write(&vm->mmio, APIC_DEFAULT_BASE + reg, 4, v);
}

/* the software-enable bit, spurious vector 0xff */
static inline void apic_enable(struct vm *vm, unsigned cpu)
{
	apic_write(vm, cpu, 0xf0, 0x1ff);
}

static inline bool apic_vector_in(struct vm *vm, unsigned cpu, uint32_t reg_base, unsigned vector)
{
	return apic_read(vm, cpu, reg_base + (vector / 32) * 0x10) >> (vector % 32) & 1;
}

#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200

static inline bool cpu_has_interrupt(struct vm *vm, unsigned cpu)
{
	return vm->irqchip->has_interrupt(vm->irqchip_opaque, cpu);
}

static inline int cpu_ack(struct vm *vm, unsigned cpu)
{
	return vm->irqchip->ack_interrupt(vm->irqchip_opaque, cpu);
}

static inline void ioapic_write_reg(struct vm *vm, uint32_t reg, uint32_t v)
{
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE, 4, reg);
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x10, 4, v);
}

static inline uint32_t ioapic_read_reg(struct vm *vm, uint32_t reg)
{
	uint64_t v;
	io_bus_write(&vm->mmio, IOAPIC_DEFAULT_BASE, 4, reg);
	io_bus_read(&vm->mmio, IOAPIC_DEFAULT_BASE + 0x10, 4, &v);
	return (uint32_t)v;
}

static inline void ioapic_route(struct vm *vm, unsigned pin, uint64_t entry)
{
	ioapic_write_reg(vm, 0x11 + 2 * pin, (uint32_t)(entry >> 32));
	ioapic_write_reg(vm, 0x10 + 2 * pin, (uint32_t)entry);
}

#endif
