/* Shared by the virtio fuzz targets: a machine with a little RAM on the
 * unit tests' engine that does nothing, a virtual clock, and a driver that takes
 * its choices (features, queue sizes, where the rings are) from the
 * input and its ring contents from the input too.  Everything runs on
 * the fuzzer's thread: devices are created without a queue thread. */
#ifndef MINIVMM_FUZZ_VIRTIO_H
#define MINIVMM_FUZZ_VIRTIO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/vm.h"
#include "virtio/virtio.h"
#include "fuzz_no_tcg.h"
/* the unit tests' engine that does nothing, and their virtio helpers */
#include "../unit/platform_vm.h"
#include "../unit/virtio_test.h"

#define FUZZ_RAM (1ull << 20)


/* where the input's bytes land in guest RAM: rings, tables, buffers */
#define FUZZ_WINDOW 0x10000

static void fz_vm_init(struct vm *vm)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.ram_size = FUZZ_RAM;
	if (vm_init(vm, &cfg, &fake_accel) < 0)
		abort();
	vm_clock_set_virtual(vm, 1000 * NS_PER_SEC, 0);
}

/* The ring features of a device, from the low bits of a control byte */
static inline struct virtio_common_config fz_common_config(uint8_t control)
{
	return (struct virtio_common_config){ .packed = control & 1, .event_idx = control & 2,
					      .indirect_desc = control & 4, .vectors = -1 };
}

/* The input, read front to back; zeros once it runs out */
struct fz_input {
	const uint8_t *p;
	size_t left;
};

