/* The KVM engine's private state, and the parts of the engine that are pure
 * functions over KVM's structures so that they can be tested without
 * /dev/kvm: exit dispatch, register conversion, CPUID and power-on state.
 * Everything here follows Documentation/virt/kvm/api.rst. */
#ifndef MINIVMM_KVM_INTERNAL_H
#define MINIVMM_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/accel.h"
#include "accel/x86_state.h"

struct vm;
struct vcpu;

/* Pages KVM needs for itself on Intel hosts (real-mode emulation through
 * vm86): one page of identity-mapped page table and the three-page TSS just
 * above it.  They lie in the PC hole below the firmware, where no RAM and no
 * device may be: 0xfffbc000-0xfffbffff. */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ul
#define KVM_TSS_ADDR 0xfffbd000ul

#define KVM_CPUID_SIGNATURE_LEAF 0x40000000u

/* The GSI routing table beyond the PC's fixed routes: the MSI routes that
 * devices' irqfds use, at GSIs from KVM_MSI_GSI_BASE up to gsi_limit
 * (kvm_irq_routing.c) */
#define KVM_MSI_GSI_BASE KVM_IOAPIC_NUM_PINS
#define KVM_MAX_MSI_ROUTES 1024
struct kvm_gsi_routes {
	unsigned gsi_limit;	/* KVM_CAP_IRQ_ROUTING: GSIs below this */
	unsigned nr_msi;
	struct kvm_irq_routing_entry msi[KVM_MAX_MSI_ROUTES];
};

/* vm->engine */
struct kvm_engine_vm {
	int sys_fd;		/* /dev/kvm */
	int vm_fd;
	size_t run_size;	/* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *supported_cpuid;	/* KVM_GET_SUPPORTED_CPUID, shared by the vCPUs */
	bool tsc_deadline;	/* KVM_CAP_TSC_DEADLINE_TIMER */
	bool xcrs;		/* KVM_CAP_XCRS */
	bool vcpu_events;	/* KVM_CAP_VCPU_EVENTS */
	bool debugregs;		/* KVM_CAP_DEBUGREGS */
	bool signal_msi;	/* KVM_CAP_SIGNAL_MSI */
	bool ioeventfd;		/* KVM_CAP_IOEVENTFD */
	bool ioeventfd_any_length;	/* KVM_CAP_IOEVENTFD_ANY_LENGTH */
	bool irqfd;		/* KVM_CAP_IRQFD */
	pthread_mutex_t routes_lock;	/* routes, and the table KVM has */
	struct kvm_gsi_routes routes;
};

/* vcpu->engine */
struct kvm_engine_vcpu {
	int fd;
	struct kvm_run *run;	/* mmap of the vCPU fd, run_size bytes */
	size_t run_size;
	/* The thread inside vcpu_run, valid while in_run is set.  vcpu_kick
	 * signals it only then, and counts itself in kickers so that the
	 * thread does not leave vcpu_run (and maybe exit) while a kick is
	 * still about to signal it. */
	pthread_t thread;
	atomic_bool in_run;
	atomic_int kickers;
	unsigned long exits_logged;	/* -d exit, limited */
};

