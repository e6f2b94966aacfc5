/* What the platform's interrupt controllers and devices may ask of the
 * software CPU engine beyond struct accel_ops: the INIT/SIPI/NMI
 * signals a local APIC delivers, and code invalidation for memory that
 * changed behind the CPU's back.  All are no-ops under another engine
 * (they check vm->accel) and safe to call from a device handler on the
 * vCPU thread; tcg_memory_written from any thread. */
#ifndef MINIVMM_TCG_H
#define MINIVMM_TCG_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* INIT: the vCPU goes to its power-on state and waits for a SIPI */
void tcg_vcpu_init_signal(struct vm *vm, unsigned cpu);
/* SIPI: a vCPU waiting for it starts in real mode at vector << 12 */
void tcg_vcpu_sipi(struct vm *vm, unsigned cpu, uint8_t vector);
/* NMI, from any thread: latched, and taken when the vCPU's current block
 * ends (unless one is in service); it ends HLT whatever IF says */
void tcg_vcpu_nmi(struct vm *vm, unsigned cpu);
/* Guest RAM [gpa, gpa+len) was written other than by a CPU store (DMA,
 * a loader): decoded code there is dropped before the vCPUs run more
 * guest code.  Safe from any thread; devices call it through
 * dma_write/dma_mark_written (mem/dma.h). */
void tcg_memory_written(struct vm *vm, uint64_t gpa, uint64_t len);
/* The A20 gate (port 0x92, the i8042's output port): while off, address
 * bit 20 of every physical access is 0, as on a PC.  From a device
 * handler (vm->dev_lock held); KVM has no such gate. */
void tcg_set_a20(struct vm *vm, bool on);

#endif
