/* A network back-end that is not one: the whole of net/net.h over plain
 * fields, for the virtio-net unit test and fuzzer.  It records what the
 * device sends and asks, returns what the test says (send_ret), and the
 * test plays the back-end's thread by calling the device's callbacks
 * (fake_net.port) itself.  Include it in one file of a program only: it
 * defines net.h's functions, and the real ones are not linked then. */
#ifndef MINIVMM_TEST_NET_FAKE_H
#define MINIVMM_TEST_NET_FAKE_H

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"

struct net_backend {
	bool vnet_hdr;
	unsigned offloads, offloads_set;
	unsigned queues, active;
	bool link;
	bool vhost;
	int send_ret;		/* what send answers (0 or -EAGAIN) */
	unsigned sent, sent_queue;
	size_t sent_len;	/* of the last frame, header included */
	uint8_t last[NET_VNET_HDR_LEN + NET_FRAME_MAX];
	unsigned resumes[NET_MAX_QUEUES];
	const struct net_port *port;
	void *opaque;
	_Atomic bool started, closed;
	/* hold_send: send waits (in_send) until the test clears it; a send
	 * that ends after close sets sent_after_close */
	_Atomic bool hold_send, in_send, sent_after_close;
	/* what each frame is checked against: where guest RAM is (NULL: no check) */
	const uint8_t *ram;
	size_t ram_size;
};

static struct net_backend fake_net;

static inline void fake_net_init(bool vnet_hdr, unsigned queues)
{
	memset(&fake_net, 0, sizeof(fake_net));
	fake_net.vnet_hdr = vnet_hdr;
	fake_net.offloads = vnet_hdr ? NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 |
					       NET_OFFLOAD_ECN | NET_OFFLOAD_UFO :
				       0;
	fake_net.queues = queues;
	fake_net.active = 1;
	fake_net.link = true;
}

int net_backend_open(const struct netdev_config *cfg, unsigned debug_mask, struct net_backend **out)
{
	(void)cfg;
	(void)debug_mask;
	*out = &fake_net;
	return 0;
}

int net_backend_start(struct net_backend *be, const struct net_port *port, void *opaque)
{
	if (be->started || !port->receive || !port->tx_ready)
		return -EINVAL;
	be->port = port;
	be->opaque = opaque;
	be->started = true;
	return 0;
}

void net_backend_close(struct net_backend *be)
{
	if (be)
		be->closed = true;
}

const char *net_backend_id(const struct net_backend *be)
{
	(void)be;
	return "fake";
}

unsigned net_backend_queues(const struct net_backend *be) { return be->queues; }

int net_backend_set_queues(struct net_backend *be, unsigned active)
{
	if (active < 1 || active > be->queues)
		return -EINVAL;
	be->active = active;
	return 0;
}

bool net_backend_has_vnet_hdr(const struct net_backend *be) { return be->vnet_hdr; }
unsigned net_backend_offloads(const struct net_backend *be) { return be->offloads; }

int net_backend_set_offloads(struct net_backend *be, unsigned offloads)
{
	if (offloads & ~be->offloads)
		return -EINVAL;
	be->offloads_set = offloads;
	return 0;
}

int net_backend_send(struct net_backend *be, unsigned queue, const struct iovec *iov,
		     unsigned iovcnt)
{
	if (queue >= be->active)
		return -EINVAL;
	size_t len = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		/* the header may be the device's own copy; the frame is guest RAM */
		if (be->ram && !(be->vnet_hdr && i == 0) &&
		    (p < be->ram || iov[i].iov_len > be->ram_size ||
		     (size_t)(p - be->ram) > be->ram_size - iov[i].iov_len))
			abort();
		len += iov[i].iov_len;
	}
	size_t hdr = be->vnet_hdr ? NET_VNET_HDR_LEN : 0;
	/* the device measured the frame before sending it */
	if (len < hdr + NET_ETH_HLEN || len > hdr + NET_FRAME_MAX || iovcnt > IOV_MAX)
		abort();
	if (atomic_load(&be->hold_send)) {
		atomic_store(&be->in_send, true);
		while (atomic_load(&be->hold_send))
			usleep(1000);
		atomic_store(&be->in_send, false);
	}
	if (atomic_load(&be->closed))
		atomic_store(&be->sent_after_close, true);
	if (be->send_ret)
		return be->send_ret;
	size_t at = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		memcpy(be->last + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	be->sent++;
	be->sent_queue = queue;
	be->sent_len = len;
	return 0;
}

void net_backend_resume_rx(struct net_backend *be, unsigned queue)
{
	if (queue < NET_MAX_QUEUES)
		be->resumes[queue]++;
}

bool net_backend_link_up(const struct net_backend *be) { return be->link; }

void net_backend_set_link(struct net_backend *be, bool up)
{
	be->link = up;
}

void net_backend_stats(const struct net_backend *be, struct net_stats *stats)
{
	(void)be;
	memset(stats, 0, sizeof(*stats));
}

int net_backend_vhost_info(const struct net_backend *be, struct net_vhost_info *info)
{
	(void)be;
	memset(info, 0, sizeof(*info));
	return -ENOTSUP;
}

int net_backend_set_vhost(struct net_backend *be, bool active)
{
	be->vhost = active;
	return -ENOTSUP;
}

/* The back-end's thread handing the device a frame on queue */
static inline int fake_net_deliver(unsigned queue, const void *frame, size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };
	return fake_net.port->receive(fake_net.opaque, queue, &iov, 1);
}

#endif
