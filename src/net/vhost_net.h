/* The /dev/vhost-net set-up a virtio-net device makes when its tap back-end
 * has vhost=on (net_backend_vhost_info gives the descriptors), as
 * <linux/vhost.h> defines it: VHOST_SET_OWNER, the features, the memory
 * table (guest-physical to host addresses), each virtqueue's size, start
 * index, ring addresses and kick/call eventfds, then VHOST_NET_SET_BACKEND
 * to give the kernel the tap.  One /dev/vhost-net descriptor serves one
 * queue pair: virtqueue 0 receives, 1 transmits.
 *
 * The kick eventfd is what the guest's notification writes (an ioeventfd
 * under KVM; the VMM writes it under tcg); the call eventfd is what vhost
 * writes when it used buffers (an irqfd under KVM; the VMM reads it and
 * raises the interrupt under tcg).  These functions do only the ioctls;
 * every argument is checked first, and they return 0 or a negative errno. */
#ifndef MINIVMM_VHOST_NET_H
#define MINIVMM_VHOST_NET_H

#include <stdbool.h>
#include <stdint.h>

#define VHOST_NET_VQ_RX 0
#define VHOST_NET_VQ_TX 1
#define VHOST_NET_VQS 2
#define VHOST_NET_MAX_REGIONS 64	/* vhost's default max_mem_regions */

/* A piece of guest RAM: gpa..gpa+size-1 lives at hva */
struct vhost_net_region {
	uint64_t gpa, size;
	void *hva;
};

/* A split virtqueue as the guest set it up, at host addresses */
struct vhost_net_vring {
	unsigned num;		/* queue size: a power of 2, at most 32768 */
	uint16_t next_avail;	/* the first avail entry vhost takes (VHOST_SET_VRING_BASE) */
	void *desc, *avail, *used;	/* aligned 16, 2 and 4 */
	int kick_fd, call_fd;	/* eventfds */
};

/* Claim the descriptor for this process (once, first) */
int vhost_net_set_owner(int vhost_fd);
int vhost_net_get_features(int vhost_fd, uint64_t *features);
/* What to tell vhost: the features the guest accepted that vhost has, and
 * VHOST_NET_F_VIRTIO_NET_HDR (vhost adds and strips the header) when the
 * tap has no vnet header of its own */
uint64_t vhost_net_features(uint64_t vhost_features, uint64_t guest_features,
			    bool tap_vnet_hdr);
int vhost_net_set_features(int vhost_fd, uint64_t features);
int vhost_net_set_mem_table(int vhost_fd, const struct vhost_net_region *regions,
			    unsigned nr);
int vhost_net_set_vring(int vhost_fd, unsigned index, const struct vhost_net_vring *vring);
/* Give the tap to virtqueue index (tap_fd -1 takes it away: the queue stops) */
int vhost_net_set_backend(int vhost_fd, unsigned index, int tap_fd);
/* Where vhost stopped: the next avail entry it would take */
int vhost_net_get_vring_base(int vhost_fd, unsigned index, uint16_t *next_avail);

/* The whole start of one queue pair, in <linux/vhost.h>'s order: features,
 * memory table, both virtqueues, then the tap to each.  The owner must be
 * set already. */
int vhost_net_start(int vhost_fd, uint64_t features, const struct vhost_net_region *regions,
		    unsigned nr_regions, const struct vhost_net_vring vrings[VHOST_NET_VQS],
		    int tap_fd);
/* Detach the tap from both virtqueues and read where each stopped */
int vhost_net_stop(int vhost_fd, uint16_t next_avail[VHOST_NET_VQS]);

#endif
