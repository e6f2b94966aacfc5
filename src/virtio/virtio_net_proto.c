/* virtio-net's byte-level rules: which transmit headers the negotiated
 * features allow, which received frames the filter lets through, and
 * the control commands (virtio 1.2 §5.1.6.5) that set the filter.  No
 * state beyond the filter struct; the device holds the locks. */
#include "virtio/virtio_net_proto.h"

#include <string.h>

#include "virtio/virtio.h"
#include "virtio/virtio_net.h"

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

static bool has(uint64_t features, unsigned bit)
{
	return features & VIRTIO_FEATURE(bit);
}

void vnet_hdr_parse(struct vnet_hdr *h, const uint8_t raw[VNET_HDR_LEN])
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = le16(raw + 2);
	h->gso_size = le16(raw + 4);
	h->csum_start = le16(raw + 6);
	h->csum_offset = le16(raw + 8);
	h->num_buffers = le16(raw + 10);
}

bool vnet_tx_hdr_ok(const struct vnet_hdr *h, uint64_t features, size_t frame_len)
{
	if (h->flags & ~VNET_HDR_F_NEEDS_CSUM)
		return false;
	if (h->flags & VNET_HDR_F_NEEDS_CSUM) {
		if (!has(features, VIRTIO_NET_F_CSUM))
			return false;
		/* the 16-bit checksum field lies inside the frame */
		if ((size_t)h->csum_start + h->csum_offset + 2 > frame_len)
			return false;
	}
	uint8_t gso = h->gso_type & ~VNET_HDR_GSO_ECN;
	if (gso == VNET_HDR_GSO_NONE)
		return !(h->gso_type & VNET_HDR_GSO_ECN);
	if ((h->gso_type & VNET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
		return false;
	switch (gso) {
	case VNET_HDR_GSO_TCPV4:
		if (!has(features, VIRTIO_NET_F_HOST_TSO4))
			return false;
		break;
	case VNET_HDR_GSO_TCPV6:
		if (!has(features, VIRTIO_NET_F_HOST_TSO6))
			return false;
		break;
	case VNET_HDR_GSO_UDP:
		if (!has(features, VIRTIO_NET_F_HOST_UFO))
			return false;
		break;
	default:
		return false;
	}
	/* segments need a size, and each one a checksum the back-end fills */
	return h->gso_size != 0 && (h->flags & VNET_HDR_F_NEEDS_CSUM);
}

/* ---- the receive filter ---- */

void vnet_filter_reset(struct vnet_filter *f, const uint8_t mac[6], bool vlan_filter)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->mac, mac, 6);
	f->promisc = true;
	f->vlan_filter = vlan_filter;
}

static bool in_table(const uint8_t (*table)[6], unsigned n, const uint8_t *mac)
{
	for (unsigned i = 0; i < n; i++)
		if (!memcmp(table[i], mac, 6))
			return true;
	return false;
}

bool vnet_filter_accept(const struct vnet_filter *f, const uint8_t *frame, size_t len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	if (f->promisc)
		return true;
	if (len < 14)
		return false;
	if (f->vlan_filter && len >= 16 && frame[12] == 0x81 && frame[13] == 0x00) {
		unsigned vid = ((unsigned)frame[14] << 8 | frame[15]) & 0xfff;
		if (!(f->vlans[vid / 32] & (1u << (vid % 32))))
			return false;
	}
	if (frame[0] & 1) {
		if (!memcmp(frame, bcast, 6))
			return !f->nobcast;
		if (f->nomulti)
			return false;
		if (f->allmulti || f->multi_overflow)
			return true;
		return in_table(f->multi, f->nr_multi, frame);
	}
	if (f->nouni)
		return false;
	if (f->alluni || f->uni_overflow || !memcmp(frame, f->mac, 6))
		return true;
	return in_table(f->uni, f->nr_uni, frame);
}

/* ---- control commands ---- */

enum {
	CLASS_RX = 0,
	CLASS_MAC = 1,
	CLASS_VLAN = 2,
	CLASS_ANNOUNCE = 3,
	CLASS_MQ = 4,
	CLASS_GUEST_OFFLOADS = 5,
};

static uint8_t ctrl_rx(struct vnet_filter *f, uint64_t features, uint8_t cmd, const uint8_t *d,
		       size_t len)
{
	static const unsigned need[] = { VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_RX,
					 VIRTIO_NET_F_CTRL_RX_EXTRA, VIRTIO_NET_F_CTRL_RX_EXTRA,
					 VIRTIO_NET_F_CTRL_RX_EXTRA, VIRTIO_NET_F_CTRL_RX_EXTRA };
	if (cmd >= sizeof(need) / sizeof(need[0]) || !has(features, need[cmd]) || len != 1 ||
	    d[0] > 1)
		return VNET_CTRL_ERR;
	bool *flag[] = { &f->promisc, &f->allmulti, &f->alluni, &f->nomulti, &f->nouni,
			 &f->nobcast };
	*flag[cmd] = d[0];
	return VNET_CTRL_OK;
}