static uint8_t fz_u8(struct fz_input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint16_t fz_u16(struct fz_input *in)
{
	return (uint16_t)(fz_u8(in) | fz_u8(in) << 8);
}

static uint32_t fz_u32(struct fz_input *in)
{
	return fz_u16(in) | (uint32_t)fz_u16(in) << 16;
}

/* The rest of the input (up to FUZZ_WINDOW bytes) as guest RAM from 0 */
/* The first len bytes of in (fewer if it is shorter) as an input of
 * their own; in keeps the rest */
static inline struct fz_input fz_split(struct fz_input *in, size_t len)
{
	struct fz_input head = { in->p, len < in->left ? len : in->left };
	in->p += head.left;
	in->left -= head.left;
	return head;
}

static void fz_fill_ram(struct vm *vm, struct fz_input *in)
{
	size_t n = in->left < FUZZ_WINDOW ? in->left : FUZZ_WINDOW;
	memset(vm->mem.base, 0, FUZZ_WINDOW);
	memcpy(vm->mem.base, in->p, n);
	in->p += n;
	in->left -= n;
}

/* A ring address: mostly sensible places in the window, sometimes
 * anything (misaligned, outside RAM) */
static uint64_t fz_ring_addr(struct fz_input *in)
{
	uint8_t sel = fz_u8(in);
	if (sel < 0xf0)
		return (uint64_t)(sel % 16) * 0x1000;
	return fz_u32(in) | (sel & 1 ? 1ull << 32 : 0);
}

/* Bring the device to DRIVER_OK the way the input says */
static inline void fz_driver_setup(struct virtio_dev *vdev, struct fz_input *in)
{
	uint64_t f = (uint64_t)fz_u32(in) | (uint64_t)fz_u32(in) << 32;
	/* usually offer what a driver would: the device's features */
	if (!(f & 1))
		f &= vdev->host_features;
	virtio_set_status(vdev, 0);
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(vdev, 0, (uint32_t)f);
	virtio_set_driver_features(vdev, 1, (uint32_t)(f >> 32));
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < vdev->nr_queues && q < 4; q++) {
		uint8_t sz = fz_u8(in);
		virtq_reg_write(vdev, q, VIRTQ_REG_SIZE, sz < 0xf0 ? 1u << (sz % 6) : sz);
		virtq_reg_write(vdev, q, VIRTQ_REG_DESC, fz_ring_addr(in));
		virtq_reg_write(vdev, q, VIRTQ_REG_DRIVER, fz_ring_addr(in));
		virtq_reg_write(vdev, q, VIRTQ_REG_DEVICE, fz_ring_addr(in));
		virtq_reg_write(vdev, q, VIRTQ_REG_ENABLE, 1);
	}
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* ---- well-formed chains, so that mutations start from requests that
 * reach the device rather than from noise ---- */

#define FZ_TABLES 0x7000	/* indirect tables */
#define FZ_BUFS 0x8000		/* buffers, to the end of the window */

struct fz_piece {
	uint32_t len;
	bool write;
};

/* The driver's position in queue q */
struct fz_queue {
	uint16_t next_desc;	/* split: next free descriptor; packed: position */
	uint16_t avail_idx;	/* split */
	bool wrap;		/* packed */
	uint64_t next_buf, next_table;
};

/* put_desc where the ring may lie outside RAM: nothing is written there */
static void fz_put_desc(struct vm *vm, uint64_t gpa, uint64_t addr, uint32_t len, uint16_t a,
			uint16_t b)
{
	uint8_t d[16];
	desc_bytes(d, addr, len, a, b);
	guest_mem_write(&vm->mem, gpa, d, 16);
}

/* Make the pieces (buffers placed one after the other in the buffer area;
 * the first buffer's address in *first) a chain of queue q, directly or
 * through an indirect table, and make it available */
static inline void fz_plant(struct vm *vm, struct virtio_dev *vdev, unsigned q, struct fz_queue *fq,
			    const struct fz_piece *p, unsigned n, bool indirect, uint64_t *first)
{
	uint16_t size = (uint16_t)virtq_reg_read(vdev, q, VIRTQ_REG_SIZE);
	uint64_t desc = virtq_reg_read(vdev, q, VIRTQ_REG_DESC);
	uint64_t drv = virtq_reg_read(vdev, q, VIRTQ_REG_DRIVER);
	bool packed = virtio_has_feature(vdev, VIRTIO_F_RING_PACKED);
	if (!size || !n)
		return;
	if (!fq->next_buf) {
		fq->next_buf = FZ_BUFS;
		fq->next_table = FZ_TABLES;
		fq->wrap = true;
	}
	uint64_t bufs[16];
	for (unsigned i = 0; i < n && i < 16; i++) {
		if (fq->next_buf + p[i].len > FUZZ_WINDOW)
			fq->next_buf = FZ_BUFS;
		bufs[i] = fq->next_buf;
		fq->next_buf += (p[i].len + 15) & ~15u;
	}
	*first = bufs[0];
	if (n > 16)
		n = 16;
	/* split: flags, next; packed: id, flags */
	const uint16_t F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
	uint16_t avail_bits = fq->wrap ? 1u << 7 : 1u << 15;
	if (indirect) {
		uint64_t t = fq->next_table;
		fq->next_table = fq->next_table + 16 * n < FZ_BUFS ? fq->next_table + 16 * n : FZ_TABLES;
		for (unsigned i = 0; i < n; i++) {
			uint16_t fl = (p[i].write ? F_WRITE : 0) | (i + 1 < n && !packed ? F_NEXT : 0);
			if (packed)
				fz_put_desc(vm, t + 16 * i, bufs[i], p[i].len, 0, fl);
			else
				fz_put_desc(vm, t + 16 * i, bufs[i], p[i].len, fl, (uint16_t)(i + 1));
		}
		uint16_t d = fq->next_desc;
		if (packed)
			fz_put_desc(vm, desc + 16u * d, t, 16 * n, d, F_INDIRECT | avail_bits);
		else
			fz_put_desc(vm, desc + 16u * d, t, 16 * n, F_INDIRECT, 0);
		n = 1;
	} else {
		for (unsigned i = 0; i < n; i++) {
			uint16_t d = (uint16_t)((fq->next_desc + i) % size);
			uint16_t nx = (uint16_t)((d + 1) % size);
			uint16_t fl = (p[i].write ? F_WRITE : 0) | (i + 1 < n ? F_NEXT : 0);
			if (packed) {
				bool w = fq->wrap ^ (fq->next_desc + i >= size);
				fz_put_desc(vm, desc + 16u * d, bufs[i], p[i].len, d,
					    fl | (w ? 1u << 7 : 1u << 15));
			} else {
				fz_put_desc(vm, desc + 16u * d, bufs[i], p[i].len, fl, nx);
			}
		}
	}
	if (!packed) {
		uint16_t head = fq->next_desc;
		guest_mem_write(&vm->mem, drv + 4 + 2u * (fq->avail_idx % size), &head, 2);
		fq->avail_idx++;
		guest_mem_write(&vm->mem, drv + 2, &fq->avail_idx, 2);
	}
	unsigned next = fq->next_desc + n;
	if (next >= size) {
		next %= size;
		fq->wrap = !fq->wrap;
	}
	fq->next_desc = (uint16_t)next;
}

#endif
