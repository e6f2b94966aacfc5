/* The virtio-pci transport, modern interface only (virtio 1.2 §4.1). */
#ifndef MINIVMM_VIRTIO_PCI_H
#define MINIVMM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct virtio_dev;

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040	/* + the virtio device ID */

struct virtio_pci_params {
	const char *type;	/* e.g. "virtio-rng-pci" */
	uint32_t class_code;
	unsigned vectors;	/* MSI-X vectors; 0: INTx only */
	/* tests and fuzzers: serve queues on the notifying thread */
	bool no_queue_thread;
};

/* Put vdev on the PCI bus, start its queue thread, and own it from then
 * on: machine resets reset it, and vm_destroy frees it (ops->destroy).
 * Prints what went wrong; on failure the device is freed too.  0 or
 * -errno. */
int virtio_pci_create(struct vm *vm, struct virtio_dev *vdev, const struct virtio_pci_params *params);

#endif
