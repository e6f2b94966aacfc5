/* The stream framing's reader: a small state machine over the length and
 * the frame, fed pieces of any size. */
#include "net/frame.h"

#include <string.h>

#include "net/net.h"

void net_frame_reader_init(struct net_frame_reader *r, uint8_t *frame)
{
	memset(r, 0, sizeof(*r));
	r->frame = frame;
}

bool net_frame_reader_reset(struct net_frame_reader *r)
{
	/* inside a length, or inside a frame (a skipped one was reported) */
	bool partial = (r->len_have > 0 && r->len_have < NET_FRAME_LEN_BYTES) ||
		       (!r->skipping && r->have < r->frame_len);
	net_frame_reader_init(r, r->frame);
	return partial;
}

void net_frame_put_len(uint8_t out[NET_FRAME_LEN_BYTES], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

size_t net_frame_read(struct net_frame_reader *r, const uint8_t *data, size_t len,
		      enum net_frame_event *event)
{
	size_t used = 0;

	*event = NET_FRAME_MORE;
	while (used < len) {
		if (r->have == r->frame_len && r->len_have < NET_FRAME_LEN_BYTES) {
			/* between frames: the length */
			r->len_bytes[r->len_have++] = data[used++];
			if (r->len_have < NET_FRAME_LEN_BYTES)
				continue;
			const uint8_t *b = r->len_bytes;
			r->frame_len = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
				       (uint32_t)b[2] << 8 | b[3];
			r->have = 0;
			r->skipping = r->frame_len < NET_ETH_HLEN || r->frame_len > NET_FRAME_MAX;
			if (r->skipping) {
				r->len_have = 0;
				*event = NET_FRAME_BAD;
				return used;
			}
			continue;
		}
		size_t n = r->frame_len - r->have;
		if (n > len - used)
			n = len - used;
		if (!r->skipping)
			memcpy(r->frame + r->have, data + used, n);
		r->have += (uint32_t)n;
		used += n;
		if (r->have == r->frame_len) {
			r->len_have = 0;
			if (!r->skipping) {
				*event = NET_FRAME_COMPLETE;
				return used;
			}
			r->skipping = false;
		}
	}
	return used;
}
