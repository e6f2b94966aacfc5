/* The virtio-mmio transport, version 2 (virtio 1.2 §4.2), for machines
 * without PCI (-M microvm).  The board says where the transports go
 * (struct vm_virtio_mmio in core/vm.h: a window of slots and the GSI of
 * the first); each device takes the next free slot, and the ACPI tables
 * and the kernel command line describe the ones taken. */
#ifndef MINIVMM_VIRTIO_MMIO_H
#define MINIVMM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct virtio_dev;

#define VIRTIO_MMIO_SLOT_SIZE 0x200	/* registers and config, as QEMU's */
#define VIRTIO_MMIO_MAGIC 0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR 0x554d4551	/* "QEMU", which Linux does not check */

struct virtio_mmio_params {
	const char *type;	/* e.g. "virtio-blk-device" */
	/* tests and fuzzers: serve queues on the notifying thread */
	bool no_queue_thread;
};

/* Put vdev in the next free slot, start its queue thread, and own it from
 * then on: machine resets reset it, and vm_destroy frees it
 * (ops->destroy).  Prints what went wrong; on failure the device is freed
 * too.  0 or -errno (-ENODEV: the machine has no virtio-mmio slots,
 * -ENOSPC: all are taken). */
int virtio_mmio_create(struct vm *vm, struct virtio_dev *vdev,
		       const struct virtio_mmio_params *params);

#endif
