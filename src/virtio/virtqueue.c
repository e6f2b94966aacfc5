/* Split and packed virtqueues (virtio 1.2 §2.7, §2.8) from the device's
 * side.  The guest owns the rings and may change them at any moment, so
 * each descriptor is copied once and checked before use: every buffer is
 * guest RAM (split into pieces where it crosses contiguous regions), a
 * chain has at most queue-size buffers (which also ends loops), an
 * indirect table is a positive multiple of 16 bytes and holds no indirect
 * descriptor, no buffer is empty, and no device-readable buffer follows a
 * device-writable one.  A chain that breaks a rule breaks the device
 * (DEVICE_NEEDS_RESET); nothing is written to the guest for it.
 *
 * Ring fields the guest and device share are read and written with
 * atomic accesses in the order the spec's barriers ask for; the device's
 * writes into the rings go through dma_mark_written. */
#include "virtio/virtio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "mem/dma.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio rings are little endian");

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_DESC_F_AVAIL (1u << 7)
#define VIRTQ_DESC_F_USED (1u << 15)
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define PACKED_EVENT_ENABLE 0u
#define PACKED_EVENT_DISABLE 1u
#define PACKED_EVENT_DESC 2u
#define DESC_SIZE 16u
/* room beyond one piece per buffer, for buffers that cross from one RAM
 * region into the next */
#define SCRATCH_SLACK 16u

/* A descriptor as both ring formats lay it out: split has next where
 * packed has id, and flags in the other half-word */
struct raw_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t w12;		/* split: flags; packed: id */
	uint16_t w14;		/* split: next; packed: flags */
};

struct chain_builder {
	struct virtio_dev *vdev;
	struct virtq *vq;
	unsigned nr, nr_out;
	unsigned buffers;
	uint64_t out_len, in_len;
	uint16_t next_pos;	/* packed: where the next chain starts */
	bool next_wrap;
	char why[160];
};

static inline uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static inline void store16(struct virtio_dev *vdev, uint8_t *hva, uint64_t gpa, uint16_t v)
{
	__atomic_store_n((uint16_t *)hva, v, __ATOMIC_RELEASE);
	dma_mark_written(vdev->vm, gpa, 2);
}

static inline void store32(struct virtio_dev *vdev, uint8_t *hva, uint64_t gpa, uint32_t v)
{
	__atomic_store_n((uint32_t *)hva, v, __ATOMIC_RELAXED);
	dma_mark_written(vdev->vm, gpa, 4);
}

__attribute__((format(printf, 2, 3))) static int bad(struct chain_builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
	return -EIO;
}

/* One buffer of the chain: checked and cut at region boundaries */
static int chain_add(struct chain_builder *b, uint64_t addr, uint32_t len, bool writable)
{
	struct virtq *vq = b->vq;
	if (++b->buffers > vq->size)
		return bad(b, "chain of more than %u buffers (the queue size; a loop?)", vq->size);
	if (len == 0)
		return bad(b, "zero-length buffer at 0x%llx", (unsigned long long)addr);
	if (!writable && b->nr != b->nr_out)
		return bad(b, "device-readable buffer after a device-writable one");
	if (addr + len < addr)
		return bad(b, "buffer 0x%llx+%u wraps around", (unsigned long long)addr, len);
	uint64_t a = addr, left = len;
	while (left) {
		uint64_t avail;
		uint8_t *p = guest_mem_ptr_run(&b->vdev->vm->mem, a, &avail);
		if (!p)
			return bad(b, "buffer 0x%llx+%u is not guest RAM", (unsigned long long)addr, len);
		if (b->nr == vq->scratch_cap)
			return bad(b, "chain cut into more than %u pieces", vq->scratch_cap);
		uint64_t n = avail < left ? avail : left;
		vq->scratch[b->nr++] = (struct virtio_seg){ .gpa = a, .hva = p, .len = (uint32_t)n };
		if (!writable)
			b->nr_out++;
		a += n;
		left -= n;
	}
	if (writable)
		b->in_len += len;
	else
		b->out_len += len;
	return 0;
}

/* The table an indirect descriptor points to, checked */
static const uint8_t *indirect_table(struct chain_builder *b, const struct raw_desc *d,
				     uint16_t flags, uint32_t *entries)
{
	if (!b->vq->indirect) {
		bad(b, "indirect descriptor, but VIRTIO_F_INDIRECT_DESC was not negotiated");
		return NULL;
	}
	if (flags & VIRTQ_DESC_F_NEXT) {
		bad(b, "indirect descriptor with NEXT set");
		return NULL;
	}
	if (d->len == 0 || d->len % DESC_SIZE) {
		bad(b, "indirect table of %u bytes (not a positive multiple of 16)", d->len);
		return NULL;
	}
	const uint8_t *t = guest_mem_ptr(&b->vdev->vm->mem, d->addr, d->len);
	if (!t) {
		bad(b, "indirect table 0x%llx+%u is not guest RAM", (unsigned long long)d->addr, d->len);
		return NULL;
	}
	*entries = d->len / DESC_SIZE;
	return t;
}

