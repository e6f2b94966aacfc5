/* The framing of stream sockets, as QEMU's -netdev stream and socket frame
 * them: each frame follows its length, 4 bytes big-endian.  The reader takes
 * the byte stream in pieces of any size and never trusts a length: a frame
 * shorter than an Ethernet header or longer than NET_FRAME_MAX is skipped
 * (its bytes are read and dropped, so the stream stays in step) and
 * reported, never stored. */
#ifndef MINIVMM_NET_FRAME_H
#define MINIVMM_NET_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_FRAME_LEN_BYTES 4

enum net_frame_event {
	NET_FRAME_MORE,		/* every byte consumed; no frame yet */
	NET_FRAME_COMPLETE,	/* a frame is in reader->frame, reader->frame_len bytes */
	NET_FRAME_BAD,		/* a bad length was read; its frame is being skipped */
};

struct net_frame_reader {
	uint8_t *frame;		/* NET_FRAME_MAX bytes, the caller's */
	uint32_t frame_len;	/* of the frame being read (or skipped) */
	uint32_t have;		/* bytes of it read so far */
	uint8_t len_bytes[NET_FRAME_LEN_BYTES];
	unsigned len_have;	/* bytes of the length read so far */
	bool skipping;		/* the frame's length was bad: drop its bytes */
};

/* Ready to read from the start of a stream into frame */
void net_frame_reader_init(struct net_frame_reader *r, uint8_t *frame);
/* The stream ended: true if it ended inside a frame (a truncated frame) */
bool net_frame_reader_reset(struct net_frame_reader *r);
/* Take bytes from data (len of them) until a frame completes or a bad
 * length is read (then *event says which) or data runs out
 * (NET_FRAME_MORE); returns how many were taken.  After COMPLETE the frame
 * stays in reader->frame until the next call. */
size_t net_frame_read(struct net_frame_reader *r, const uint8_t *data, size_t len,
		      enum net_frame_event *event);
/* The 4-byte header of a frame of len bytes */
void net_frame_put_len(uint8_t out[NET_FRAME_LEN_BYTES], uint32_t len);

#endif
