/* virtio-net (virtio 1.2 §5.1) on a -netdev back-end (net/net.h).
 *
 * Queues: receive and transmit for each queue pair (2q, 2q + 1), then
 * the control queue.  Transmit runs on the device's queue thread: a
 * notification takes up to TX_BATCH frames off the ring, checks each
 * header (virtio_net_proto.c) and hands the frame to the back-end
 * straight from guest memory; when the back-end is full the chain goes
 * back to the ring (virtq_unpop) and its tx_ready callback kicks the
 * queue again.  Receive runs on the back-end's I/O thread: a frame that
 * passes the filter is copied into as many buffers as it needs
 * (mergeable buffers) or into one; when the guest has posted too few the
 * buffers go back and the back-end holds the frame (and stops reading its
 * descriptor, or drops and counts, for libslirp) until the guest posts
 * more.  The guest is interrupted once per burst (rx_flush), not per
 * frame.  Nothing waits with a chain in flight, so a reset never waits
 * on the network.
 *
 * The back-end's vnet header, when it has one (tap), is the guest's
 * struct virtio_net_hdr_v1: checked, then passed through, and the
 * checksum and segmentation offloads are offered; without one the device
 * writes a zero header and offers none of them. */
#include "virtio/virtio_net.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/vm.h"
#include "net/net.h"
#include "virtio/virtio.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_net_proto.h"
#include "virtio/virtio_net_vhost.h"
#include "virtio/virtio_pci.h"

/* struct virtio_net_config */
#define CFG_MAC 0
#define CFG_STATUS 6
#define CFG_MAX_PAIRS 8
#define CFG_LEN 10
#define NET_S_LINK_UP 1
#define NET_S_ANNOUNCE 2

#define CTRL_QUEUE_SIZE 64
/* frames one notification of a transmit queue sends before the others
 * get their turn */
#define TX_BATCH 256
/* the longest control command read (a MAC table of ~10000 addresses) */
#define CTRL_MAX_LEN 65536

struct vnet_counters {
	_Atomic uint64_t tx_bad_header, tx_bad_length, tx_dropped;
	_Atomic uint64_t rx_filtered, rx_no_room, rx_dropped, ctrl_errors;
};

struct virtio_net {
	struct virtio_dev vdev;
	struct net_backend *be;
	bool be_vnet_hdr;
	unsigned max_pairs;
	unsigned ctrl_queue;	/* its index, or 0 without a control queue */
	uint8_t mac[6];		/* as configured: what a reset goes back to */
	uint8_t config[CFG_LEN];

	/* under vdev.lock */
	unsigned pairs_wanted;	/* what the back-end should have active */
	bool backend_stale;	/* ... and may not have yet (set after a reset) */
	_Atomic unsigned active_pairs;

	pthread_mutex_t filter_lock;	/* inside vdev.lock */
	struct vnet_filter filter;

	/* per queue pair: receive chains being filled (I/O thread), the
	 * transmit iovec (queue thread) */
	struct virtq_chain **rx_chains[NET_MAX_QUEUES];
	uint32_t *rx_lens[NET_MAX_QUEUES];
	struct iovec *tx_iov[NET_MAX_QUEUES];
	unsigned tx_iov_max;

	struct vnet_vhost *vhost;	/* vhost=on */
	struct vnet_counters stats;
};

#define COUNT(n, field) atomic_fetch_add_explicit(&(n)->stats.field, 1, memory_order_relaxed)

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint64_t negotiated(struct virtio_net *n)
{
	pthread_mutex_lock(&n->vdev.lock);
	uint64_t f = n->vdev.driver_features;
	pthread_mutex_unlock(&n->vdev.lock);
	return f;
}

/* The guest's VIRTIO_NET_F_GUEST_* bits as the back-end's offloads */
static unsigned offloads_of(uint64_t f)
{
	unsigned o = 0;
	if (f & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM))
		o |= NET_OFFLOAD_CSUM;
	if (f & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (f & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	if (f & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ECN))
		o |= NET_OFFLOAD_ECN;
	if (f & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_UFO))
		o |= NET_OFFLOAD_UFO;
	/* the kernel takes segmentation only with checksums */
	return (o & NET_OFFLOAD_CSUM) ? o : 0;
}

