/* The parts of virtio-net that only look at bytes the guest or the
 * network wrote, kept apart from the queues so they can be tested and
 * fuzzed alone: the check of a transmit header (struct virtio_net_hdr_v1),
 * the receive filter (MAC, multicast, VLAN) and the control commands that
 * set it. */
#ifndef MINIVMM_VIRTIO_NET_PROTO_H
#define MINIVMM_VIRTIO_NET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr_v1: the header is 12 bytes whatever was
 * negotiated (VERSION_1) */
#define VNET_HDR_LEN 12
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_HDR_GSO_NONE 0
#define VNET_HDR_GSO_TCPV4 1
#define VNET_HDR_GSO_UDP 3
#define VNET_HDR_GSO_TCPV6 4
#define VNET_HDR_GSO_ECN 0x80
#define VNET_HDR_NUM_BUFFERS 10	/* offset of num_buffers */

struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

void vnet_hdr_parse(struct vnet_hdr *h, const uint8_t raw[VNET_HDR_LEN]);
/* Is what the guest put before a frame of frame_len bytes something the
 * negotiated features allow (a checksum to finish inside the frame, a GSO
 * type the device offered, with a segment size)?  true when it is. */
bool vnet_tx_hdr_ok(const struct vnet_hdr *h, uint64_t features, size_t frame_len);

/* The receive filter, as the control queue sets it (QEMU's defaults:
 * promiscuous until the driver says otherwise) */
#define VNET_MAC_TABLE 64
struct vnet_filter {
	uint8_t mac[6];
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	bool uni_overflow, multi_overflow;	/* more addresses than the table holds: take all */
	unsigned nr_uni, nr_multi;
	uint8_t uni[VNET_MAC_TABLE][6], multi[VNET_MAC_TABLE][6];
	bool vlan_filter;	/* VIRTIO_NET_F_CTRL_VLAN: only the VLANs added */
	uint32_t vlans[4096 / 32];
};

void vnet_filter_reset(struct vnet_filter *f, const uint8_t mac[6], bool vlan_filter);
/* Is an Ethernet frame of len bytes for this card? */
bool vnet_filter_accept(const struct vnet_filter *f, const uint8_t *frame, size_t len);

/* Control commands: the class and command bytes, then the data */
#define VNET_CTRL_OK 0
#define VNET_CTRL_ERR 1

enum vnet_ctrl_action {
	VNET_CTRL_FILTER,	/* the filter changed (or nothing did) */
	VNET_CTRL_MAC_ADDR,	/* the filter's mac changed: the configuration too */
	VNET_CTRL_ANNOUNCE_ACK,	/* the driver announced itself */
	VNET_CTRL_QUEUE_PAIRS,	/* pairs: the queue pairs the driver uses now */
	VNET_CTRL_OFFLOADS,	/* offloads: the VIRTIO_NET_F_GUEST_* bits it takes now */
};

struct vnet_ctrl {
	enum vnet_ctrl_action action;
	uint16_t pairs;
	uint64_t offloads;
};

/* Check and carry out one command of len bytes against the negotiated
 * features: the filter commands change f, the others say in *out what the
 * device has to do.  Returns VNET_CTRL_OK or VNET_CTRL_ERR (f untouched). */
uint8_t vnet_ctrl_apply(struct vnet_filter *f, uint64_t features, unsigned max_pairs,
			const uint8_t *cmd, size_t len, struct vnet_ctrl *out);

#endif
