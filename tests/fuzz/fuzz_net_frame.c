/* libFuzzer target: a byte stream from a stream-socket peer, cut into
 * pieces of fuzzer-chosen sizes, through the framing reader; every frame
 * and every bad length it reports must be exactly what a one-pass parse of
 * the whole stream finds, and no frame outside 14..NET_FRAME_MAX bytes may
 * come out. */
// FUZZ_SOURCES: src/net/frame.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "net/net.h"

static uint8_t frame_buf[NET_FRAME_MAX];

/* One pass over the whole stream: the frames (offset, length) in order */
struct expect {
	size_t nr_frames, nr_bad;
	size_t off[4096], len[4096];
	bool partial;
};

static void parse_whole(const uint8_t *s, size_t n, struct expect *e)
{
	size_t pos = 0;
	memset(e, 0, sizeof(*e));
	while (pos < n) {
		if (n - pos < 4) {
			e->partial = true;
			return;
		}
		uint32_t len = (uint32_t)s[pos] << 24 | (uint32_t)s[pos + 1] << 16 |
			       (uint32_t)s[pos + 2] << 8 | s[pos + 3];
		pos += 4;
		bool bad = len < NET_ETH_HLEN || len > NET_FRAME_MAX;
		if (bad)
			e->nr_bad++;
		if (len > n - pos) {
			e->partial = !bad;
			return;
		}
		if (!bad) {
			e->off[e->nr_frames] = pos;
			e->len[e->nr_frames++] = len;
		}
		pos += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct expect want;
	if (size < 2)
		return 0;
	/* the first byte seeds the piece sizes */
	uint32_t seed = data[0] * 2654435761u + 1;
	const uint8_t *s = data + 1;
	size_t n = size - 1;
	parse_whole(s, n, &want);
	if (want.nr_frames >= 4096)
		return 0;

	struct net_frame_reader r;
	net_frame_reader_init(&r, frame_buf);
	size_t pos = 0, frames = 0, bad = 0;
	while (pos < n) {
		seed = seed * 1103515245 + 12345;
		size_t piece = 1 + (seed >> 16) % (data[0] & 0x80 ? 7 : 3000);
		if (piece > n - pos)
			piece = n - pos;
		size_t off = 0;
		while (off < piece) {
			enum net_frame_event ev;
			size_t used = net_frame_read(&r, s + pos + off, piece - off, &ev);
			if (used > piece - off || (used == 0 && ev == NET_FRAME_MORE))
				abort();	/* no progress, or beyond the piece */
			off += used;
			if (ev == NET_FRAME_BAD) {
				bad++;
			} else if (ev == NET_FRAME_COMPLETE) {
				if (frames >= want.nr_frames || r.frame_len != want.len[frames] ||
				    r.frame_len < NET_ETH_HLEN || r.frame_len > NET_FRAME_MAX ||
				    memcmp(r.frame, s + want.off[frames], r.frame_len))
					abort();
				frames++;
			} else if (off != piece) {
				abort();	/* MORE must mean everything was taken */
			}
		}
		pos += piece;
	}
	if (frames != want.nr_frames || bad != want.nr_bad)
		abort();
	if (net_frame_reader_reset(&r) != want.partial)
		abort();
	return 0;
}
