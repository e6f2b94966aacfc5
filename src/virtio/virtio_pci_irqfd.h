/* virtio-pci's call eventfds: one per queue, which interrupt the driver
 * for that queue when written.  Under KVM (struct accel_ops.irqfd) a
 * queue's eventfd is an irqfd on an MSI route carrying its MSI-X vector's
 * message, so that a writer (vhost-net, or the device's own completion)
 * interrupts the guest without minivmm.  While the vector cannot be sent
 * (masked, MSI-X off: INTx) or the engine has no irqfd, a thread of this
 * file reads the eventfd and calls the transport's interrupt path, which
 * sets the pending bit of a masked vector or raises INTA#: QEMU's way of
 * keeping the PCI rules while the fast path lives in the kernel.
 *
 * The transport calls vp_irqfd_update after every change that moves a
 * queue's interrupt: MSI-X table or capability writes, a queue's vector,
 * a reset.  There is one window the PCI rules do not allow and that this
 * shares with QEMU: an interrupt written just before a mask takes effect
 * may still reach the guest through the irqfd being removed. */
#ifndef MINIVMM_VIRTIO_PCI_IRQFD_H
#define MINIVMM_VIRTIO_PCI_IRQFD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/msix.h"
#include "virtio/virtio.h"

struct vm;

struct vp_irqfd {
	struct vm *vm;
	struct msix *msix;	/* NULL: INTx only */
	const char *name;	/* the device's, for messages */
	unsigned nr_queues;
	/* the transport's interrupt for queue q, from the thread */
	void (*forward)(void *opaque, unsigned q);
	void *opaque;

	pthread_mutex_t lock;	/* routes, attachments, set-up */
	bool ready;		/* eventfds made, thread running */
	int fd[VIRTIO_MAX_QUEUES];	/* the call eventfds */
	_Atomic int gsi[VIRTIO_MAX_QUEUES];	/* the irqfd's GSI, or -1: the thread reads it */
	int route_gsi[MSIX_MAX_VECTORS];	/* the vector's MSI route, or -1 */
	uint64_t route_addr[MSIX_MAX_VECTORS];
	uint32_t route_data[MSIX_MAX_VECTORS];
	bool warned;

	int ctl_fd;		/* the thread: look at gsi[] again, or stop */
	atomic_bool stopping;
	pthread_t thread;
	/* interrupts the thread forwarded, and those written to an irqfd by
	 * vp_irqfd_signal (the transport prints them with -d int) */
	atomic_ulong forwarded, signalled;
};

/* No eventfd yet.  The queues' eventfds and the thread come with the first
 * vp_irqfd_fd, or at once when the engine has irqfds. */
int vp_irqfd_init(struct vp_irqfd *c, struct vm *vm, struct msix *msix, unsigned nr_queues,
		  const char *name, void (*forward)(void *opaque, unsigned q), void *opaque);
/* Queue q's call eventfd (made now if need be), or a negative errno */
int vp_irqfd_fd(struct vp_irqfd *c, unsigned q);
/* Interrupt for queue q through its irqfd when it has one: true if it
 * did, false when the caller must interrupt itself.  Any thread. */
bool vp_irqfd_signal(struct vp_irqfd *c, unsigned q);
/* Attach each queue whose vector (vectors[q], 0xffff: none) may be sent
 * now to an irqfd on that vector's route, detach the others */
void vp_irqfd_update(struct vp_irqfd *c, const uint16_t *vectors);
/* Is queue q's eventfd an irqfd now (tests, logs)? */
bool vp_irqfd_attached(struct vp_irqfd *c, unsigned q);
void vp_irqfd_destroy(struct vp_irqfd *c);

#endif
