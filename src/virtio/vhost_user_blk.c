/* vhost-user-blk: a virtio-blk device whose requests another process
 * serves (qemu-storage-daemon --export type=vhost-user-blk, SPDK, ...)
 * through the vhost-user protocol (vhost_user.c).  minivmm keeps the
 * transport, feature negotiation, status and the device configuration
 * (read from the back-end once, with GET_CONFIG); at DRIVER_OK it hands
 * the back-end the guest's memory and each queue's rings and eventfds,
 * and at a reset takes them back (GET_VRING_BASE stops a ring).
 *
 * Kicks: each queue's kick eventfd is the queue's kick_fd in the core, so
 * a notify-register write on tcg signals it, and on kvm the transport
 * hands it to KVM_IOEVENTFD.  Calls: a thread of the device's own waits on
 * the call eventfds and raises the queue's interrupt through the
 * transport.  Before that it marks the device-writable buffers of the
 * newly used chains written (mem/dma.h), since the back-end wrote them
 * behind the software CPU's back.
 *
 * The back-end may die: the thread sees the connection close, the device
 * sets DEVICE_NEEDS_RESET with one line naming the socket, and from then
 * on every start fails the same way; nothing waits on a dead back-end
 * (requests time out after VHOST_USER_TIMEOUT_S). */
#include "virtio/vhost_user_blk.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/vm.h"
#include "mem/dma.h"
#include "virtio/vhost_user.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_pci.h"

/* the virtio-blk feature bits a back-end may offer the guest through us */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VUB_DEVICE_FEATURES                                                           \
	(VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_FEATURE(VIRTIO_BLK_F_SEG_MAX) |   \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_GEOMETRY) | VIRTIO_FEATURE(VIRTIO_BLK_F_RO) |         \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) |      \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_FEATURE(VIRTIO_BLK_F_DISCARD) |    \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_WRITE_ZEROES))

/* struct virtio_blk_config as far as Linux reads it */
#define CFG_LEN 60
#define CFG_NUM_QUEUES 34

/* split ring descriptor flags */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4

struct vhost_user_blk {
	struct virtio_dev vdev;
	struct vhost_user vu;
	const char *path;
	unsigned nr_queues;
	uint8_t config[CFG_LEN];
	int call_fd[VIRTIO_MAX_QUEUES];
	/* per queue: the back-end has its ring (DRIVER_OK to reset), and the
	 * used index up to which buffers were marked written */
	bool started[VIRTIO_MAX_QUEUES];
	uint16_t used_seen[VIRTIO_MAX_QUEUES];
	/* the call thread */
	pthread_t thread;
	bool thread_started;
	int stop_fd;
	bool gone_reported;
};

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* The device-writable buffers of the chain at head: written by the
 * back-end.  The walk is bounded and reads the guest's descriptors as
 * they are now (they are the guest's to change; a wrong guess only drops
 * decoded code that was still good). */
static void mark_chain_written(struct vm *vm, const struct vring_desc *table, unsigned n,
			       unsigned head)
{
	unsigned i = head, steps = 0;
	bool indirect_done = false;
	while (i < n && steps++ < n) {
		struct vring_desc d;
		memcpy(&d, &table[i], sizeof(d));
		if ((d.flags & VRING_DESC_F_INDIRECT) && !indirect_done) {
			const struct vring_desc *ind = guest_mem_ptr(&vm->mem, d.addr, d.len);
			if (!ind || d.len < sizeof(d))
				return;
			table = ind;
			n = d.len / sizeof(d);
			i = 0;
			steps = 0;
			indirect_done = true;
			continue;
		}
		if (d.flags & VRING_DESC_F_WRITE)
			dma_mark_written(vm, d.addr, d.len);
		if (!(d.flags & VRING_DESC_F_NEXT))
			return;
		i = d.next;
	}
}

/* Buffers the back-end used on queue q since the last look */
static void mark_used_written(struct vhost_user_blk *b, unsigned q)
{
	struct virtio_dev *vdev = &b->vdev;
	struct virtq *vq = &vdev->vqs[q];
	pthread_mutex_lock(&vdev->lock);
	bool live = b->started[q] && vq->active;
	const struct vring_desc *desc = (const void *)vq->desc;
	const uint8_t *used = vq->device;
	unsigned size = vq->size;
	pthread_mutex_unlock(&vdev->lock);
	if (!live)
		return;
	/* the rings stay mapped (guest RAM) even if a reset comes meanwhile */
	uint16_t idx = __atomic_load_n((const uint16_t *)(used + 2), __ATOMIC_ACQUIRE);
	uint16_t seen = b->used_seen[q];
	/* more than a ring's worth is the back-end's or the guest's nonsense */
	if ((uint16_t)(idx - seen) > size)
		seen = (uint16_t)(idx - size);
	for (; seen != idx; seen++) {
		uint32_t id;
		memcpy(&id, used + 4 + 8 * (seen % size), 4);
		mark_chain_written(vdev->vm, desc, size, id);
	}
	b->used_seen[q] = idx;
}

