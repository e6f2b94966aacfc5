/* virtio-net (virtio 1.2 §5.1): a network card on a -netdev back-end
 * (net/net.h).  The device proper is virtio_net.c; the parts that only
 * look at bytes (the transmit header check, the receive filter, the
 * control commands) are virtio_net_proto.c. */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdint.h>

struct vm;
struct net_backend;
struct virtio_dev;
struct virtio_device_config;

/* Feature bits */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_VLAN 19
#define VIRTIO_NET_F_CTRL_RX_EXTRA 20
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* What the device dropped or refused, beyond the back-end's own counters
 * (net_backend_stats) */
struct virtio_net_stats {
	uint64_t tx_bad_header;	/* flags, GSO type or checksum place the features do not allow */
	uint64_t tx_bad_length;	/* shorter than a header and an Ethernet header, or too long */
	uint64_t tx_dropped;	/* the back-end refused, or the queue pair is not enabled */
	uint64_t rx_filtered;	/* not for this card (MAC, multicast, VLAN filters) */
	uint64_t rx_no_room;	/* the guest's buffer could not hold the frame */
	uint64_t rx_dropped;	/* the driver was not ready, or the frame was malformed */
	uint64_t ctrl_errors;	/* control commands answered VIRTIO_NET_ERR */
};

/* The device alone on an open back-end, which it owns from then on
 * (closed by its destroy); it starts the back-end.  0 or -errno. */
int virtio_net_new(struct vm *vm, const struct virtio_device_config *cfg, struct net_backend *be,
		   struct virtio_dev **out);
void virtio_net_stats(struct virtio_dev *vdev, struct virtio_net_stats *stats);
/* virtio-net-pci on the netdev cfg->net.netdev names: opens it, prints
 * what went wrong */
int virtio_net_pci_create(struct vm *vm, const struct virtio_device_config *cfg);
int virtio_net_mmio_create(struct vm *vm, const struct virtio_device_config *cfg);

#endif