/* kvm_vcpu.c: the vCPU side of kvm_accel_ops */
int kvm_vcpu_create(struct vcpu *vcpu);
int kvm_vcpu_reset(struct vcpu *vcpu);
enum vcpu_event kvm_vcpu_run(struct vcpu *vcpu);
void kvm_vcpu_kick(struct vcpu *vcpu);
int kvm_get_regs(struct vcpu *vcpu, struct x86_regs *regs);
int kvm_set_regs(struct vcpu *vcpu, const struct x86_regs *regs);
int kvm_get_sregs(struct vcpu *vcpu, struct x86_sregs *sregs);
int kvm_set_sregs(struct vcpu *vcpu, const struct x86_sregs *sregs);
int kvm_get_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value);
int kvm_get_cpuid(const struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
int kvm_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
void kvm_vcpu_destroy(struct vcpu *vcpu);

/* What the run loop does after an exit */
enum kvm_exit_action {
	KVM_ACTION_CONTINUE,	/* handled: KVM_RUN again */
	KVM_ACTION_YIELD,	/* return to the monitor, which checks its run state */
	KVM_ACTION_HALT,
	KVM_ACTION_RESET,
	KVM_ACTION_POWEROFF,
	KVM_ACTION_ERROR,	/* failed; the reason was printed */
	KVM_ACTION_ERROR_DUMP,	/* failed; the reason was printed, the caller adds the registers */
};

/* kvm_exit.c: dispatch the exit described by run, which is run_size bytes
 * long (the mmap size).  Port I/O goes to vm->pio, MMIO to vm->mmio; data
 * for the guest is written back into run.  Never reads or writes outside
 * [run, run + run_size), whatever the exit says. */
enum kvm_exit_action kvm_handle_exit(struct vm *vm, struct kvm_run *run, size_t run_size);
const char *kvm_exit_reason_name(uint32_t reason);
const char *kvm_internal_suberror_name(uint32_t suberror);
const char *kvm_entry_failure_name(uint64_t hardware_entry_failure_reason);
enum vcpu_event kvm_action_to_event(enum kvm_exit_action action);
/* One line for -d exit, e.g. "IO out port 0x03f8 size 1 count 1" */
size_t kvm_describe_exit(char *buf, size_t size, const struct kvm_run *run);

/* kvm_regs.c: conversion between the architectural state and KVM's */
void kvm_regs_from_x86(struct kvm_regs *out, const struct x86_regs *in);
void kvm_regs_to_x86(struct x86_regs *out, const struct kvm_regs *in);
void kvm_segment_from_x86(struct kvm_segment *out, const struct x86_segment *in);
void kvm_segment_to_x86(struct x86_segment *out, const struct kvm_segment *in);
/* Fills every field but interrupt_bitmap, which belongs to KVM */
void kvm_sregs_from_x86(struct kvm_sregs *out, const struct x86_sregs *in);
void kvm_sregs_to_x86(struct x86_sregs *out, const struct kvm_sregs *in);
/* The register dump printed when the guest cannot go on; returns the length
 * written (truncated to size - 1, always terminated when size > 0). */
size_t kvm_format_state(char *buf, size_t size, const struct x86_regs *regs,
			const struct x86_sregs *sregs);

/* kvm_reset.c: the x86 power-on (RESET) state, Intel SDM vol. 3 table 9-1.
 * The BSP starts at F000:FFF0 with CS base 0xFFFF0000; EDX holds the
 * processor signature (CPUID leaf 1 EAX). */
void kvm_power_on_regs(struct x86_regs *regs, uint32_t cpu_signature);
void kvm_power_on_sregs(struct x86_sregs *sregs, bool bsp);
void kvm_power_on_lapic(struct kvm_lapic_state *lapic, unsigned apic_id, bool bsp);
void kvm_power_on_fpu(struct kvm_fpu *fpu);
void kvm_power_on_pic(struct kvm_pic_state *pic);
void kvm_power_on_ioapic(struct kvm_ioapic_state *ioapic);

/* GSI routing as the MADT describes it (kvm_irq_routing.c) */
#define KVM_PC_IRQ_ROUTES (15 + KVM_IOAPIC_NUM_PINS - 1)
unsigned kvm_pc_irq_routes(struct kvm_irq_routing_entry *entries);
/* No MSI route yet; MSI routes go to GSIs below gsi_limit */
void kvm_routes_init(struct kvm_gsi_routes *rt, unsigned gsi_limit);
/* A route sending MSI (addr, data) at the lowest free GSI: the GSI, or
 * -ENOSPC */
int kvm_routes_add_msi(struct kvm_gsi_routes *rt, uint64_t addr, uint32_t data);
/* Change the message of MSI route gsi; -ENOENT if there is none */
int kvm_routes_set_msi(struct kvm_gsi_routes *rt, unsigned gsi, uint64_t addr, uint32_t data);
int kvm_routes_remove(struct kvm_gsi_routes *rt, unsigned gsi);
/* The whole table for KVM_SET_GSI_ROUTING: the PC's routes, then the MSI
 * routes (malloc'ed; NULL when out of memory) */
struct kvm_irq_routing *kvm_routes_table(const struct kvm_gsi_routes *rt);
/* KVM_SET_GSI_ROUTING with that table; prints why it failed */
int kvm_routes_commit(int vm_fd, const struct kvm_gsi_routes *rt);
void kvm_power_on_pit(struct kvm_pit_state2 *pit);

/* kvm_cpuid.c: fetch KVM_GET_SUPPORTED_CPUID (growing the buffer on E2BIG);
 * returns a malloc'ed table or NULL with errno set. */
struct kvm_cpuid2 *kvm_get_supported_cpuid(int sys_fd);
/* Make a copy of the supported table fit vCPU apic_id: APIC IDs in leaves
 * 1, 0xB, 0x1F and 0x8000001E, the hypervisor bit, the TSC deadline timer
 * when the in-kernel LAPIC has it, and the KVM signature leaf.  entries has
 * room for capacity entries; returns the new count, or -ENOSPC. */
int kvm_cpuid_adjust(struct kvm_cpuid_entry2 *entries, unsigned nent, unsigned capacity,
		     unsigned apic_id, bool tsc_deadline);
/* The entry for function/index, or NULL */
struct kvm_cpuid_entry2 *kvm_cpuid_find(struct kvm_cpuid_entry2 *entries, unsigned nent,
					uint32_t function, uint32_t index);

#endif