/* ---- receive: on the back-end's thread ---- */

/* Copy [off, off + len) of an iovec into a chain's writable part at at */
static void iov_to_chain(struct virtio_dev *vdev, const struct virtq_chain *c, uint64_t at,
			 const struct iovec *iov, unsigned iovcnt, size_t off, size_t len)
{
	for (unsigned i = 0; i < iovcnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len)
			k = len;
		virtq_chain_write(vdev, c, at, (const uint8_t *)iov[i].iov_base + off, k);
		at += k;
		len -= k;
		off = 0;
	}
}

static size_t iov_gather(void *buf, size_t cap, const struct iovec *iov, unsigned iovcnt,
			 size_t *total)
{
	size_t got = 0, all = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		size_t k = iov[i].iov_len;
		if (got < cap) {
			size_t c = k < cap - got ? k : cap - got;
			memcpy((uint8_t *)buf + got, iov[i].iov_base, c);
			got += c;
		}
		all += k;
	}
	*total = all;
	return got;
}

/* Give back chains [0, n) in reverse order */
static void rx_unpop(struct virtio_net *n, struct virtq *vq, struct virtq_chain **chains,
		     unsigned nr)
{
	while (nr)
		virtq_unpop(&n->vdev, vq, chains[--nr]);
}

static int vnet_receive(void *opaque, unsigned q, const struct iovec *iov, unsigned iovcnt)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *vdev = &n->vdev;
	size_t hlen = n->be_vnet_hdr ? VNET_HDR_LEN : 0, total;
	uint8_t head[VNET_HDR_LEN + 16];

	if (q >= n->max_pairs)
		return -EINVAL;
	size_t got = iov_gather(head, hlen + 16, iov, iovcnt, &total);
	if (total < hlen + 14) {
		COUNT(n, rx_dropped);
		return 0;
	}
	size_t frame_len = total - hlen;
	/* the filter looks at the first 16 bytes only */
	pthread_mutex_lock(&n->filter_lock);
	bool accept = vnet_filter_accept(&n->filter, head + hlen, got - hlen);
	pthread_mutex_unlock(&n->filter_lock);
	if (!accept) {
		COUNT(n, rx_filtered);
		return 0;
	}
	uint8_t hdr[VNET_HDR_LEN] = { 0 };
	if (hlen)
		memcpy(hdr, head, VNET_HDR_LEN);

	struct virtq *vq = &vdev->vqs[2 * q];
	bool mrg = virtio_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtq_chain **chains = n->rx_chains[q];
	uint32_t *lens = n->rx_lens[q];
	unsigned nr = 0;
	size_t done = 0;	/* frame bytes placed */
	while (done < frame_len) {
		struct virtq_chain *c;
		int r = nr < vq->max_size ? virtq_pop(vdev, vq, &c) : -EIO;
		if (r == 0) {
			/* too few buffers: let the guest see what it has been
			 * given so far, and wait for more */
			rx_unpop(n, vq, chains, nr);
			virtq_notify(vdev, vq);
			return -EAGAIN;
		}
		if (r < 0) {
			rx_unpop(n, vq, chains, nr);
			COUNT(n, rx_dropped);
			return 0;
		}
		if (c->nr_out || c->in_len < VNET_HDR_LEN) {
			virtio_dev_fail(vdev, vq, "a receive buffer of %llu bytes%s",
					(unsigned long long)c->in_len,
					c->nr_out ? " holds a device-readable part" :
						    " is shorter than the header");
			virtq_push(vdev, vq, c, 0);
			rx_unpop(n, vq, chains, nr);
			COUNT(n, rx_dropped);
			return 0;
		}
		uint64_t at = nr == 0 ? VNET_HDR_LEN : 0;
		if (!mrg && c->in_len < VNET_HDR_LEN + frame_len) {
			/* the guest's buffers are for smaller frames */
			virtq_push(vdev, vq, c, 0);
			virtq_notify(vdev, vq);
			COUNT(n, rx_no_room);
			return 0;
		}
		size_t k = c->in_len - at < frame_len - done ? (size_t)(c->in_len - at) : frame_len - done;
		iov_to_chain(vdev, c, at, iov, iovcnt, hlen + done, k);
		chains[nr] = c;
		lens[nr++] = (uint32_t)(at + k);
		done += k;
	}
	put_le16(hdr + VNET_HDR_NUM_BUFFERS, (uint16_t)nr);
	virtq_chain_write(vdev, chains[0], 0, hdr, VNET_HDR_LEN);
	for (unsigned i = 0; i < nr; i++)
		virtq_push(vdev, vq, chains[i], lens[i]);
	return 0;
}

