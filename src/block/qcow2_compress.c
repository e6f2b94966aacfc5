/* Compressed qcow2 clusters: where their bytes lie, and inflating them
 * with raw deflate (zlib, QEMU's window of 4 KiB) or zstd, as the header's
 * compression_type says.  The output must fill the cluster exactly. */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *offset,
			    uint64_t *len)
{
	uint64_t coffset = entry & s->coffset_mask;
	uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;
	*offset = coffset & ~511ull;
	*len = sectors * 512;
}

static int inflate_zlib(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z = { .next_in = (uint8_t *)in, .avail_in = (uInt)in_len, .next_out = out,
		       .avail_out = (uInt)out_len };
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	int ret = inflate(&z, Z_FINISH);
	bool full = z.avail_out == 0;
	inflateEnd(&z);
	return (ret == Z_STREAM_END || ret == Z_BUF_ERROR) && full ? 0 : -EIO;
}

static int inflate_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	if (!z)
		return -ENOMEM;
	ZSTD_inBuffer input = { in, in_len, 0 };
	ZSTD_outBuffer output = { out, out_len, 0 };
	int ret = 0;
	while (output.pos < output.size) {
		size_t in_pos = input.pos, out_pos = output.pos;
		size_t r = ZSTD_decompressStream(z, &output, &input);
		if (ZSTD_isError(r) || (input.pos == in_pos && output.pos == out_pos)) {
			ret = -EIO;
			break;
		}
	}
	ZSTD_freeDCtx(z);
	return ret;
}

int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint8_t *out)
{
	uint64_t coffset = entry & s->coffset_mask;
	uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;
	uint64_t csize = sectors * 512 - (coffset & 511);
	uint8_t *in = malloc(csize);
	if (!in)
		return -ENOMEM;
	int ret = bnode_pread(s->file, coffset, in, csize);
	if (ret == 0)
		ret = s->compression_type == QCOW2_COMPRESSION_ZSTD ?
			      inflate_zstd(in, csize, out, s->cluster_size) :
			      inflate_zlib(in, csize, out, s->cluster_size);
	free(in);
	return ret;
}