/* ---- split ring ---- */

static uint8_t *split_avail_ring(struct virtq *vq, uint16_t i)
{
	return vq->driver + 4 + 2u * (i & (vq->size - 1));
}

static int split_walk(struct chain_builder *b, uint16_t head)
{
	struct virtq *vq = b->vq;
	const uint8_t *table = vq->desc;
	uint32_t entries = vq->size, i = head;
	bool indirect = false;

	for (;;) {
		if (i >= entries)
			return bad(b, "descriptor %u is outside the %s of %u", i,
				   indirect ? "indirect table" : "ring", entries);
		struct raw_desc d;
		memcpy(&d, table + (size_t)i * DESC_SIZE, sizeof(d));
		uint16_t flags = d.w12;
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return bad(b, "indirect descriptor inside an indirect table");
			table = indirect_table(b, &d, flags, &entries);
			if (!table)
				return -EIO;
			indirect = true;
			i = 0;
			continue;
		}
		int ret = chain_add(b, d.addr, d.len, flags & VIRTQ_DESC_F_WRITE);
		if (ret < 0)
			return ret;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.w14;
	}
}

/* 1: a chain in scratch, 0: empty, -EIO: bad */
static int split_pop(struct chain_builder *b, uint16_t *id)
{
	struct virtq *vq = b->vq;
	uint16_t avail_idx = load16(vq->driver + 2);
	uint16_t pending = (uint16_t)(avail_idx - vq->next_avail);
	if (pending > vq->size)
		return bad(b, "available index moved by %u, more than the queue size %u", pending,
			   vq->size);
	if (!pending)
		return 0;
	uint16_t head = load16(split_avail_ring(vq, vq->next_avail));
	if (head >= vq->size)
		return bad(b, "chain head %u is outside the ring of %u", head, vq->size);
	int ret = split_walk(b, head);
	if (ret < 0)
		return ret;
	*id = head;
	return 1;
}

/* With EVENT_IDX: ask for a notification at the next buffer, then look
 * once more, as the driver may have added one meanwhile */
static bool split_rearm(struct virtio_dev *vdev, struct virtq *vq)
{
	uint64_t off = 4 + 8u * vq->size;
	store16(vdev, vq->device + off, vq->device_gpa + off, vq->next_avail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(vq->driver + 2) != vq->next_avail;
}

static void split_push(struct virtio_dev *vdev, struct virtq *vq, const struct virtq_chain *c,
		       uint32_t len)
{
	uint64_t off = 4 + 8u * (vq->next_used & (vq->size - 1));
	store32(vdev, vq->device + off, vq->device_gpa + off, c->id);
	store32(vdev, vq->device + off + 4, vq->device_gpa + off + 4, len);
	vq->next_used++;
	/* the entry before the index that publishes it */
	store16(vdev, vq->device + 2, vq->device_gpa + 2, vq->next_used);
}

/* vring_need_event: is event in [old, new)? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static bool split_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->next_used;
	bool valid = vq->signalled_valid;
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (valid && old == now)
		return false;
	if (!vq->event_idx)
		return !(load16(vq->driver) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t used_event = load16(vq->driver + 4 + 2u * vq->size);
	return !valid || need_event(used_event, now, old);
}

/* ---- packed ring ---- */

static bool packed_available(uint16_t flags, bool wrap)
{
	return !!(flags & VIRTQ_DESC_F_AVAIL) == wrap && !!(flags & VIRTQ_DESC_F_USED) != wrap;
}

static int packed_pop(struct chain_builder *b, uint16_t *id, uint16_t *ndesc)
{
	struct virtq *vq = b->vq;
	uint16_t pos = vq->next_avail;
	bool wrap = vq->avail_wrap;
	unsigned count = 0;

	/* the head's flags are written last: acquire, then the rest */
	if (!packed_available(load16(vq->desc + (size_t)pos * DESC_SIZE + 14), wrap))
		return 0;
	for (;;) {
		struct raw_desc d;
		memcpy(&d, vq->desc + (size_t)pos * DESC_SIZE, sizeof(d));
		uint16_t flags = d.w14;
		if (++count > vq->size)
			return bad(b, "chain of more than %u descriptors (the queue size)", vq->size);
		*id = d.w12;
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			uint32_t entries;
			const uint8_t *t = indirect_table(b, &d, flags, &entries);
			if (!t)
				return -EIO;
			/* entries are used in order; NEXT means nothing there */
			for (uint32_t i = 0; i < entries; i++) {
				struct raw_desc e;
				memcpy(&e, t + (size_t)i * DESC_SIZE, sizeof(e));
				if (e.w14 & VIRTQ_DESC_F_INDIRECT)
					return bad(b, "indirect descriptor inside an indirect table");
				int ret = chain_add(b, e.addr, e.len, e.w14 & VIRTQ_DESC_F_WRITE);
				if (ret < 0)
					return ret;
			}
			break;
		}
		int ret = chain_add(b, d.addr, d.len, flags & VIRTQ_DESC_F_WRITE);
		if (ret < 0)
			return ret;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
	}
	*ndesc = (uint16_t)count;
	b->next_pos = pos;
	b->next_wrap = wrap;
	return 1;
}

