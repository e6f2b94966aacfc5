/* virtio-net's data path in the host kernel (vhost=on on a tap): at
 * DRIVER_OK each queue pair the driver enabled is handed to its
 * /dev/vhost-net (net/vhost_net.h) with the guest's memory table, the
 * rings' host addresses and the queues' eventfds; the control queue
 * stays the device's.  Notifications: the queue's own kick eventfd is
 * vhost's kick (a KVM ioeventfd under kvm, written by the notify
 * register's handler under tcg); vhost's call eventfd is the transport's
 * (virtio-pci: a KVM irqfd on the queue's MSI-X vector under kvm, read
 * and forwarded by its thread under tcg or while the vector is masked),
 * or, on a transport without, one of this file's that its thread
 * forwards. */
#ifndef MINIVMM_VIRTIO_NET_VHOST_H
#define MINIVMM_VIRTIO_NET_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"

struct virtio_dev;
struct vnet_vhost;

/* Claim the vhost descriptors, read their features, start the call
 * thread.  Prints why it cannot; 0 or -errno. */
int vnet_vhost_new(struct virtio_dev *vdev, struct net_backend *be,
		   const struct net_vhost_info *info, unsigned max_pairs, struct vnet_vhost **out);
/* The ring features vhost supports, of those in features */
uint64_t vnet_vhost_ring_features(const struct vnet_vhost *vh, uint64_t features);
/* On the queue thread, at each notification: start once the driver is
 * ready, finish a stop (the back-end gets its taps back) */
void vnet_vhost_sync(struct vnet_vhost *vh);
/* Is queue index served by the kernel now? */
bool vnet_vhost_owns(const struct vnet_vhost *vh, unsigned index);
/* The device is resetting (vdev lock held): take the taps from vhost */
void vnet_vhost_stop(struct vnet_vhost *vh);
void vnet_vhost_free(struct vnet_vhost *vh);

#endif