static void vnet_rx_flush(void *opaque, unsigned q)
{
	struct virtio_net *n = opaque;
	if (q < n->max_pairs)
		virtq_notify(&n->vdev, &n->vdev.vqs[2 * q]);
}

static void vnet_tx_ready(void *opaque, unsigned q)
{
	struct virtio_net *n = opaque;
	if (q < n->max_pairs)
		virtq_kick(&n->vdev, 2 * q + 1);
}

static void vnet_link_changed(void *opaque, bool up)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *vdev = &n->vdev;
	pthread_mutex_lock(&vdev->lock);
	uint8_t s = n->config[CFG_STATUS] & ~NET_S_LINK_UP;
	if (up) {
		s |= NET_S_LINK_UP;
		/* a new peer may not know where the guest is: ask it to say */
		if (virtio_dev_live_locked(vdev) &&
		    virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ANNOUNCE))
			s |= NET_S_ANNOUNCE;
	}
	n->config[CFG_STATUS] = s;
	pthread_mutex_unlock(&vdev->lock);
	virtio_config_changed(vdev);
}

static const struct net_port vnet_port = {
	.receive = vnet_receive,
	.rx_flush = vnet_rx_flush,
	.tx_ready = vnet_tx_ready,
	.link_changed = vnet_link_changed,
};

/* ---- transmit: on the queue thread ---- */

static void vnet_tx(struct virtio_net *n, struct virtq *vq, unsigned q)
{
	struct virtio_dev *vdev = &n->vdev;
	uint64_t features = negotiated(n);
	/* without a queue thread (tests) there is no one to come back later */
	bool threaded = virtq_kick_fd(vdev, vq->index) >= 0;
	struct iovec *iov = n->tx_iov[q];
	bool again = false;

	for (unsigned budget = TX_BATCH;; budget--) {
		if (threaded && !budget) {
			again = true;
			break;
		}
		struct virtq_chain *c;
		if (virtq_pop(vdev, vq, &c) <= 0)
			break;
		if (c->nr_in) {
			virtio_dev_fail(vdev, vq, "a frame to send holds a device-writable buffer");
			virtq_push(vdev, vq, c, 0);
			break;
		}
		if (c->out_len < VNET_HDR_LEN + 14 || c->out_len > VNET_HDR_LEN + NET_FRAME_MAX) {
			COUNT(n, tx_bad_length);
			virtq_push(vdev, vq, c, 0);
			continue;
		}
		size_t frame_len = (size_t)c->out_len - VNET_HDR_LEN;
		/* a copy: the guest may change its header once it is checked */
		uint8_t raw[VNET_HDR_LEN];
		struct vnet_hdr h;
		virtq_chain_read(c, 0, raw, VNET_HDR_LEN);
		vnet_hdr_parse(&h, raw);
		if (!vnet_tx_hdr_ok(&h, features, frame_len)) {
			COUNT(n, tx_bad_header);
			virtq_push(vdev, vq, c, 0);
			continue;
		}
		if (q >= atomic_load(&n->active_pairs)) {
			COUNT(n, tx_dropped);
			virtq_push(vdev, vq, c, 0);
			continue;
		}
		unsigned first = 0;
		if (n->be_vnet_hdr) {
			memset(raw + VNET_HDR_NUM_BUFFERS, 0, 2);
			iov[first++] = (struct iovec){ .iov_base = raw, .iov_len = VNET_HDR_LEN };
		}
		int cnt = virtq_chain_iov(c, false, VNET_HDR_LEN, frame_len, iov + first, NULL,
					  n->tx_iov_max - first);
		int ret = cnt < 0 ? cnt : net_backend_send(n->be, q, iov, first + (unsigned)cnt);
		if (ret == -EAGAIN) {
			/* back to the ring; tx_ready brings us here again */
			virtq_unpop(vdev, vq, c);
			break;
		}
		if (ret < 0)
			COUNT(n, tx_dropped);
		virtq_push(vdev, vq, c, 0);
	}
	virtq_notify(vdev, vq);
	if (again)
		virtq_kick(vdev, vq->index);
}