static void packed_push(struct virtio_dev *vdev, struct virtq *vq, const struct virtq_chain *c,
			uint32_t len)
{
	uint64_t off = (uint64_t)vq->next_used * DESC_SIZE;
	uint16_t flags = (vq->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0) |
			 (len ? VIRTQ_DESC_F_WRITE : 0);
	store32(vdev, vq->desc + off + 8, vq->desc_gpa + off + 8, len);
	__atomic_store_n((uint16_t *)(vq->desc + off + 12), c->id, __ATOMIC_RELAXED);
	dma_mark_written(vdev->vm, vq->desc_gpa + off + 12, 2);
	/* the flags publish it */
	store16(vdev, vq->desc + off + 14, vq->desc_gpa + off + 14, flags);
	uint32_t next = vq->next_used + c->ndesc;
	if (next >= vq->size) {
		next -= vq->size;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->next_used = (uint16_t)next;
}

static bool packed_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->next_used;
	bool old_wrap = vq->signalled_wrap, valid = vq->signalled_valid;
	vq->signalled_used = now;
	vq->signalled_wrap = vq->used_wrap;
	vq->signalled_valid = true;
	if (valid && old == now && old_wrap == vq->used_wrap)
		return false;
	uint16_t off_wrap = load16(vq->driver), flags = load16(vq->driver + 2) & 3;
	if (flags == PACKED_EVENT_DISABLE)
		return false;
	if (flags != PACKED_EVENT_DESC || !vq->event_idx || !valid)
		return true;
	/* positions are in the current lap; one from the lap before (ours or
	 * the driver's) counts size lower */
	if (old_wrap != vq->used_wrap)
		old = (uint16_t)(old - vq->size);
	uint16_t event = off_wrap & 0x7fff;
	if ((bool)(off_wrap >> 15) != vq->used_wrap)
		event = (uint16_t)(event - vq->size);
	return need_event(event, now, old);
}

/* ---- both ---- */

void virtq_reset(struct virtq *vq)
{
	vq->size = vq->max_size;
	vq->enabled = false;
	vq->desc_gpa = vq->driver_gpa = vq->device_gpa = 0;
	vq->active = false;
	vq->desc = vq->driver = vq->device = NULL;
	vq->next_avail = vq->next_used = vq->signalled_used = 0;
	vq->avail_wrap = vq->used_wrap = vq->signalled_wrap = true;
	vq->signalled_valid = false;
}

