/* vhost=on: virtio-net's queue pairs served by /dev/vhost-net.
 *
 * The hand-over happens on the device's queue thread, at the first
 * notification after DRIVER_OK (the core kicks every queue then): the tap
 * back-end's thread is told to leave its taps alone, and under the device
 * lock (so that no reset comes between) each queue pair whose rings the
 * driver enabled gets its vhost set up: features, the guest's memory
 * table, both rings at their host addresses with the device's kick
 * eventfds and the transport's call eventfds (virtio-pci's are irqfds
 * under KVM; this file has its own, forwarded by its thread, for a
 * transport without), then the tap.  While vhost has a queue, the
 * queue thread no longer waits on its kick eventfd.  A reset takes the
 * taps from vhost again under the same lock (vhost finishes what it is
 * doing first), and the next notification gives them back to the
 * back-end.  If vhost refuses, the device serves the queues itself and
 * says so once.
 *
 * vhost writes guest memory directly: on the software CPU, pages it writes
 * are not checked for decoded code (receive buffers do not hold code). */
#include "virtio/virtio_net_vhost.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"
#include "net/vhost_net.h"
#include "virtio/virtio.h"

struct vnet_vhost {
	struct virtio_dev *vdev;
	struct net_backend *be;
	struct net_vhost_info info;
	unsigned max_pairs;
	uint64_t features;	/* what vhost supports (of one; they are the same kernel) */

	pthread_mutex_t lock;	/* inside vdev->lock */
	_Atomic unsigned started;	/* pairs [0, started) are the kernel's */
	bool backend_paused;	/* queue thread only */
	bool give_back;		/* stopped: the back-end may have its taps again */
	bool failed;		/* vhost refused: the device serves the queues */

	int call_fds[2 * NET_MAX_QUEUES];
	int stop_fd;
	pthread_t thread;
	bool thread_started;
};