/* ---- the control queue ---- */

static uint8_t vnet_ctrl_act(struct virtio_net *n, const struct vnet_ctrl *act)
{
	struct virtio_dev *vdev = &n->vdev;
	switch (act->action) {
	case VNET_CTRL_FILTER:
		break;
	case VNET_CTRL_MAC_ADDR:
		pthread_mutex_lock(&vdev->lock);
		pthread_mutex_lock(&n->filter_lock);
		memcpy(n->config + CFG_MAC, n->filter.mac, 6);
		pthread_mutex_unlock(&n->filter_lock);
		pthread_mutex_unlock(&vdev->lock);
		break;
	case VNET_CTRL_ANNOUNCE_ACK:
		pthread_mutex_lock(&vdev->lock);
		n->config[CFG_STATUS] &= ~NET_S_ANNOUNCE;
		pthread_mutex_unlock(&vdev->lock);
		break;
	case VNET_CTRL_QUEUE_PAIRS: {
		if (net_backend_set_queues(n->be, act->pairs) < 0)
			return VNET_CTRL_ERR;
		pthread_mutex_lock(&vdev->lock);
		n->pairs_wanted = act->pairs;
		n->backend_stale = false;
		pthread_mutex_unlock(&vdev->lock);
		atomic_store(&n->active_pairs, act->pairs);
		break;
	}
	case VNET_CTRL_OFFLOADS:
		if (net_backend_set_offloads(n->be, offloads_of(act->offloads)) < 0)
			return VNET_CTRL_ERR;
		break;
	}
	return VNET_CTRL_OK;
}

static void vnet_ctrl(struct virtio_net *n, struct virtq *vq)
{
	struct virtio_dev *vdev = &n->vdev;
	uint64_t features = negotiated(n);
	struct virtq_chain *c;
	while (virtq_pop(vdev, vq, &c) > 0) {
		if (c->nr_in == 0 || c->out_len < 2) {
			virtio_dev_fail(vdev, vq, "a control command without %s",
					c->nr_in ? "its class and command" : "room for the answer");
			virtq_push(vdev, vq, c, 0);
			break;
		}
		uint8_t ack = VNET_CTRL_ERR;
		uint8_t *cmd = c->out_len <= CTRL_MAX_LEN ? malloc(c->out_len) : NULL;
		if (cmd) {
			size_t len = virtq_chain_read(c, 0, cmd, c->out_len);
			struct vnet_ctrl act;
			pthread_mutex_lock(&n->filter_lock);
			ack = vnet_ctrl_apply(&n->filter, features, n->max_pairs, cmd, len, &act);
			pthread_mutex_unlock(&n->filter_lock);
			if (ack == VNET_CTRL_OK)
				ack = vnet_ctrl_act(n, &act);
			free(cmd);
		}
		if (ack != VNET_CTRL_OK)
			COUNT(n, ctrl_errors);
		virtq_chain_write(vdev, c, 0, &ack, 1);
		virtq_push(vdev, vq, c, 1);
	}
	virtq_notify(vdev, vq);
}

