/* Network back-ends: where the frames of a guest's network card go (a
 * -netdev).  A device (virtio-net on pci or mmio; later perhaps e1000)
 * opens the back-end its netdev= names, starts it with its callbacks, and
 * from then on hands it the frames the guest transmits and takes the frames
 * the guest receives.  A back-end never knows which device uses it.
 *
 * Frames.  A frame is an Ethernet frame without FCS.  When
 * net_backend_has_vnet_hdr() is true (tap with IFF_VNET_HDR), every frame in
 * both directions starts with a struct virtio_net_hdr_v1 (NET_VNET_HDR_LEN
 * bytes, little-endian): the device passes the guest's header through on
 * transmit, and on receive the header describes the frame (checksum still to
 * do, GSO type and size) as the kernel wrote it; num_buffers is the device's
 * to fill.  The device offers the guest checksum and GSO features (CSUM,
 * GUEST_CSUM, HOST/GUEST_TSO4/6, ECN, UFO) only then, and only those that
 * net_backend_offloads() lists; when the guest has negotiated them it calls
 * net_backend_set_offloads() with what the guest can receive.  Without a
 * vnet header (user, stream, dgram, tap vnet_hdr=off) frames are bare, the
 * device strips the header from what the guest sends, writes a zero one
 * for what it receives, and offers none of those features.
 *
 * Threads.  Each back-end runs one I/O thread of its own (a poll loop over
 * its descriptors and an eventfd that wakes it), started by
 * net_backend_start; it does not depend on the main loop.  Every callback
 * into the device (struct net_port) comes from that thread, never from
 * inside a net_backend_* call, so the device may hold its own locks while it
 * calls the back-end; but it must not hold a lock its callbacks take while
 * it calls net_backend_close, which joins the thread.
 *
 * Back-pressure.  Receive: when the device has no guest buffer for a frame,
 * its receive callback returns -EAGAIN; the back-end keeps that frame and,
 * for tap, stream and dgram, stops reading its descriptor (the kernel or
 * the peer holds the rest) until the device calls net_backend_resume_rx.
 * libslirp cannot be paused: its frames wait in a bounded queue, and those
 * that do not fit are dropped and counted (TCP resends them).  Transmit:
 * net_backend_send returns -EAGAIN when the back-end cannot take the frame
 * now (a full tap or socket); the device keeps the frame and stops taking
 * frames off that transmit queue until its tx_ready callback runs.
 *
 * Every function returns 0 or a negative errno unless it says otherwise. */
#ifndef MINIVMM_NET_H
#define MINIVMM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/config.h"

struct net_backend;

#define NET_VNET_HDR_LEN 12	/* struct virtio_net_hdr_v1 */
#define NET_ETH_HLEN 14
/* The longest frame: a 64 KiB IP packet (a GSO frame) behind an Ethernet
 * header with a VLAN tag.  Longer ones are dropped and counted. */
#define NET_FRAME_MAX (65535 + NET_ETH_HLEN + 4)
#define NET_MAX_QUEUES NETDEV_MAX_QUEUES

/* What net_backend_set_offloads turns on: the kinds of frames the guest can
 * receive (TUNSETOFFLOAD's TUN_F_* bits) */
enum net_offload {
	NET_OFFLOAD_CSUM = 1u << 0,	/* a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) */
	NET_OFFLOAD_TSO4 = 1u << 1,
	NET_OFFLOAD_TSO6 = 1u << 2,
	NET_OFFLOAD_ECN = 1u << 3,
	NET_OFFLOAD_UFO = 1u << 4,
};

/* Counters of one back-end since it opened.  rx: towards the guest; tx: from
 * the guest. */
struct net_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;	/* no room (slirp queue), link down, or the device refused */
	uint64_t rx_malformed;	/* from the peer: bad stream framing, runt or giant frames */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;	/* link down, no peer, a frame too short or too long, or an error */
};