static void backend_gone(struct vhost_user_blk *b)
{
	if (b->gone_reported)
		return;
	b->gone_reported = true;
	virtio_dev_fail(&b->vdev, NULL, "the vhost-user back-end at %s is gone", b->path);
}

static void *call_thread(void *arg)
{
	struct vhost_user_blk *b = arg;
	struct pollfd pfd[2 + VIRTIO_MAX_QUEUES];
	unsigned n = b->nr_queues;
	pfd[0] = (struct pollfd){ .fd = b->stop_fd, .events = POLLIN };
	/* only the hang-up: replies on the socket are the requester's to read */
	pfd[1] = (struct pollfd){ .fd = b->vu.fd, .events = POLLRDHUP };
	for (unsigned q = 0; q < n; q++)
		pfd[2 + q] = (struct pollfd){ .fd = b->call_fd[q], .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: poll: %s", b->vdev.name, strerror(errno));
			return NULL;
		}
		if (pfd[0].revents)
			return NULL;
		if (pfd[1].revents) {
			backend_gone(b);
			pfd[1].fd = -1;	/* said once; the calls may still come */
		}
		for (unsigned q = 0; q < n; q++) {
			if (!(pfd[2 + q].revents & POLLIN))
				continue;
			uint64_t v;
			if (read(b->call_fd[q], &v, sizeof(v)) < 0 && errno != EAGAIN)
				continue;
			mark_used_written(b, q);
			if (b->vdev.transport)
				b->vdev.transport->notify_queue(&b->vdev, q);
		}
	}
}

/* Take the rings back from the back-end (at a reset: the lock is held,
 * and a stuck back-end holds it for VHOST_USER_TIMEOUT_S at most; a dead
 * one fails at once) */
static void vub_stop_rings(struct vhost_user_blk *b)
{
	bool enable = b->vu.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	for (unsigned q = 0; q < b->nr_queues; q++) {
		if (!b->started[q])
			continue;
		unsigned base;
		if (enable)
			vhost_user_set_vring_enable(&b->vu, q, false);
		vhost_user_get_vring_base(&b->vu, q, &base);
		b->started[q] = false;
	}
}