/* ---- the device ---- */

/* After a reset the back-end goes back to one queue pair (and vhost
 * stops); done here, on the queue thread, as the reset itself holds the
 * device lock that the back-end's thread may be waiting for */
static void vnet_sync_backend(struct virtio_net *n)
{
	struct virtio_dev *vdev = &n->vdev;
	pthread_mutex_lock(&vdev->lock);
	bool stale = n->backend_stale;
	unsigned pairs = n->pairs_wanted;
	n->backend_stale = false;
	pthread_mutex_unlock(&vdev->lock);
	if (stale && net_backend_set_queues(n->be, pairs) == 0)
		atomic_store(&n->active_pairs, pairs);
	if (n->vhost)
		vnet_vhost_sync(n->vhost);
}

static void vnet_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_net *n = vdev->opaque;
	vnet_sync_backend(n);
	if (n->ctrl_queue && vq->index == n->ctrl_queue)
		vnet_ctrl(n, vq);
	else if (n->vhost && vnet_vhost_owns(n->vhost, vq->index))
		;	/* the kick reached vhost through the same eventfd */
	else if (vq->index % 2 == 0)
		net_backend_resume_rx(n->be, vq->index / 2);
	else
		vnet_tx(n, vq, vq->index / 2);
}

static int vnet_features_ok(struct virtio_dev *vdev, uint64_t features)
{
	struct virtio_net *n = vdev->opaque;
	if (net_backend_set_offloads(n->be, offloads_of(features)) < 0)
		return -EINVAL;
	pthread_mutex_lock(&n->filter_lock);
	n->filter.vlan_filter = features & VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VLAN);
	pthread_mutex_unlock(&n->filter_lock);
	return 0;
}

static void vnet_reset(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;
	if (n->vhost)
		vnet_vhost_stop(n->vhost);
	pthread_mutex_lock(&n->filter_lock);
	vnet_filter_reset(&n->filter, n->mac, false);
	pthread_mutex_unlock(&n->filter_lock);
	memcpy(n->config + CFG_MAC, n->mac, 6);
	n->config[CFG_STATUS] &= ~NET_S_ANNOUNCE;
	if (n->pairs_wanted != 1) {
		n->pairs_wanted = 1;
		n->backend_stale = true;
	}
	net_backend_set_offloads(n->be, 0);
}

static void vnet_stop(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;
	vnet_vhost_free(n->vhost);
	n->vhost = NULL;
	/* no callback comes after this */
	net_backend_close(n->be);
	n->be = NULL;
}

static void vnet_free(struct virtio_net *n)
{
	vnet_vhost_free(n->vhost);
	if (n->be)
		net_backend_close(n->be);
	for (unsigned q = 0; q < NET_MAX_QUEUES; q++) {
		free(n->rx_chains[q]);
		free(n->rx_lens[q]);
		free(n->tx_iov[q]);
	}
	pthread_mutex_destroy(&n->filter_lock);
	free(n);
}

static void vnet_destroy(struct virtio_dev *vdev)
{
	vnet_free(vdev->opaque);
}

static const struct virtio_dev_ops vnet_ops = {
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
	.features_ok = vnet_features_ok,
	.stop = vnet_stop,
	.destroy = vnet_destroy,
};

void virtio_net_stats(struct virtio_dev *vdev, struct virtio_net_stats *s)
{
	struct virtio_net *n = vdev->opaque;
	struct vnet_counters *c = &n->stats;
	s->tx_bad_header = atomic_load(&c->tx_bad_header);
	s->tx_bad_length = atomic_load(&c->tx_bad_length);
	s->tx_dropped = atomic_load(&c->tx_dropped);
	s->rx_filtered = atomic_load(&c->rx_filtered);
	s->rx_no_room = atomic_load(&c->rx_no_room);
	s->rx_dropped = atomic_load(&c->rx_dropped);
	s->ctrl_errors = atomic_load(&c->ctrl_errors);
}

