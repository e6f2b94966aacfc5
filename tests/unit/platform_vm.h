/* A machine for device unit tests: a real struct vm (buses, dev_lock,
 * device list) on an engine that does nothing but record interrupt lines,
 * with a virtual clock that the test moves by hand. */
#ifndef MINIVMM_TEST_PLATFORM_VM_H
#define MINIVMM_TEST_PLATFORM_VM_H

#include <stdatomic.h>

#include "core/clock.h"
#include "core/timer.h"
#include "core/vm.h"

#define FAKE_GSIS 24

/* what the fake engine saw, per gsi */
static int fake_irq_level[FAKE_GSIS];
static int fake_irq_rises[FAKE_GSIS];

static inline int fake_set_irq(struct vm *vm, unsigned gsi, int level)
{
	if (gsi < FAKE_GSIS) {
		if (level && !fake_irq_level[gsi])
			fake_irq_rises[gsi]++;
		fake_irq_level[gsi] = level != 0;
	}
	/* as the software CPU does: the line goes on to the userspace irqchip */
	if (vm->irqchip)
		vm->irqchip->set_irq(vm->irqchip_opaque, gsi, level);
	return 0;
}

static inline int fake_ok_vm(struct vm *vm) { (void)vm; return 0; }
static inline int fake_map_ram(struct vm *vm, const struct mem_region *r) { (void)vm; (void)r; return 0; }
static inline int fake_ok_vcpu(struct vcpu *vcpu) { (void)vcpu; return 0; }
static inline void fake_void_vcpu(struct vcpu *vcpu) { (void)vcpu; }
static inline void fake_void_vm(struct vm *vm) { (void)vm; }

static const struct accel_ops fake_accel = {
	.name = "fake",
	.vm_create = fake_ok_vm,
	.map_ram = fake_map_ram,
	.vcpu_create = fake_ok_vcpu,
	.vcpu_reset = fake_ok_vcpu,
	.vcpu_kick = fake_void_vcpu,
	.vcpu_destroy = fake_void_vcpu,
	.vm_destroy = fake_void_vm,
	.set_irq = fake_set_irq,
	.single_threaded = true,
};

/* 2024-02-29 23:59:58 UTC: a leap day a moment before midnight */
#define TEST_WALL_NS (1709251198ull * NS_PER_SEC)
#define TEST_START_NS (1000ull * NS_PER_SEC)

static inline struct vm *test_vm_new_ram(uint64_t ram_size)
{
	static struct vm vm;	/* struct vm is large: not on the stack */
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.ram_size = ram_size;
	memset(fake_irq_level, 0, sizeof(fake_irq_level));
	memset(fake_irq_rises, 0, sizeof(fake_irq_rises));
	if (vm_init(&vm, &cfg, &fake_accel) < 0) {
		printf("  cannot set up the test machine\n");
		exit(1);
	}
	vm_clock_set_virtual(&vm, TEST_START_NS, (int64_t)TEST_WALL_NS);
	return &vm;
}

static inline struct vm *test_vm_new(void)
{
	return test_vm_new_ram(16ull << 20);
}

static inline void test_vm_free(struct vm *vm)
{
	vm_destroy(vm);
}

/* Advance the clock in steps of at most step_ns, running timers at each */
static inline void test_advance(struct vm *vm, uint64_t ns, uint64_t step_ns)
{
	while (ns) {
		uint64_t d = ns < step_ns ? ns : step_ns;
		vm_clock_advance(vm, d);
		timers_run_expired(vm, vm_clock_ns(vm));
		ns -= d;
	}
}

static inline uint32_t inb(struct vm *vm, uint16_t port)
{
	uint64_t v;
	io_bus_read(&vm->pio, port, 1, &v);
	return (uint32_t)v;
}

static inline uint32_t inw(struct vm *vm, uint16_t port)
{
	uint64_t v;
	io_bus_read(&vm->pio, port, 2, &v);
	return (uint32_t)v;
}

static inline uint32_t inl(struct vm *vm, uint16_t port)
{
	uint64_t v;
	io_bus_read(&vm->pio, port, 4, &v);
	return (uint32_t)v;
}

static inline void outb(struct vm *vm, uint16_t port, uint32_t v)
{
	io_bus_write(&vm->pio, port, 1, v);
}

static inline void outw(struct vm *vm, uint16_t port, uint32_t v)
{
	io_bus_write(&vm->pio, port, 2, v);
}

static inline void outl(struct vm *vm, uint16_t port, uint32_t v)
{
	io_bus_write(&vm->pio, port, 4, v);
}

static inline bool test_reset_requested(struct vm *vm)
{
	return atomic_load(&vm->run_state) == VM_STOP_RESET;
}

/* Hostile guest: random reads and writes of every width to the given
 * ports, with time passing and timers running; the device must survive
 * (ASan and UBSan builds check the rest) */
static inline void test_port_storm(struct vm *vm, const uint16_t *ports, int nports, int rounds,
				   uint32_t seed)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (int i = 0; i < rounds; i++) {
		seed = seed * 1103515245u + 12345u;
		uint16_t port = ports[(seed >> 8) % (unsigned)nports];
		unsigned size = sizes[(seed >> 4) & 3];
		seed = seed * 1103515245u + 12345u;
		uint64_t v = (uint64_t)seed << 32 | (seed * 2654435761u);
		if (seed & 0x10000)
			io_bus_write(&vm->pio, port, size, v);
		else
			io_bus_read(&vm->pio, port, size, &v);
		if ((seed & 0xff) == 0)
			test_advance(vm, seed >> 12, 1000000);
	}
}

#endif