/* A ring area: guest RAM in one region, aligned */
static uint8_t *ring_area(struct virtio_dev *vdev, uint64_t gpa, uint64_t len, unsigned align,
			  const char *what, char *why, size_t why_len)
{
	if (gpa & (align - 1)) {
		snprintf(why, why_len, "%s at 0x%llx is not %u-byte aligned", what,
			 (unsigned long long)gpa, align);
		return NULL;
	}
	uint8_t *p = guest_mem_ptr(&vdev->vm->mem, gpa, len);
	if (!p)
		snprintf(why, why_len, "%s 0x%llx+%llu is not guest RAM", what,
			 (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int virtq_activate(struct virtio_dev *vdev, struct virtq *vq, char *why, size_t why_len)
{
	vq->packed = virtio_has_feature(vdev, VIRTIO_F_RING_PACKED);
	vq->event_idx = virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX);
	vq->indirect = virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC);
	vq->active = false;
	if (!vq->enabled)
		return 0;
	uint32_t n = vq->size;
	if (n == 0 || n > vq->max_size || (!vq->packed && (n & (n - 1)))) {
		snprintf(why, why_len, "queue size %u (the most is %u%s)", n, vq->max_size,
			 vq->packed ? "" : ", a power of two");
		return -EINVAL;
	}
	uint64_t extra = vq->event_idx ? 2 : 0;
	if (!(vq->desc = ring_area(vdev, vq->desc_gpa, (uint64_t)n * DESC_SIZE, 16,
				   "descriptor table", why, why_len)))
		return -EINVAL;
	if (vq->packed) {
		if (!(vq->driver = ring_area(vdev, vq->driver_gpa, 4, 4, "driver event area", why,
					     why_len)) ||
		    !(vq->device = ring_area(vdev, vq->device_gpa, 4, 4, "device event area", why,
					     why_len)))
			return -EINVAL;
	} else {
		if (!(vq->driver = ring_area(vdev, vq->driver_gpa, 4 + 2ull * n + extra, 2,
					     "available ring", why, why_len)) ||
		    !(vq->device = ring_area(vdev, vq->device_gpa, 4 + 8ull * n + extra, 4,
					     "used ring", why, why_len)))
			return -EINVAL;
	}
	unsigned cap = n + SCRATCH_SLACK;
	if (vq->scratch_cap < cap) {
		struct virtio_seg *s = realloc(vq->scratch, cap * sizeof(*s));
		if (!s) {
			snprintf(why, why_len, "out of memory");
			return -ENOMEM;
		}
		vq->scratch = s;
		vq->scratch_cap = cap;
	}
	vq->next_avail = vq->next_used = vq->signalled_used = 0;
	vq->avail_wrap = vq->used_wrap = vq->signalled_wrap = true;
	vq->signalled_valid = false;
	vq->active = true;
	return 0;
}

int virtq_pop(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain **out)
{
	struct chain_builder b = { .vdev = vdev, .vq = vq };
	uint16_t id = 0, ndesc = 1;
	int ret;
	bool failed = false;

	pthread_mutex_lock(&vdev->lock);
	if (!virtio_dev_live_locked(vdev) || !vq->active) {
		pthread_mutex_unlock(&vdev->lock);
		return -EIO;
	}
	for (;;) {
		b.nr = b.nr_out = b.buffers = 0;
		b.out_len = b.in_len = 0;
		ret = vq->packed ? packed_pop(&b, &id, &ndesc) : split_pop(&b, &id);
		if (ret == 0 && !vq->packed && vq->event_idx && split_rearm(vdev, vq))
			continue;
		break;
	}
	/* each chain holds a ring descriptor until it is used: a driver
	 * cannot have offered more */
	if (ret > 0 && vq->inflight >= vq->size)
		ret = bad(&b, "more than %u chains in flight (the queue size)", vq->size);
	if (ret > 0) {
		struct virtq_chain *c = malloc(sizeof(*c) + b.nr * sizeof(c->segs[0]));
		if (!c) {
			/* left in the ring: the next kick tries again */
			pthread_mutex_unlock(&vdev->lock);
			return -ENOMEM;
		}
		c->id = id;
		c->ndesc = ndesc;
		c->nr_out = b.nr_out;
		c->nr_in = b.nr - b.nr_out;
		c->out_len = b.out_len;
		c->in_len = b.in_len;
		memcpy(c->segs, vq->scratch, b.nr * sizeof(c->segs[0]));
		if (vq->packed) {
			vq->next_avail = b.next_pos;
			vq->avail_wrap = b.next_wrap;
		} else {
			vq->next_avail++;
		}
		vq->inflight++;
		*out = c;
	} else if (ret < 0) {
		failed = virtio_dev_fail_locked(vdev, vq, b.why);
	}
	pthread_mutex_unlock(&vdev->lock);
	if (failed)
		virtio_dev_signal_failure(vdev);
	return ret;
}

/* Lock held: the chain is no longer in flight.  Returns true when that
 * finished a pending reset. */
static bool release_locked(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *c)
{
	free(c);
	vq->inflight--;
	if (vdev->reset_pending) {
		for (unsigned i = 0; i < vdev->nr_queues; i++)
			if (vdev->vqs[i].inflight)
				return false;
		virtio_dev_finish_reset_locked(vdev);
		return true;
	}
	return false;
}

static bool push_locked(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *c,
			uint32_t len)
{
	/* after a reset began or the device broke, the rings are left alone */
	if (virtio_dev_live_locked(vdev) && vq->active) {
		if (len > c->in_len)
			len = (uint32_t)c->in_len;
		if (vq->packed)
			packed_push(vdev, vq, c, len);
		else
			split_push(vdev, vq, c, len);
	}
	return release_locked(vdev, vq, c);
}

static void after_release(struct virtio_dev *vdev, bool reset_done)
{
	if (reset_done && vdev->transport && vdev->transport->reset_done)
		vdev->transport->reset_done(vdev);
}

void virtq_push(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *chain, uint32_t len)
{
	pthread_mutex_lock(&vdev->lock);
	bool reset_done = push_locked(vdev, vq, chain, len);
	pthread_mutex_unlock(&vdev->lock);
	after_release(vdev, reset_done);
}

void virtq_unpop(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *chain)
{
	pthread_mutex_lock(&vdev->lock);
	if (virtio_dev_live_locked(vdev) && vq->active) {
		if (!vq->packed) {
			vq->next_avail--;
		} else {
			if (vq->next_avail < chain->ndesc) {
				vq->next_avail = (uint16_t)(vq->next_avail + vq->size);
				vq->avail_wrap = !vq->avail_wrap;
			}
			vq->next_avail = (uint16_t)(vq->next_avail - chain->ndesc);
		}
	}
	bool reset_done = release_locked(vdev, vq, chain);
	pthread_mutex_unlock(&vdev->lock);
	after_release(vdev, reset_done);
}

void virtq_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	pthread_mutex_lock(&vdev->lock);
	bool notify = false;
	if (virtio_dev_live_locked(vdev) && vq->active) {
		/* the used entries are out before the driver's suppression
		 * fields are read */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		notify = vq->packed ? packed_should_notify(vq) : split_should_notify(vq);
	}
	pthread_mutex_unlock(&vdev->lock);
	if (notify && vdev->transport)
		vdev->transport->notify_queue(vdev, vq->index);
}