/* What the device offers: the control features always (they need no
 * back-end), the offloads the back-end's vnet header carries */
static uint64_t vnet_features(const struct virtio_device_config *cfg, struct net_backend *be,
			      unsigned max_pairs)
{
	uint64_t f = virtio_ring_features(&cfg->common) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) | VIRTIO_FEATURE(VIRTIO_NET_F_MRG_RXBUF) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VLAN) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX_EXTRA) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_MAC_ADDR);
	if (max_pairs > 1)
		f |= VIRTIO_FEATURE(VIRTIO_NET_F_MQ);
	unsigned o = net_backend_has_vnet_hdr(be) ? net_backend_offloads(be) : 0;
	if (o & NET_OFFLOAD_CSUM) {
		/* a tap takes partial checksums and GSO frames from us always;
		 * what it may give the guest is what TUNSETOFFLOAD accepts */
		f |= VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO6) |
		     VIRTIO_FEATURE(VIRTIO_NET_F_HOST_ECN);
		if (o & NET_OFFLOAD_TSO4)
			f |= VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4);
		if (o & NET_OFFLOAD_TSO6)
			f |= VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO6);
		if (o & NET_OFFLOAD_ECN)
			f |= VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ECN);
		if (o & NET_OFFLOAD_UFO)
			f |= VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_UFO) |
			     VIRTIO_FEATURE(VIRTIO_NET_F_HOST_UFO);
	}
	f &= ~cfg->net.features_off;
	/* what depends on a feature turned off goes with it (virtio 1.2
	 * §5.1.3.1) */
	if (!(f & VIRTIO_FEATURE(VIRTIO_NET_F_CSUM)))
		f &= ~(VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO6) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_HOST_UFO));
	if (!(f & (VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO6))))
		f &= ~VIRTIO_FEATURE(VIRTIO_NET_F_HOST_ECN);
	if (!(f & VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM)))
		f &= ~(VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO6) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_UFO) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
	if (!(f & (VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO6))))
		f &= ~VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ECN);
	if (!(f & VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ)))
		f &= ~(VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VLAN) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX_EXTRA) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE) | VIRTIO_FEATURE(VIRTIO_NET_F_MQ) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		       VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
	if (!(f & VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX)))
		f &= ~VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_RX_EXTRA);
	return f;
}

static int vnet_alloc_queues(struct virtio_net *n)
{
	struct virtio_dev *vdev = &n->vdev;
	n->tx_iov_max = VIRTQ_MAX_SIZE + 16 + 1;
	for (unsigned q = 0; q < n->max_pairs; q++) {
		unsigned rx = vdev->vqs[2 * q].max_size;
		n->rx_chains[q] = calloc(rx, sizeof(*n->rx_chains[q]));
		n->rx_lens[q] = calloc(rx, sizeof(*n->rx_lens[q]));
		n->tx_iov[q] = calloc(n->tx_iov_max, sizeof(*n->tx_iov[q]));
		if (!n->rx_chains[q] || !n->rx_lens[q] || !n->tx_iov[q])
			return -ENOMEM;
	}
	return 0;
}

