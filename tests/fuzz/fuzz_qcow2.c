/* libFuzzer target: arbitrary bytes as a qcow2 image file (the magic is
 * forced so that mutations explore the rest), opened read-write as the
 * block layer opens it; then clusters are read, written, zeroed and
 * discarded where the input says, and the image flushed and closed.
 * Whatever the bytes, opening refuses with a message or the operations
 * fail cleanly: no crash, no hang, no access outside the buffers.  The
 * image lives in a memfd, so nothing touches the disk; the format's
 * operations run on this thread (the block layer's front, its threads and
 * engines have their own tests).  Seeds: fuzz_qcow2.seeds.sh.
 * FUZZ_MAX_LEN: 65536 */
// FUZZ_SOURCES: src/block/*.c src/core/log.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/blk_internal.h"

static struct blk_ctx ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* syncs do nothing on a memfd anyway; the threads engine runs
	 * waited-for I/O on the calling thread */
	if (blk_pool_init(&ctx.pool, 1) < 0 || blk_engine_threads_new(&ctx.pool, &ctx.engine) < 0)
		abort();
	bounce_pool_init(&ctx.bounce);
	ctx.no_flush = true;
	return 0;
}

/* The last bytes of the input choose the operations */
static uint64_t take(const uint8_t *data, size_t size, size_t *pos)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | (*pos < size ? data[size - 1 - (*pos)++] : 0x5a);
	return v;
}

static void run_ops(struct bnode *n, const uint8_t *data, size_t size)
{
	uint64_t disk = n->size / 512 * 512;
	size_t pos = 0;
	static uint8_t buf[65536];
	memset(buf, 0xa5, sizeof(buf));
	for (int i = 0; i < 8 && disk >= 512; i++) {
		uint64_t v = take(data, size, &pos);
		uint64_t len = ((v >> 8) % 128 + 1) * 512;
		if (len > disk)
			len = disk;
		uint64_t off = (v >> 16) % (disk / 512) * 512;
		if (off + len > disk)
			off = disk - len;
		struct iovec iov = { buf, len };
		switch (v % 8) {
		case 0:
		case 2:
		case 7:
			n->ops->read(n, off, &iov, 1);
			break;
		case 1:
		case 5:
			n->ops->write(n, off, &iov, 1, (v >> 3) & 1 ? BLK_REQ_FUA : 0);
			break;
		case 3:
			n->ops->write_zeroes(n, off, len, (v >> 3) & 1 ? BLK_REQ_UNMAP : 0);
			break;
		case 4:
			n->ops->discard(n, off, len);
			break;
		default:
			n->ops->flush(n);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a backing file named by URI would reach for the network */
	if (size < 72 || memmem(data, size, "nbd", 3))
		return 0;
	int fd = memfd_create("fuzz.qcow2", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	static const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	if (write(fd, magic, 4) != 4 || write(fd, data + 4, size - 4) != (ssize_t)(size - 4)) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct bnode *n;
	if (bnode_open_image(&ctx, path, DRIVE_FORMAT_QCOW2, false, 0, NULL, &n) == 0) {
		run_ops(n, data, size);
		bnode_close(n);
	}
	close(fd);
	return 0;
}