void virtq_complete(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *chain,
		    uint32_t len)
{
	virtq_push(vdev, vq, chain, len);
	virtq_notify(vdev, vq);
}

/* ---- a chain's bytes ---- */

/* Call fn on each piece of [off, off + len) of the readable part (in:
 * the writable part), in order, with the bytes done before it; returns
 * the bytes covered, less than len where the part ends first */
static uint64_t for_each_piece(const struct virtq_chain *c, bool in, uint64_t off, uint64_t len,
			       void (*fn)(const struct virtio_seg *piece, uint64_t done, void *arg),
			       void *arg)
{
	unsigned n = in ? c->nr_in : c->nr_out;
	const struct virtio_seg *s = in ? c->segs + c->nr_out : c->segs;
	uint64_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		uint64_t k = s[i].len - off;
		if (k > len - done)
			k = len - done;
		struct virtio_seg piece = { .gpa = s[i].gpa + off, .hva = s[i].hva + off,
					    .len = (uint32_t)k };
		fn(&piece, done, arg);
		done += k;
		off = 0;
	}
	return done;
}

struct copy {
	struct virtio_dev *vdev;
	uint8_t *buf;
};

static void copy_out(const struct virtio_seg *piece, uint64_t done, void *arg)
{
	struct copy *cp = arg;
	memcpy(cp->buf + done, piece->hva, piece->len);
}

static void copy_in(const struct virtio_seg *piece, uint64_t done, void *arg)
{
	struct copy *cp = arg;
	memcpy(piece->hva, cp->buf + done, piece->len);
	dma_mark_written(cp->vdev->vm, piece->gpa, piece->len);
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len)
{
	struct copy cp = { .buf = buf };
	return (size_t)for_each_piece(c, false, off, len, copy_out, &cp);
}

size_t virtq_chain_write(struct virtio_dev *vdev, const struct virtq_chain *c, uint64_t off,
			 const void *buf, size_t len)
{
	struct copy cp = { .vdev = vdev, .buf = (uint8_t *)buf };
	return (size_t)for_each_piece(c, true, off, len, copy_in, &cp);
}

struct iov_fill {
	struct iovec *iov;
	struct virtio_seg *segs;
	unsigned n, max;
};

static void add_iov(const struct virtio_seg *piece, uint64_t done, void *arg)
{
	struct iov_fill *f = arg;
	(void)done;
	if (f->n < f->max) {
		f->iov[f->n] = (struct iovec){ .iov_base = piece->hva, .iov_len = piece->len };
		if (f->segs)
			f->segs[f->n] = *piece;
	}
	f->n++;
}

int virtq_chain_iov(const struct virtq_chain *c, bool in, uint64_t off, uint64_t len,
		    struct iovec *iov, struct virtio_seg *segs, unsigned max)
{
	struct iov_fill f = { .iov = iov, .segs = segs, .max = max };
	if (for_each_piece(c, in, off, len, add_iov, &f) != len)
		return -EINVAL;
	return f.n > max ? -ENOSPC : (int)f.n;
}