/* The device's side, called on the back-end's thread */
struct net_port {
	/* A frame for the guest on queue (vnet header first if the back-end
	 * has one).  Returns 0 when the device took it (or dropped it itself,
	 * which it counts), -EAGAIN when the guest has posted no buffer: the
	 * back-end then holds the frame and offers it again after
	 * net_backend_resume_rx.  Other errors drop the frame (rx_dropped).
	 * The iovec is valid only during the call. */
	int (*receive)(void *opaque, unsigned queue, const struct iovec *iov, unsigned iovcnt);
	/* Optional: a burst of receive calls on queue has ended (the back-end
	 * goes back to waiting); a device may hold its guest notification
	 * until then. */
	void (*rx_flush)(void *opaque, unsigned queue);
	/* A net_backend_send on queue returned -EAGAIN and the back-end can
	 * take frames again.  It may run before that net_backend_send has
	 * returned to the device, so the device treats it as "try again". */
	void (*tx_ready)(void *opaque, unsigned queue);
	/* Optional: the link went up or down (a stream peer came or went,
	 * net_backend_set_link). */
	void (*link_changed)(void *opaque, bool up);
};

/* Open the back-end a -netdev describes: tap devices are created, sockets
 * bound or connected, hostfwd ports bound; nothing is read before
 * net_backend_start.  On failure prints one line naming the netdev and what
 * is wrong, and returns a negative errno.  debug_mask: -d (guest errors
 * libslirp reports go to DEBUG_GUEST_ERRORS). */
int net_backend_open(const struct netdev_config *cfg, unsigned debug_mask,
		     struct net_backend **out);
/* Connect the device and start the back-end's thread.  Once only. */
int net_backend_start(struct net_backend *be, const struct net_port *port, void *opaque);
/* Stop the thread (no callback runs after this returns), close the
 * descriptors, run tap's downscript, free. */
void net_backend_close(struct net_backend *be);

const char *net_backend_id(const struct net_backend *be);

/* Queue pairs the back-end has (tap queues=N; 1 otherwise).  Only the
 * first net_backend_set_queues() of them carry frames (1 at first): a
 * multiqueue device sets the number the guest enables.  When it returns,
 * no receive callback comes for the others.  Not from a callback. */
unsigned net_backend_queues(const struct net_backend *be);
int net_backend_set_queues(struct net_backend *be, unsigned active);

bool net_backend_has_vnet_hdr(const struct net_backend *be);
/* The NET_OFFLOAD_* bits the back-end accepts (0 without a vnet header) */
unsigned net_backend_offloads(const struct net_backend *be);
/* What the guest can receive (a subset of net_backend_offloads); all off
 * until called.  -EINVAL for bits not offered. */
int net_backend_set_offloads(struct net_backend *be, unsigned offloads);

/* A frame from the guest on queue (< the active queues).  Any thread, one
 * at a time per queue.  Returns 0 when the frame was sent, or dropped and
 * counted (link down, no peer, too short or long, an I/O error), or
 * -EAGAIN: the frame was not taken; tx_ready follows.  -EINVAL: queue is
 * not active.  The iovec is only read during the call. */
int net_backend_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		     unsigned iovcnt);
/* The guest has posted receive buffers on queue: offer a held frame
 * again.  Any thread, after the buffers are visible to the receive
 * callback; no system call when nothing is held. */
void net_backend_resume_rx(struct net_backend *be, unsigned queue);

/* The link as the guest should see it: up unless set down or a stream
 * back-end has no peer.  While down, frames both ways are dropped and
 * counted. */
bool net_backend_link_up(const struct net_backend *be);
void net_backend_set_link(struct net_backend *be, bool up);

void net_backend_stats(const struct net_backend *be, struct net_stats *stats);

/* vhost-net hand-off (tap only; -ENOTSUP otherwise).  With vhost=on the
 * device sets up /dev/vhost-net itself (net/vhost_net.h) on the tap and
 * vhost descriptors given here, one pair per queue, then calls
 * net_backend_set_vhost(be, true): when it returns the back-end's thread
 * no longer touches the taps (a frame it holds waits), until set false
 * again.  Not from a callback.  The descriptors stay the back-end's. */
struct net_vhost_info {
	bool requested;		/* vhost=on */
	unsigned nr_queues;
	int tap_fds[NET_MAX_QUEUES];
	int vhost_fds[NET_MAX_QUEUES];	/* open /dev/vhost-net, one per queue pair */
};
int net_backend_vhost_info(const struct net_backend *be, struct net_vhost_info *info);
int net_backend_set_vhost(struct net_backend *be, bool active);

#endif
