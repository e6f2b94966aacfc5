/* The engine interface: what the monitor asks of KVM and of the software CPU
 * alike.  Every function returns 0 or a negative errno unless it says
 * otherwise.  Register state crosses this interface explicitly: the monitor
 * reads or writes it only while the vCPU is not running. */
#ifndef MINIVMM_ACCEL_H
#define MINIVMM_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/x86_state.h"

struct vm;
struct vcpu;
struct mem_region;

/* Why vcpu_run returned */
enum vcpu_event {
	VCPU_EVENT_YIELD,	/* nothing to do; call again (time slice ended, kicked) */
	VCPU_EVENT_HALT,	/* HLT that only the monitor can end (no in-engine wake-up) */
	VCPU_EVENT_RESET,	/* triple fault or a reset request from the guest */
	VCPU_EVENT_POWEROFF,	/* the guest asked to power off */
	VCPU_EVENT_ERROR,	/* the engine failed; it printed why */
};

/* What a local APIC hands to a vCPU beyond fixed interrupts (those the CPU
 * takes through vm->irqchip) */
enum vcpu_delivery {
	VCPU_DELIVER_INIT,	/* INIT: power-on state, then wait for a SIPI */
	VCPU_DELIVER_SIPI,	/* start-up: a CPU waiting for it runs at vector << 12 */
	VCPU_DELIVER_NMI,	/* NMI at the next instruction boundary */
	VCPU_DELIVER_WAKE,	/* an interrupt became pending: look at the irqchip again */
};

struct accel_ops {
	const char *name;
	/* Can this engine run on this host? Must not print anything. */
	bool (*available)(void);
	/* Optional: why the engine that is available here may not run an
	 * ordinary PC guest (NULL when it can).  -accel without a choice
	 * passes such an engine by; naming it gives a warning. */
	const char *(*limitation)(void);
	/* Create the VM side of the engine; vm->mem is set up already. */
	int (*vm_create)(struct vm *vm);
	int (*map_ram)(struct vm *vm, const struct mem_region *region);
	/* vcpu->id and vcpu->vm are set; the engine fills vcpu->engine. */
	int (*vcpu_create)(struct vcpu *vcpu);
	/* Power-on state: the BSP in real mode at F000:FFF0, an AP waiting
	 * for INIT/SIPI. Used at start and on machine reset. */
	int (*vcpu_reset)(struct vcpu *vcpu);
	/* Run until an event the monitor must see, or until vcpu_kick. */
	enum vcpu_event (*vcpu_run)(struct vcpu *vcpu);
	/* Make vcpu_run return soon; safe from any thread and from a signal handler. */
	void (*vcpu_kick)(struct vcpu *vcpu);
	int (*get_regs)(struct vcpu *vcpu, struct x86_regs *regs);
	int (*set_regs)(struct vcpu *vcpu, const struct x86_regs *regs);
	int (*get_sregs)(struct vcpu *vcpu, struct x86_sregs *sregs);
	int (*set_sregs)(struct vcpu *vcpu, const struct x86_sregs *sregs);
	int (*get_msr)(struct vcpu *vcpu, uint32_t index, uint64_t *value);
	int (*set_msr)(struct vcpu *vcpu, uint32_t index, uint64_t value);
	/* What the guest's CPUID instruction returns on vcpu for leaf and
	 * subleaf (tables that describe the CPU copy it: SMBIOS) */
	int (*get_cpuid)(const struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
	/* Drive interrupt line gsi (ISA IRQ n is gsi n) to level (0 or 1). */
	int (*set_irq)(struct vm *vm, unsigned gsi, int level);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	void (*vm_destroy)(struct vm *vm);
	/* Optional (NULL: nothing to tell), for engines that use the userspace
	 * local APICs (src/hw/lapic.c): an APIC sends the vCPU INIT, SIPI (with
	 * its vector) or NMI, or tells it that an interrupt is pending (WAKE:
	 * a halted vCPU must wake, a running one must ask vm->irqchip again
	 * soon).  Called under vm->dev_lock, from the vCPU thread (an IPI, an
	 * APIC register write, which may target the calling vCPU itself) or
	 * from the thread that runs timers; it must not block. */
	void (*vcpu_deliver)(struct vcpu *vcpu, enum vcpu_delivery what, uint8_t vector);
	/* Optional (NULL: the userspace irqchip takes MSIs, vm_signal_msi):
	 * deliver the MSI message data written to addr; from any thread */
	int (*signal_msi)(struct vm *vm, uint64_t addr, uint32_t data);
	/* Optional: a guest write of len bytes (0: any) to MMIO address addr
	 * signals eventfd fd instead of reaching the device's handler
	 * (assign), or no longer does; -ENOSYS without it */
	int (*ioeventfd)(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign);
	/* Optional: the same for writes of exactly len bytes (1, 2, 4 or 8)
	 * of the value data only (several queues behind one register) */
	int (*ioeventfd_datamatch)(struct vm *vm, uint64_t addr, unsigned len, uint64_t data,
				   int fd, bool assign);
	/* Optional (NULL: -ENOSYS), with irqfd: a GSI whose route sends the
	 * MSI message (addr, data).  gsi < 0 allocates one, else changes the
	 * message of gsi; returns the GSI or a negative errno.  From any
	 * thread. */
	int (*msi_route)(struct vm *vm, int gsi, uint64_t addr, uint32_t data);
	void (*msi_route_release)(struct vm *vm, int gsi);
	/* Optional (NULL: -ENOSYS): a write to eventfd fd raises gsi without
	 * the monitor (assign), or no longer does */
	int (*irqfd)(struct vm *vm, unsigned gsi, int fd, bool assign);
	/* true: all vCPUs run in turn on the calling thread (vcpu_run returns
	 * often); false: the monitor starts one thread per vCPU. */
	bool single_threaded;
	/* true: the PICs, I/O APIC, local APICs and PIT live in the engine
	 * (KVM's in-kernel irqchip), so the board does not create them */
	bool kernel_irqchip;
};

extern const struct accel_ops kvm_accel_ops;
extern const struct accel_ops tcg_accel_ops;

#endif