static int vub_start_ring(struct vhost_user_blk *b, unsigned q)
{
	struct vhost_user *vu = &b->vu;
	struct virtq *vq = &b->vdev.vqs[q];
	int ret = vhost_user_set_vring_num(vu, q, vq->size);
	if (ret == 0)
		ret = vhost_user_set_vring_base(vu, q, vq->next_avail);
	if (ret == 0)
		ret = vhost_user_set_vring_addr(vu, q, vq->desc, vq->device, vq->driver);
	if (ret == 0)
		ret = vhost_user_set_vring_kick(vu, q, vq->kick_fd);
	if (ret == 0)
		ret = vhost_user_set_vring_call(vu, q, b->call_fd[q]);
	if (ret == 0 && (vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		ret = vhost_user_set_vring_enable(vu, q, true);
	return ret;
}

static void vub_driver_ok(struct virtio_dev *vdev)
{
	struct vhost_user_blk *b = vdev->opaque;
	struct vhost_user *vu = &b->vu;
	uint64_t features = vdev->driver_features;
	if (vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
		features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	/* the queue registers stay as they are from DRIVER_OK to a reset */
	int ret = vhost_user_set_features(vu, features);
	if (ret == 0)
		ret = vhost_user_set_mem_table(vu, &vdev->vm->mem);
	for (unsigned q = 0; q < b->nr_queues && ret == 0; q++) {
		if (!vdev->vqs[q].active)
			continue;
		b->used_seen[q] = 0;
		ret = vub_start_ring(b, q);
		pthread_mutex_lock(&vdev->lock);
		b->started[q] = true;
		pthread_mutex_unlock(&vdev->lock);
	}
	if (ret < 0)
		virtio_dev_fail(vdev, NULL, "cannot start the vhost-user back-end at %s: %s", b->path,
				strerror(-ret));
}

static void vub_reset(struct virtio_dev *vdev)
{
	vub_stop_rings(vdev->opaque);
}

static void vub_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	/* the back-end serves the queues; the core never calls this, as the
	 * kick eventfds are the back-end's */
	(void)vdev;
	(void)vq;
}

/* Before the transport and the core go away: no more interrupts */
static void vub_stop(struct virtio_dev *vdev)
{
	struct vhost_user_blk *b = vdev->opaque;
	if (!b->thread_started)
		return;
	uint64_t one = 1;
	if (write(b->stop_fd, &one, sizeof(one)) < 0)
		log_warn("%s: cannot stop its call thread", vdev->name);
	pthread_join(b->thread, NULL);
	b->thread_started = false;
}

static void vub_destroy(struct virtio_dev *vdev)
{
	struct vhost_user_blk *b = vdev->opaque;
	vub_stop(vdev);
	vub_stop_rings(b);
	vhost_user_close(&b->vu);
	for (unsigned q = 0; q < b->nr_queues; q++)
		if (b->call_fd[q] >= 0)
			close(b->call_fd[q]);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	free(b);
}

static const struct virtio_dev_ops vub_ops = {
	.queue_notify = vub_queue_notify,
	.reset = vub_reset,
	.driver_ok = vub_driver_ok,
	.stop = vub_stop,
	.destroy = vub_destroy,
};

/* Everything up to the transport; on failure b is freed */
static int vub_new(struct vm *vm, const struct virtio_device_config *cfg, const char *path,
		   struct vhost_user_blk **out)
{
	const struct vhost_user_blk_config *vc = &cfg->vhost_user_blk;
	struct vhost_user_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->path = path;
	b->stop_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		b->call_fd[q] = -1;
	int ret = vhost_user_connect(&b->vu, path);
	if (ret < 0)
		goto fail;
	struct vhost_user *vu = &b->vu;
	ret = -EPROTO;
	if (!(vu->features & VIRTIO_FEATURE(VIRTIO_F_VERSION_1))) {
		log_error("vhost-user-blk-pci: the back-end at %s does not offer VIRTIO_F_VERSION_1",
			  path);
		goto fail;
	}
	b->nr_queues = vc->num_queues ? vc->num_queues :
		       vm->cfg.smp < vu->max_queues ? vm->cfg.smp : vu->max_queues;
	if (b->nr_queues > vu->max_queues) {
		log_error("vhost-user-blk-pci: num-queues=%u, but the back-end at %s has %u",
			  b->nr_queues, path, vu->max_queues);
		goto fail;
	}
	ret = vhost_user_get_config(vu, 0, b->config, CFG_LEN);
	if (ret < 0) {
		log_error("vhost-user-blk-pci: cannot read the disk's configuration from the "
			  "back-end at %s: %s",
			  path, ret == -EOPNOTSUPP ? "it lacks the CONFIG protocol feature" :
						     strerror(-ret));
		goto fail;
	}
	b->config[CFG_NUM_QUEUES] = (uint8_t)b->nr_queues;
	b->config[CFG_NUM_QUEUES + 1] = (uint8_t)(b->nr_queues >> 8);

	/* what the back-end offers of what we can pass on, and the ring
	 * features the -device allows (packed rings are not handed on) */
	struct virtio_common_config ring = cfg->common;
	ring.packed = false;
	uint64_t f = vu->features & (VUB_DEVICE_FEATURES | virtio_ring_features(&ring));
	if (b->nr_queues > 1)
		f |= vu->features & VIRTIO_FEATURE(VIRTIO_BLK_F_MQ);
	ret = -errno;
	if ((b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail_errno;
	ret = virtio_dev_init(&b->vdev, vm, VIRTIO_ID_BLOCK, &vub_ops, b, f, b->nr_queues,
			      (uint16_t)vc->queue_size, b->config, CFG_LEN);
	if (ret < 0)
		goto fail;
	for (unsigned q = 0; q < b->nr_queues; q++) {
		b->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		b->vdev.vqs[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (b->call_fd[q] < 0 || b->vdev.vqs[q].kick_fd < 0) {
			ret = -errno;
			virtio_dev_cleanup(&b->vdev);
			goto fail_errno;
		}
	}
	*out = b;
	return 0;
fail_errno:
	log_error("vhost-user-blk-pci: eventfd: %s", strerror(-ret));
fail:
	vhost_user_close(&b->vu);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (b->call_fd[q] >= 0)
			close(b->call_fd[q]);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	free(b);
	return ret;
}

int vhost_user_blk_pci_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	const char *path = cfg->vhost_user_blk.path;
	if (vm->mem.fd < 0 || !vm->mem.shared) {
		log_error("vhost-user-blk-pci: the back-end must map guest RAM: give "
			  "-object memory-backend-memfd,id=mem,size=%lluM,share=on -machine "
			  "memory-backend=mem",
			  (unsigned long long)(vm->mem.ram_size >> 20));
		return -EINVAL;
	}
	struct vhost_user_blk *b = NULL;
	int ret = vub_new(vm, cfg, path, &b);
	if (ret < 0)
		return ret;
	ret = pthread_create(&b->thread, NULL, call_thread, b);
	if (ret) {
		log_error("vhost-user-blk-pci: cannot start its thread: %s", strerror(ret));
		virtio_dev_cleanup(&b->vdev);
		b->vdev.ops->destroy(&b->vdev);
		return -ret;
	}
	b->thread_started = true;
	struct virtio_pci_params params = {
		.type = "vhost-user-blk-pci",
		.class_code = PCI_CLASS_STORAGE_SCSI,
		.vectors = cfg->common.vectors < 0 ? b->nr_queues + 1 : (unsigned)cfg->common.vectors,
		/* the back-end serves the queues: the kick eventfds are its */
		.no_queue_thread = true,
	};
	return virtio_pci_create(vm, &b->vdev, &params);
}