int virtio_net_new(struct vm *vm, const struct virtio_device_config *cfg, struct net_backend *be,
		   struct virtio_dev **out)
{
	const struct virtio_net_config *nc = &cfg->net;
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n) {
		net_backend_close(be);
		return -ENOMEM;
	}
	pthread_mutex_init(&n->filter_lock, NULL);
	n->be = be;
	n->be_vnet_hdr = net_backend_has_vnet_hdr(be);
	n->max_pairs = nc->mq ? net_backend_queues(be) : 1;
	n->pairs_wanted = 1;
	atomic_store(&n->active_pairs, 1);
	memcpy(n->mac, nc->mac, 6);

	struct net_vhost_info vi;
	bool vhost = net_backend_vhost_info(be, &vi) == 0 && vi.requested;
	struct virtio_device_config c = *cfg;
	if (vhost)	/* vhost-net has split rings only */
		c.common.packed = false;
	uint64_t f = vnet_features(&c, be, n->max_pairs);
	bool ctrl = f & VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ);
	unsigned nr_queues = 2 * n->max_pairs + ctrl;
	n->ctrl_queue = ctrl ? 2 * n->max_pairs : 0;

	memcpy(n->config + CFG_MAC, n->mac, 6);
	n->config[CFG_STATUS] = net_backend_link_up(be) ? NET_S_LINK_UP : 0;
	put_le16(n->config + CFG_MAX_PAIRS, (uint16_t)n->max_pairs);
	vnet_filter_reset(&n->filter, n->mac, false);

	unsigned qmax = nc->rx_queue_size > nc->tx_queue_size ? nc->rx_queue_size : nc->tx_queue_size;
	int ret = virtio_dev_init(&n->vdev, vm, VIRTIO_ID_NET, &vnet_ops, n, f, nr_queues,
				  (uint16_t)qmax, n->config, CFG_LEN);
	if (ret < 0) {
		vnet_free(n);
		return ret;
	}
	for (unsigned i = 0; i < nr_queues; i++) {
		struct virtq *vq = &n->vdev.vqs[i];
		vq->max_size = (uint16_t)(i == n->ctrl_queue && ctrl ? CTRL_QUEUE_SIZE :
					  i % 2 ? nc->tx_queue_size : nc->rx_queue_size);
		vq->size = vq->max_size;
	}
	ret = vnet_alloc_queues(n);
	if (ret == 0 && vhost) {
		ret = vnet_vhost_new(&n->vdev, be, &vi, n->max_pairs, &n->vhost);
		if (ret == 0)	/* the ring features vhost does not have */
			n->vdev.host_features = vnet_vhost_ring_features(n->vhost, n->vdev.host_features);
	}
	if (ret == 0)
		ret = net_backend_start(be, &vnet_port, n);
	if (ret < 0) {
		virtio_dev_cleanup(&n->vdev);
		vnet_free(n);
		return ret;
	}
	*out = &n->vdev;
	return 0;
}

/* The card and its back-end; type names it in messages */
static int virtio_net_open(struct vm *vm, const struct virtio_device_config *cfg, const char *type,
			   struct net_backend **be, struct virtio_dev **vdev)
{
	const struct netdev_config *nd = &vm->cfg.netdevs[cfg->net.netdev];
	int ret = net_backend_open(nd, vm->cfg.debug_mask, be);
	if (ret < 0)
		return ret;	/* the back-end said why */
	ret = virtio_net_new(vm, cfg, *be, vdev);
	if (ret < 0)
		log_error("%s (netdev %s): %s", type, nd->id[0] == '#' ? "of -nic" : nd->id,
			  strerror(-ret));
	return ret;
}

int virtio_net_pci_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct net_backend *be;
	struct virtio_dev *vdev;
	int ret = virtio_net_open(vm, cfg, "virtio-net-pci", &be, &vdev);
	if (ret < 0)
		return ret;
	unsigned pairs = cfg->net.mq ? net_backend_queues(be) : 1;
	struct virtio_pci_params params = {
		.type = "virtio-net-pci",
		.class_code = PCI_CLASS_NETWORK_ETHERNET,
		/* as QEMU: a vector per queue, one for the control queue and
		 * one for configuration changes */
		.vectors = cfg->common.vectors < 0 ? 2 * pairs + 2 : (unsigned)cfg->common.vectors,
	};
	return virtio_pci_create(vm, vdev, &params);
}

int virtio_net_mmio_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct net_backend *be;
	struct virtio_dev *vdev;
	int ret = virtio_net_open(vm, cfg, "virtio-net-device", &be, &vdev);
	if (ret < 0)
		return ret;
	return virtio_mmio_create(vm, vdev, &(struct virtio_mmio_params){ .type = "virtio-net-device" });
}