/* Forward vhost's "used buffers" to the transport's interrupt */
static void *vhost_call_thread(void *arg)
{
	struct vnet_vhost *vh = arg;
	unsigned n = 2 * vh->max_pairs;
	struct pollfd pfd[1 + 2 * NET_MAX_QUEUES];
	pfd[0] = (struct pollfd){ .fd = vh->stop_fd, .events = POLLIN };
	for (unsigned i = 0; i < n; i++)
		pfd[1 + i] = (struct pollfd){ .fd = vh->call_fds[i], .events = POLLIN };
	for (;;) {
		if (poll(pfd, 1 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: vhost: poll: %s", vh->vdev->name, strerror(errno));
			return NULL;
		}
		if (pfd[0].revents)
			return NULL;
		for (unsigned i = 0; i < n; i++) {
			uint64_t v;
			if (!(pfd[1 + i].revents & POLLIN) || read(vh->call_fds[i], &v, sizeof(v)) < 0)
				continue;
			if (vh->vdev->transport)
				vh->vdev->transport->notify_queue(vh->vdev, i);
		}
	}
}

int vnet_vhost_new(struct virtio_dev *vdev, struct net_backend *be,
		   const struct net_vhost_info *info, unsigned max_pairs, struct vnet_vhost **out)
{
	struct vnet_vhost *vh = calloc(1, sizeof(*vh));
	if (!vh)
		return -ENOMEM;
	vh->vdev = vdev;
	vh->be = be;
	vh->info = *info;
	vh->max_pairs = max_pairs;
	vh->stop_fd = -1;
	for (unsigned i = 0; i < 2 * NET_MAX_QUEUES; i++)
		vh->call_fds[i] = -1;
	pthread_mutex_init(&vh->lock, NULL);
	int ret = 0;
	for (unsigned p = 0; p < max_pairs && ret == 0; p++) {
		uint64_t f;
		if ((ret = vhost_net_set_owner(info->vhost_fds[p])) == 0 &&
		    (ret = vhost_net_get_features(info->vhost_fds[p], &f)) == 0)
			vh->features = p ? vh->features & f : f;
	}
	if (ret < 0) {
		log_error("vhost-net: cannot claim /dev/vhost-net: %s", strerror(-ret));
		goto fail;
	}
	for (unsigned i = 0; i < 2 * max_pairs && ret == 0; i++)
		if ((vh->call_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			ret = -errno;
	if (ret == 0 && (vh->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		ret = -errno;
	if (ret == 0) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		ret = -pthread_create(&vh->thread, NULL, vhost_call_thread, vh);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		vh->thread_started = ret == 0;
	}
	if (ret < 0) {
		log_error("vhost-net: %s", strerror(-ret));
		goto fail;
	}
	*out = vh;
	return 0;
fail:
	vnet_vhost_free(vh);
	return ret;
}

uint64_t vnet_vhost_ring_features(const struct vnet_vhost *vh, uint64_t features)
{
	uint64_t ring = VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) |
			VIRTIO_FEATURE(VIRTIO_F_RING_PACKED);
	return features & ~(ring & ~vh->features);
}

bool vnet_vhost_owns(const struct vnet_vhost *vh, unsigned index)
{
	return index / 2 < atomic_load(&vh->started);
}

static void stop_pairs_locked(struct vnet_vhost *vh)
{
	unsigned n = atomic_load(&vh->started);
	for (unsigned p = 0; p < n; p++) {
		uint16_t next[VHOST_NET_VQS];
		int ret = vhost_net_stop(vh->info.vhost_fds[p], next);
		if (ret < 0)
			log_warn("%s: vhost: stopping queue pair %u: %s", vh->vdev->name, p,
				 strerror(-ret));
		virtq_set_kick_elsewhere(vh->vdev, 2 * p, false);
		virtq_set_kick_elsewhere(vh->vdev, 2 * p + 1, false);
	}
	atomic_store(&vh->started, 0);
}

/* vhost's call eventfd for queue index: the transport's (an irqfd under
 * KVM, so the interrupt never passes through minivmm), else this file's,
 * which its thread forwards */
static int call_fd(struct vnet_vhost *vh, unsigned index)
{
	const struct virtio_transport_ops *t = vh->vdev->transport;
	int fd = t && t->call_fd ? t->call_fd(vh->vdev, index) : -1;
	return fd >= 0 ? fd : vh->call_fds[index];
}

/* vdev->lock and vh->lock held: hand every enabled pair to vhost */
static int start_pairs_locked(struct vnet_vhost *vh)
{
	struct virtio_dev *vdev = vh->vdev;
	struct vhost_net_region regions[GUEST_MEM_MAX_REGIONS];
	const struct guest_mem *gm = &vdev->vm->mem;
	unsigned nr = 0;
	for (int i = 0; i < gm->nr_regions; i++)
		regions[nr++] = (struct vhost_net_region){ .gpa = gm->regions[i].gpa,
							   .size = gm->regions[i].size,
							   .hva = gm->regions[i].hva };
	uint64_t features = vhost_net_features(vh->features, vdev->driver_features,
					       net_backend_has_vnet_hdr(vh->be));
	unsigned p;
	for (p = 0; p < vh->max_pairs; p++) {
		struct virtq *rx = &vdev->vqs[2 * p], *tx = &vdev->vqs[2 * p + 1];
		if (!rx->active || !tx->active || rx->packed)
			break;
		struct vhost_net_vring vr[VHOST_NET_VQS];
		const struct virtq *vqs[VHOST_NET_VQS] = { [VHOST_NET_VQ_RX] = rx,
							  [VHOST_NET_VQ_TX] = tx };
		for (unsigned k = 0; k < VHOST_NET_VQS; k++)
			vr[k] = (struct vhost_net_vring){
				.num = vqs[k]->size, .next_avail = vqs[k]->next_avail,
				.desc = vqs[k]->desc, .avail = vqs[k]->driver, .used = vqs[k]->device,
				.kick_fd = vqs[k]->kick_fd, .call_fd = call_fd(vh, vqs[k]->index) };
		int ret = vhost_net_start(vh->info.vhost_fds[p], features, regions, nr, vr,
					  vh->info.tap_fds[p]);
		if (ret < 0) {
			log_warn("%s: vhost: queue pair %u: %s; the device serves the queues itself",
				 vdev->name, p, strerror(-ret));
			atomic_store(&vh->started, p);
			stop_pairs_locked(vh);
			return ret;
		}
		atomic_store(&vh->started, p + 1);
		if (vdev->vm->cfg.debug_mask & DEBUG_INT)
			log_debug("%s: vhost: queue pair %u started, its interrupts through %s", vdev->name,
				  p, vr[0].call_fd == vh->call_fds[rx->index] ?
					     "minivmm's call thread" : "the transport's call eventfds");
		/* the guest's notifications now wake vhost alone */
		virtq_set_kick_elsewhere(vdev, rx->index, true);
		virtq_set_kick_elsewhere(vdev, tx->index, true);
	}
	return p ? 0 : -ENODEV;
}

void vnet_vhost_sync(struct vnet_vhost *vh)
{
	struct virtio_dev *vdev = vh->vdev;
	pthread_mutex_lock(&vh->lock);
	bool give_back = vh->give_back;
	vh->give_back = false;
	bool want = !vh->failed && !atomic_load(&vh->started);
	pthread_mutex_unlock(&vh->lock);
	if (give_back && vh->backend_paused) {
		net_backend_set_vhost(vh->be, false);
		vh->backend_paused = false;
	}
	if (!want)
		return;
	pthread_mutex_lock(&vdev->lock);
	bool live = virtio_dev_live_locked(vdev);
	pthread_mutex_unlock(&vdev->lock);
	if (!live)
		return;
	/* the back-end's thread lets go of the taps first; it may wait for
	 * the device lock, so not while holding it */
	if (!vh->backend_paused && net_backend_set_vhost(vh->be, true) == 0)
		vh->backend_paused = true;
	pthread_mutex_lock(&vdev->lock);
	pthread_mutex_lock(&vh->lock);
	int ret = -EAGAIN;
	if (virtio_dev_live_locked(vdev) && !atomic_load(&vh->started)) {
		ret = start_pairs_locked(vh);
		if (ret < 0 && ret != -ENODEV)
			vh->failed = true;
	}
	pthread_mutex_unlock(&vh->lock);
	pthread_mutex_unlock(&vdev->lock);
	if (ret < 0 && vh->backend_paused) {
		net_backend_set_vhost(vh->be, false);
		vh->backend_paused = false;
	}
}

void vnet_vhost_stop(struct vnet_vhost *vh)
{
	pthread_mutex_lock(&vh->lock);
	if (atomic_load(&vh->started))
		stop_pairs_locked(vh);
	vh->give_back = true;
	vh->failed = false;
	pthread_mutex_unlock(&vh->lock);
}

void vnet_vhost_free(struct vnet_vhost *vh)
{
	if (!vh)
		return;
	pthread_mutex_lock(&vh->lock);
	if (atomic_load(&vh->started))
		stop_pairs_locked(vh);
	pthread_mutex_unlock(&vh->lock);
	if (vh->thread_started) {
		uint64_t one = 1;
		if (write(vh->stop_fd, &one, sizeof(one)) < 0)
			log_warn("vhost-net: cannot stop the call thread: %s", strerror(errno));
		pthread_join(vh->thread, NULL);
	}
	if (vh->stop_fd >= 0)
		close(vh->stop_fd);
	for (unsigned i = 0; i < 2 * NET_MAX_QUEUES; i++)
		if (vh->call_fds[i] >= 0)
			close(vh->call_fds[i]);
	pthread_mutex_destroy(&vh->lock);
	free(vh);
}
