/* virtio-rng: one queue of device-writable buffers, filled from
 * getrandom(2).  QEMU's rate limit: at most max-bytes in each period;
 * what the budget does not cover waits in the ring until the next period
 * (the queue thread sleeps until then), and a buffer larger than what is
 * left gets what is left. */
#include "virtio/virtio_rng.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/vm.h"
#include "mem/dma.h"
#include "virtio/virtio.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_pci.h"

#define RNG_QUEUE_SIZE 64
/* bytes one buffer gets at most: bounds the work per buffer */
#define RNG_MAX_PER_BUFFER 65536

struct virtio_rng {
	struct virtio_dev vdev;
	uint64_t max_bytes;	/* UINT64_MAX: no limit */
	uint64_t period_ns;
	/* under vdev.lock */
	bool window_open;
	uint64_t window_start;
	uint64_t budget;
};

/* What this period still allows; when nothing, the queue thread is woken
 * at the next period */
static uint64_t rng_budget(struct virtio_rng *r)
{
	if (r->max_bytes == UINT64_MAX)
		return UINT64_MAX;
	pthread_mutex_lock(&r->vdev.lock);
	uint64_t now = vm_clock_ns(r->vdev.vm);
	if (!r->window_open || now - r->window_start >= r->period_ns) {
		r->window_open = true;
		r->window_start = now;
		r->budget = r->max_bytes;
	}
	uint64_t b = r->budget;
	if (!b)
		virtio_dev_wake_at(&r->vdev, r->window_start + r->period_ns);
	pthread_mutex_unlock(&r->vdev.lock);
	return b;
}

static void rng_spend(struct virtio_rng *r, uint64_t n)
{
	if (r->max_bytes == UINT64_MAX)
		return;
	pthread_mutex_lock(&r->vdev.lock);
	r->budget = n < r->budget ? r->budget - n : 0;
	pthread_mutex_unlock(&r->vdev.lock);
}

/* Fill the first n writable bytes; returns how many were filled */
static size_t rng_fill(struct virtio_dev *vdev, const struct virtq_chain *c, size_t n)
{
	size_t done = 0;
	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in && done < n; i++) {
		const struct virtio_seg *s = &c->segs[i];
		size_t want = s->len < n - done ? s->len : n - done, got = 0;
		while (got < want) {
			ssize_t k = getrandom(s->hva + got, want - got, 0);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				log_warn("%s: getrandom: %s", vdev->name, strerror(errno));
				break;
			}
			got += (size_t)k;
		}
		dma_mark_written(vdev->vm, s->gpa, got);
		done += got;
		if (got < want)
			break;
	}
	return done;
}

static void rng_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_rng *r = vdev->opaque;
	bool used = false;
	for (;;) {
		uint64_t budget = rng_budget(r);
		if (!budget)
			break;
		struct virtq_chain *c;
		if (virtq_pop(vdev, vq, &c) <= 0)
			break;
		if (c->nr_out) {
			virtio_dev_fail(vdev, vq, "a request for entropy holds a device-readable buffer");
			virtq_push(vdev, vq, c, 0);
			break;
		}
		uint64_t n = c->in_len;
		if (n > budget)
			n = budget;
		if (n > RNG_MAX_PER_BUFFER)
			n = RNG_MAX_PER_BUFFER;
		size_t filled = rng_fill(vdev, c, (size_t)n);
		rng_spend(r, filled);
		virtq_push(vdev, vq, c, (uint32_t)filled);
		used = true;
	}
	if (used)
		virtq_notify(vdev, vq);
}

static void rng_reset(struct virtio_dev *vdev)
{
	struct virtio_rng *r = vdev->opaque;
	r->window_open = false;
}

static void rng_destroy(struct virtio_dev *vdev)
{
	free(vdev->opaque);
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
	.destroy = rng_destroy,
};

int virtio_rng_new(struct vm *vm, const struct virtio_device_config *cfg, struct virtio_dev **out)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->max_bytes = cfg->rng.max_bytes;
	r->period_ns = cfg->rng.period_ms * 1000000ull;
	int ret = virtio_dev_init(&r->vdev, vm, VIRTIO_ID_RNG, &rng_ops, r,
				  virtio_ring_features(&cfg->common), 1, RNG_QUEUE_SIZE, NULL, 0);
	if (ret < 0) {
		free(r);
		return ret;
	}
	*out = &r->vdev;
	return 0;
}

int virtio_rng_pci_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct virtio_dev *vdev;
	int ret = virtio_rng_new(vm, cfg, &vdev);
	if (ret < 0) {
		log_error("virtio-rng-pci: %s", strerror(-ret));
		return ret;
	}
	/* a vector for the queue and one for configuration changes */
	struct virtio_pci_params params = {
		.type = "virtio-rng-pci",
		.class_code = PCI_CLASS_OTHER,
		.vectors = cfg->common.vectors < 0 ? 2 : (unsigned)cfg->common.vectors,
	};
	return virtio_pci_create(vm, vdev, &params);
}

int virtio_rng_mmio_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct virtio_dev *vdev;
	int ret = virtio_rng_new(vm, cfg, &vdev);
	if (ret < 0) {
		log_error("virtio-rng-device: %s", strerror(-ret));
		return ret;
	}
	return virtio_mmio_create(vm, vdev, &(struct virtio_mmio_params){ .type = "virtio-rng-device" });
}
