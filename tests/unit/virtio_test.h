/* Shared by the virtio unit tests and fuzzers: a driver's view of split
 * and packed rings in guest memory, written byte by byte as a guest
 * would, and a device brought up the way a driver does it. */
#ifndef MINIVMM_TEST_VIRTIO_H
#define MINIVMM_TEST_VIRTIO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "virtio/virtio.h"

#define VRING_F_NEXT 1u
#define VRING_F_WRITE 2u
#define VRING_F_INDIRECT 4u
#define VRING_F_AVAIL (1u << 7)
#define VRING_F_USED (1u << 15)

static inline void gput(struct vm *vm, uint64_t gpa, const void *p, size_t n)
{
	if (guest_mem_write(&vm->mem, gpa, p, n) < 0)
		abort();
}

static inline void gput16(struct vm *vm, uint64_t gpa, uint16_t v) { gput(vm, gpa, &v, 2); }
static inline void gput32(struct vm *vm, uint64_t gpa, uint32_t v) { gput(vm, gpa, &v, 4); }
static inline uint16_t gget16(struct vm *vm, uint64_t gpa)
{
	uint16_t v = 0;
	guest_mem_read(&vm->mem, gpa, &v, 2);
	return v;
}
static inline uint32_t gget32(struct vm *vm, uint64_t gpa)
{
	uint32_t v = 0;
	guest_mem_read(&vm->mem, gpa, &v, 4);
	return v;
}

/* A descriptor in either layout: split (addr, len, flags, next) or packed
 * (addr, len, id, flags) */
static inline void desc_bytes(uint8_t *d, uint64_t addr, uint32_t len, uint16_t a, uint16_t b)
{
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &a, 2);
	memcpy(d + 14, &b, 2);
}

static inline void put_desc(struct vm *vm, uint64_t gpa, uint64_t addr, uint32_t len, uint16_t a,
			    uint16_t b)
{
	uint8_t d[16];
	desc_bytes(d, addr, len, a, b);
	gput(vm, gpa, d, 16);
}

/* A transport that counts what the core asks of it */
static int test_queue_irqs, test_config_irqs;

static inline void test_notify_queue(struct virtio_dev *vdev, unsigned q)
{
	(void)vdev;
	(void)q;
	test_queue_irqs++;
}

static inline void test_notify_config(struct virtio_dev *vdev)
{
	(void)vdev;
	test_config_irqs++;
}

static const struct virtio_transport_ops test_transport __attribute__((unused)) = {
	.notify_queue = test_notify_queue,
	.notify_config = test_notify_config,
};

/* Where a test driver keeps its rings */
struct test_ring {
	uint64_t desc, driver, device;
	uint16_t size;
	bool packed;
	uint16_t avail_idx;	/* split: next avail index to publish */
	uint16_t pos;		/* packed: next descriptor to write */
	bool wrap;		/* packed: driver's wrap counter */
};

static inline void split_desc(struct vm *vm, const struct test_ring *r, uint16_t i, uint64_t addr,
			      uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(vm, r->desc + 16u * i, addr, len, flags, next);
}

/* Make head available in a split ring */
static inline void split_offer(struct vm *vm, struct test_ring *r, uint16_t head)
{
	gput16(vm, r->driver + 4 + 2u * (r->avail_idx % r->size), head);
	r->avail_idx++;
	gput16(vm, r->driver + 2, r->avail_idx);
}

/* Write a packed descriptor at the driver's position with its avail bits,
 * advancing the position; the head of a chain is written last by the
 * caller's order of calls (tests write chains front to back and only the
 * flags make them visible, so write the head last where it matters) */
static inline uint16_t packed_flags(const struct test_ring *r, uint16_t flags)
{
	return flags | (r->wrap ? VRING_F_AVAIL : VRING_F_USED);
}

static inline void packed_put(struct vm *vm, struct test_ring *r, uint64_t addr, uint32_t len,
			      uint16_t id, uint16_t flags)
{
	put_desc(vm, r->desc + 16u * r->pos, addr, len, id, packed_flags(r, flags));
	if (++r->pos == r->size) {
		r->pos = 0;
		r->wrap = !r->wrap;
	}
}

/* Bring the device to DRIVER_OK with the given features and queue 0..n-1
 * on the rings (each queue gets rings[i]) */
static inline void test_driver_setup(struct virtio_dev *vdev, uint64_t features,
				     struct test_ring *rings, unsigned n)
{
	virtio_set_status(vdev, 0);
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(vdev, 0, (uint32_t)features);
	virtio_set_driver_features(vdev, 1, (uint32_t)(features >> 32));
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < n; q++) {
		struct test_ring *r = &rings[q];
		r->packed = features & VIRTIO_FEATURE(VIRTIO_F_RING_PACKED);
		r->avail_idx = r->pos = 0;
		r->wrap = true;
		virtq_reg_write(vdev, q, VIRTQ_REG_SIZE, r->size);
		virtq_reg_write(vdev, q, VIRTQ_REG_DESC, r->desc);
		virtq_reg_write(vdev, q, VIRTQ_REG_DRIVER, r->driver);
		virtq_reg_write(vdev, q, VIRTQ_REG_DEVICE, r->device);
		virtq_reg_write(vdev, q, VIRTQ_REG_ENABLE, 1);
	}
	virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

#endif
