/* struct vm: everything one virtual machine owns.  There is no mutable state
 * outside it. */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/accel.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/timer.h"
#include "mem/guest_mem.h"
#include "mem/io_bus.h"

struct vcpu {
	struct vm *vm;
	unsigned id;
	pthread_t thread;
	bool thread_started;
	void *engine;		/* the engine's per-vCPU state */
};

/* A device or subsystem with a life cycle: reset on machine reset,
 * destroyed in reverse order of registration. */
struct vm_device {
	const char *name;
	void *opaque;
	void (*reset)(void *opaque);
	void (*destroy)(void *opaque);
};

#define VM_MAX_DEVICES 64
#define VM_MAX_CHARDEVS 16

enum vm_run_state {
	VM_RUNNING,
	VM_STOP_EXIT,		/* leave minivmm with exit_status */
	VM_STOP_RESET,		/* reset the machine and go on */
	VM_POWERED_OFF,		/* -no-shutdown: vCPUs stopped, minivmm stays */
};

struct boot_files;
struct chardev;
struct uart16550;
struct console;
struct fw_cfg;
struct i8259;
struct irq_router;
struct pci_bus;

/* Where virtio-mmio transports go (virtio/virtio_mmio.h): the board sets
 * the window (slot i at base + i * VIRTIO_MMIO_SLOT_SIZE on GSI
 * gsi_base + i); each transport created takes the next slot.  max 0: the
 * machine has none (the PC). */
struct vm_virtio_mmio {
	uint64_t base;
	unsigned gsi_base;
	unsigned max;
	unsigned nr;		/* slots taken, in order */
};

/* The userspace interrupt controllers (PIC, I/O APIC, local APICs) as the
 * software CPU sees them; KVM keeps its own in the kernel and never uses
 * this.  Set up by the board; all NULL until then. */
struct irqchip_ops {
	/* a device drives interrupt line gsi */
	void (*set_irq)(void *opaque, unsigned gsi, int level);
	/* is an external interrupt waiting for vCPU cpu (checked when IF=1)? */
	bool (*has_interrupt)(void *opaque, unsigned cpu);
	/* the CPU takes it: returns the vector, or -1 if it went away */
	int (*ack_interrupt)(void *opaque, unsigned cpu);
	/* a message-signalled interrupt: data written to addr (0xFEExxxxx) */
	void (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
};

struct vm {
	struct vm_config cfg;
	struct guest_mem mem;
	struct io_bus pio;	/* 65536 ports */
	struct io_bus mmio;	/* physical addresses that are not RAM */
	pthread_mutex_t dev_lock;	/* held around device handlers */

	const struct accel_ops *accel;
	void *engine;		/* the engine's per-VM state */
	struct vcpu vcpus[VM_MAX_VCPUS];
	unsigned nr_vcpus;

	struct vm_device devices[VM_MAX_DEVICES];
	int nr_devices;

	/* run state: written by any thread through vm_request_* */
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	_Atomic int run_state;	/* enum vm_run_state */
	int exit_status;
	int wake_fd[2];		/* pipe that wakes the main loop */

	const struct irqchip_ops *irqchip;
	void *irqchip_opaque;

	struct vm_clock clock;	/* what vm_clock_ns reads (core/clock.h) */
	struct vm_timers timers;	/* device deadlines, under dev_lock (core/timer.h) */

	struct console *console;	/* terminal owner: raw mode, Ctrl-A */
	/* output sinks whose queued bytes the main loop hands over (core/chardev.h) */
	struct chardev *chardevs[VM_MAX_CHARDEVS];
	unsigned nr_chardevs;
	struct uart16550 *com1;
	struct fw_cfg *fw_cfg;	/* for items added after the board is built */
	struct i8259 *pic;	/* NULL when the engine has its own irqchip */
	/* PIC + I/O APIC + local APICs (hw/irq_router.h); NULL under KVM */
	struct irq_router *irq_router;
	/* The vCPU whose instruction is being executed: the local APICs share
	 * one MMIO range and answer as this CPU's APIC.  A single-threaded
	 * engine sets it before running a vCPU (unused with per-vCPU threads,
	 * where the in-kernel APIC answers). */
	unsigned current_cpu;
	struct pci_bus *pci;
	struct vm_virtio_mmio virtio_mmio;
	/* the A20 gate: on while either input asks for it (enum pc_a20_input
	 * in hw/pc.h), under dev_lock */
	uint8_t a20_inputs;
	/* -kernel and -initrd as read at start-up, for resets (boot/boot.h) */
	struct boot_files *boot_files;
};

/* Set up memory, buses and the engine; no vCPU runs yet. */
int vm_init(struct vm *vm, const struct vm_config *cfg, const struct accel_ops *accel);
void vm_destroy(struct vm *vm);

/* Keep a device's life cycle; returns 0 or -ENOSPC */
__attribute__((warn_unused_result)) int vm_add_device(struct vm *vm, const char *name,
						       void *opaque, void (*reset)(void *),
						       void (*destroy)(void *));

/* Called from any thread: the guest (or the user) wants out, or a reset. */
void vm_request_exit(struct vm *vm, int status);
void vm_request_reset(struct vm *vm);
/* The guest powered the machine off: exit with status 0, or with
 * -no-shutdown stop the vCPUs and wait for the user to quit. */
void vm_request_poweroff(struct vm *vm);
bool vm_running(const struct vm *vm);
/* Make the main loop look at its work again (timers, console input);
 * safe from any thread */
void vm_wake_main_loop(struct vm *vm);

/* Drive an interrupt line through the engine */
int vm_set_irq(struct vm *vm, unsigned gsi, int level);
/* A device's MSI: data written to addr, to the engine's local APICs (KVM)
 * or the userspace ones.  Safe from any thread; the userspace APICs take
 * vm->dev_lock, so a caller must not hold a lock that a dev_lock holder
 * may wait for (a device's own).  0 or -errno. */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* KVM_IOEVENTFD where the engine has it (struct accel_ops.ioeventfd) */
int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign);
/* ... only for writes of len bytes with value data */
int vm_ioeventfd_datamatch(struct vm *vm, uint64_t addr, unsigned len, uint64_t data, int fd,
			   bool assign);

/* MSI routes and irqfds where the engine has them (struct
 * accel_ops.msi_route, .irqfd); -ENOSYS elsewhere */
bool vm_has_irqfd(const struct vm *vm);
int vm_msi_route(struct vm *vm, int gsi, uint64_t addr, uint32_t data);
void vm_msi_route_release(struct vm *vm, int gsi);
int vm_irqfd(struct vm *vm, unsigned gsi, int fd, bool assign);

/* Port I/O and MMIO as the engines dispatch them */
static inline bool vm_pio_read(struct vm *vm, uint16_t port, unsigned size, uint32_t *value)
{
	uint64_t v;
	bool hit = io_bus_read(&vm->pio, port, size, &v);
	*value = (uint32_t)v;
	return hit;
}

static inline bool vm_pio_write(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
	return io_bus_write(&vm->pio, port, size, value);
}

#endif