/* One table of MAC_TABLE_SET: its count and addresses; returns the bytes
 * it took, or 0 when it runs past the end */
static size_t mac_table(const uint8_t *d, size_t len, uint8_t (*table)[6], unsigned *nr,
			bool *overflow)
{
	if (len < 4)
		return 0;
	uint32_t n = le32(d);
	if (n > (len - 4) / 6)
		return 0;
	*overflow = n > VNET_MAC_TABLE;
	*nr = *overflow ? 0 : n;
	if (!*overflow)
		memcpy(table, d + 4, (size_t)n * 6);
	return 4 + (size_t)n * 6;
}

static uint8_t ctrl_mac(struct vnet_filter *f, uint64_t features, uint8_t cmd, const uint8_t *d,
			size_t len, struct vnet_ctrl *out)
{
	if (cmd == 1) {	/* VIRTIO_NET_CTRL_MAC_ADDR_SET */
		if (!has(features, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != 6)
			return VNET_CTRL_ERR;
		memcpy(f->mac, d, 6);
		out->action = VNET_CTRL_MAC_ADDR;
		return VNET_CTRL_OK;
	}
	if (cmd != 0 || !has(features, VIRTIO_NET_F_CTRL_RX))	/* MAC_TABLE_SET */
		return VNET_CTRL_ERR;
	/* built aside, so a command that does not parse changes nothing */
	struct vnet_filter t = *f;
	size_t a = mac_table(d, len, t.uni, &t.nr_uni, &t.uni_overflow);
	if (!a)
		return VNET_CTRL_ERR;
	size_t b = mac_table(d + a, len - a, t.multi, &t.nr_multi, &t.multi_overflow);
	if (!b || a + b != len)
		return VNET_CTRL_ERR;
	*f = t;
	return VNET_CTRL_OK;
}

uint8_t vnet_ctrl_apply(struct vnet_filter *f, uint64_t features, unsigned max_pairs,
			const uint8_t *cmd, size_t len, struct vnet_ctrl *out)
{
	*out = (struct vnet_ctrl){ .action = VNET_CTRL_FILTER };
	if (len < 2 || !has(features, VIRTIO_NET_F_CTRL_VQ))
		return VNET_CTRL_ERR;
	const uint8_t *d = cmd + 2;
	size_t n = len - 2;
	switch (cmd[0]) {
	case CLASS_RX:
		return ctrl_rx(f, features, cmd[1], d, n);
	case CLASS_MAC:
		return ctrl_mac(f, features, cmd[1], d, n, out);
	case CLASS_VLAN: {
		if (!has(features, VIRTIO_NET_F_CTRL_VLAN) || cmd[1] > 1 || n != 2)
			return VNET_CTRL_ERR;
		unsigned vid = le16(d);
		if (vid >= 4096)
			return VNET_CTRL_ERR;
		if (cmd[1] == 0)
			f->vlans[vid / 32] |= 1u << (vid % 32);
		else
			f->vlans[vid / 32] &= ~(1u << (vid % 32));
		return VNET_CTRL_OK;
	}
	case CLASS_ANNOUNCE:
		if (!has(features, VIRTIO_NET_F_GUEST_ANNOUNCE) || cmd[1] != 0 || n != 0)
			return VNET_CTRL_ERR;
		out->action = VNET_CTRL_ANNOUNCE_ACK;
		return VNET_CTRL_OK;
	case CLASS_MQ: {
		/* VQ_PAIRS_SET; RSS and hash reports are not offered */
		if (!has(features, VIRTIO_NET_F_MQ) || cmd[1] != 0 || n != 2)
			return VNET_CTRL_ERR;
		uint16_t pairs = le16(d);
		if (pairs < 1 || pairs > max_pairs)
			return VNET_CTRL_ERR;
		out->action = VNET_CTRL_QUEUE_PAIRS;
		out->pairs = pairs;
		return VNET_CTRL_OK;
	}
	case CLASS_GUEST_OFFLOADS: {
		if (!has(features, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) || cmd[1] != 0 || n != 8)
			return VNET_CTRL_ERR;
		uint64_t o = le32(d) | (uint64_t)le32(d + 4) << 32;
		uint64_t allowed = features & (VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM) |
					       VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4) |
					       VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO6) |
					       VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ECN) |
					       VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_UFO));
		if (o & ~allowed)
			return VNET_CTRL_ERR;
		out->action = VNET_CTRL_OFFLOADS;
		out->offloads = o;
		return VNET_CTRL_OK;
	}
	}
	return VNET_CTRL_ERR;
}
