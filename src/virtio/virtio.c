/* The transport-independent part of a virtio device: feature negotiation,
 * the status state machine (status bits are only ever added; 0 resets),
 * reset, the configuration generation, failures that need a reset, and
 * the thread that serves the queues.
 *
 * A reset waits for the chains in flight: the device may still write
 * guest memory for them (a disk read into a buffer), and a driver reuses
 * that memory once it reads status 0.  So writing 0 starts the reset;
 * status keeps its old value until the last chain in flight comes back
 * (whose used entry is then dropped), and reads 0 from then on. */
#include "virtio/virtio.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/vm.h"

/* how many failures a device logs before it goes quiet */
#define VIRTIO_ERROR_LOG_LIMIT 10

uint64_t virtio_ring_features(const struct virtio_common_config *cfg)
{
	return (cfg->packed ? VIRTIO_FEATURE(VIRTIO_F_RING_PACKED) : 0) |
	       (cfg->event_idx ? VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) : 0) |
	       (cfg->indirect_desc ? VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) : 0);
}

int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm, uint32_t device_id,
		    const struct virtio_dev_ops *ops, void *opaque, uint64_t features,
		    unsigned nr_queues, uint16_t max_size, uint8_t *config, unsigned config_len)
{
	if (nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES || max_size == 0 ||
	    max_size > VIRTQ_MAX_SIZE || (max_size & (max_size - 1)))
		return -EINVAL;
	memset(vdev, 0, sizeof(*vdev));
	snprintf(vdev->name, sizeof(vdev->name), "virtio device %u", device_id);
	vdev->vm = vm;
	vdev->device_id = device_id;
	vdev->ops = ops;
	vdev->opaque = opaque;
	vdev->host_features = features | VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
	vdev->config = config;
	vdev->config_len = config_len;
	vdev->nr_queues = nr_queues;
	vdev->ctl_fd = -1;
	for (unsigned i = 0; i < nr_queues; i++) {
		struct virtq *vq = &vdev->vqs[i];
		vq->vdev = vdev;
		vq->index = i;
		vq->max_size = max_size;
		vq->kick_fd = -1;
		virtq_reset(vq);
	}
	pthread_mutex_init(&vdev->lock, NULL);
	pthread_cond_init(&vdev->reset_cond, NULL);
	return 0;
}

void virtio_dev_set_transport(struct virtio_dev *vdev, const struct virtio_transport_ops *ops,
			      void *opaque)
{
	vdev->transport = ops;
	vdev->transport_opaque = opaque;
}

static void eventfd_signal(int fd);

/* ---- failures ---- */

bool virtio_dev_live_locked(const struct virtio_dev *vdev)
{
	return (vdev->status & VIRTIO_STATUS_DRIVER_OK) && !vdev->broken && !vdev->reset_pending;
}

bool virtio_dev_fail_locked(struct virtio_dev *vdev, struct virtq *vq, const char *msg)
{
	if (vdev->broken || vdev->reset_pending)
		return false;
	vdev->broken = true;
	vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vdev->errors_logged < VIRTIO_ERROR_LOG_LIMIT) {
		char where[24] = "";
		if (vq)
			snprintf(where, sizeof(where), "queue %u: ", vq->index);
		log_warn("%s: %s%s: the device needs a reset%s", vdev->name, where, msg,
			 ++vdev->errors_logged == VIRTIO_ERROR_LOG_LIMIT ?
				 " (further errors of this device are not logged)" : "");
	}
	return true;
}

void virtio_dev_signal_failure(struct virtio_dev *vdev)
{
	if (vdev->transport)
		vdev->transport->notify_config(vdev);
}

void virtio_dev_fail(struct virtio_dev *vdev, struct virtq *vq, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&vdev->lock);
	bool failed = virtio_dev_fail_locked(vdev, vq, msg);
	pthread_mutex_unlock(&vdev->lock);
	if (failed)
		virtio_dev_signal_failure(vdev);
}

/* ---- reset ---- */

static unsigned inflight_locked(const struct virtio_dev *vdev)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vdev->nr_queues; i++)
		n += vdev->vqs[i].inflight;
	return n;
}

void virtio_dev_finish_reset_locked(struct virtio_dev *vdev)
{
	for (unsigned i = 0; i < vdev->nr_queues; i++)
		virtq_reset(&vdev->vqs[i]);
	vdev->driver_features = 0;
	vdev->status = 0;
	vdev->broken = false;
	vdev->reset_pending = false;
	vdev->wake_at_ns = 0;
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	if (vdev->transport && vdev->transport->reset)
		vdev->transport->reset(vdev);
	pthread_cond_broadcast(&vdev->reset_cond);
}

/* Lock held; true when the reset finished at once */
static bool begin_reset_locked(struct virtio_dev *vdev)
{
	if (inflight_locked(vdev)) {
		vdev->reset_pending = true;
		/* the queue thread asks the device for the chains it holds */
		if (vdev->ops->release_chains && vdev->ctl_fd >= 0)
			eventfd_signal(vdev->ctl_fd);
		return false;
	}
	virtio_dev_finish_reset_locked(vdev);
	return true;
}

static void reset_done(struct virtio_dev *vdev)
{
	if (vdev->transport && vdev->transport->reset_done)
		vdev->transport->reset_done(vdev);
}

void virtio_dev_reset(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	if (!vdev->reset_pending)
		begin_reset_locked(vdev);
	while (vdev->reset_pending)
		pthread_cond_wait(&vdev->reset_cond, &vdev->lock);
	pthread_mutex_unlock(&vdev->lock);
	reset_done(vdev);
}

/* ---- registers ---- */

uint32_t virtio_device_features(struct virtio_dev *vdev, unsigned select)
{
	return select < 2 ? (uint32_t)(vdev->host_features >> (32 * select)) : 0;
}

uint32_t virtio_driver_features(struct virtio_dev *vdev, unsigned select)
{
	pthread_mutex_lock(&vdev->lock);
	uint32_t v = select < 2 ? (uint32_t)(vdev->driver_features >> (32 * select)) : 0;
	pthread_mutex_unlock(&vdev->lock);
	return v;
}

void virtio_set_driver_features(struct virtio_dev *vdev, unsigned select, uint32_t value)
{
	pthread_mutex_lock(&vdev->lock);
	/* fixed once FEATURES_OK is set, until a reset */
	if (select < 2 && !(vdev->status & VIRTIO_STATUS_FEATURES_OK) && !vdev->reset_pending) {
		uint64_t mask = 0xffffffffull << (32 * select);
		vdev->driver_features = (vdev->driver_features & ~mask) |
					((uint64_t)value << (32 * select));
	}
	pthread_mutex_unlock(&vdev->lock);
}

uint8_t virtio_status(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	uint8_t s = vdev->status;
	pthread_mutex_unlock(&vdev->lock);
	return s;
}

/* FEATURES_OK: a subset of what the device offers, with VERSION_1 (there
 * is no legacy interface), and what the device itself accepts */
static bool features_acceptable(struct virtio_dev *vdev)
{
	uint64_t f = vdev->driver_features;
	if (f & ~vdev->host_features)
		return false;
	if (!(f & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)))
		return false;
	return !vdev->ops->features_ok || vdev->ops->features_ok(vdev, f) == 0;
}

void virtio_set_status(struct virtio_dev *vdev, uint8_t value)
{
	bool done = false, failed = false, kick = false;

	pthread_mutex_lock(&vdev->lock);
	if (value == 0) {
		if (!vdev->reset_pending)
			done = begin_reset_locked(vdev);
	} else if (!vdev->reset_pending) {
		/* a driver adds bits; NEEDS_RESET is the device's */
		uint8_t add = value & ~vdev->status & ~VIRTIO_STATUS_NEEDS_RESET;
		if ((add & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(vdev))
			add &= ~VIRTIO_STATUS_FEATURES_OK;
		if ((add & VIRTIO_STATUS_DRIVER_OK) &&
		    !((vdev->status | add) & VIRTIO_STATUS_FEATURES_OK))
			add &= ~VIRTIO_STATUS_DRIVER_OK;
		vdev->status |= add;
		if ((add & VIRTIO_STATUS_DRIVER_OK) && !vdev->broken) {
			for (unsigned i = 0; i < vdev->nr_queues && !failed; i++) {
				char why[160];
				struct virtq *vq = &vdev->vqs[i];
				if (virtq_activate(vdev, vq, why, sizeof(why)) < 0)
					failed = virtio_dev_fail_locked(vdev, vq, why);
			}
			kick = !failed;
		}
	}
	bool release = value == 0 && vdev->reset_pending && !vdev->thread_started;
	pthread_mutex_unlock(&vdev->lock);
	if (release && vdev->ops->release_chains)
		vdev->ops->release_chains(vdev);
	if (done)
		reset_done(vdev);
	if (failed)
		virtio_dev_signal_failure(vdev);
	if (kick && vdev->ops->driver_ok)
		vdev->ops->driver_ok(vdev);
	/* buffers the driver made available before DRIVER_OK */
	if (kick)
		for (unsigned i = 0; i < vdev->nr_queues; i++)
			virtq_kick(vdev, i);
}

uint8_t virtio_config_generation(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	uint8_t g = vdev->config_generation;
	pthread_mutex_unlock(&vdev->lock);
	return g;
}

uint32_t virtio_config_read(struct virtio_dev *vdev, unsigned offset, unsigned size)
{
	uint32_t v = 0;
	pthread_mutex_lock(&vdev->lock);
	for (unsigned i = 0; i < size && i < 4; i++)
		if (offset + i < vdev->config_len)
			v |= (uint32_t)vdev->config[offset + i] << (8 * i);
	pthread_mutex_unlock(&vdev->lock);
	return v;
}

void virtio_config_write(struct virtio_dev *vdev, unsigned offset, unsigned size, uint32_t value)
{
	pthread_mutex_lock(&vdev->lock);
	if (vdev->ops->config_write && size <= 4 && offset < vdev->config_len &&
	    size <= vdev->config_len - offset)
		vdev->ops->config_write(vdev, offset, size, value);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	vdev->config_generation++;
	pthread_mutex_unlock(&vdev->lock);
	if (vdev->transport)
		vdev->transport->notify_config(vdev);
}

/* Queue registers take writes only while the driver sets the device up */
static bool queue_writable(const struct virtio_dev *vdev, const struct virtq *vq)
{
	return !vq->enabled && !(vdev->status & VIRTIO_STATUS_DRIVER_OK) && !vdev->reset_pending;
}

uint64_t virtq_reg_read(struct virtio_dev *vdev, unsigned q, enum virtq_reg reg)
{
	if (q >= vdev->nr_queues)
		return 0;
	struct virtq *vq = &vdev->vqs[q];
	uint64_t v = 0;
	pthread_mutex_lock(&vdev->lock);
	switch (reg) {
	case VIRTQ_REG_SIZE: v = vq->size; break;
	case VIRTQ_REG_MAX_SIZE: v = vq->max_size; break;
	case VIRTQ_REG_ENABLE: v = vq->enabled; break;
	case VIRTQ_REG_DESC: v = vq->desc_gpa; break;
	case VIRTQ_REG_DRIVER: v = vq->driver_gpa; break;
	case VIRTQ_REG_DEVICE: v = vq->device_gpa; break;
	}
	pthread_mutex_unlock(&vdev->lock);
	return v;
}

void virtq_reg_write(struct virtio_dev *vdev, unsigned q, enum virtq_reg reg, uint64_t value)
{
	if (q >= vdev->nr_queues)
		return;
	struct virtq *vq = &vdev->vqs[q];
	pthread_mutex_lock(&vdev->lock);
	if (reg == VIRTQ_REG_ENABLE && value == 0 && !(vdev->status & VIRTIO_STATUS_DRIVER_OK)) {
		/* virtio-mmio's QueueReady = 0: the driver gave the queue up
		 * before using it (Linux's error path reads 0 back) */
		vq->enabled = false;
	} else if (queue_writable(vdev, vq)) {
		switch (reg) {
		case VIRTQ_REG_SIZE: vq->size = (uint16_t)value; break;
		case VIRTQ_REG_MAX_SIZE: break;
		case VIRTQ_REG_ENABLE: vq->enabled = value == 1; break;
		case VIRTQ_REG_DESC: vq->desc_gpa = value; break;
		case VIRTQ_REG_DRIVER: vq->driver_gpa = value; break;
		case VIRTQ_REG_DEVICE: vq->device_gpa = value; break;
		}
	}
	pthread_mutex_unlock(&vdev->lock);
}

/* ---- the queue thread ---- */

void virtq_process(struct virtio_dev *vdev, struct virtq *vq)
{
	pthread_mutex_lock(&vdev->lock);
	bool live = virtio_dev_live_locked(vdev) && vq->active;
	pthread_mutex_unlock(&vdev->lock);
	if (live)
		vdev->ops->queue_notify(vdev, vq);
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is full, which already means "look" */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("virtio: cannot signal an eventfd: %s", strerror(errno));
}

void virtq_kick(struct virtio_dev *vdev, unsigned q)
{
	if (q >= vdev->nr_queues)
		return;
	struct virtq *vq = &vdev->vqs[q];
	if (vq->kick_fd >= 0)
		eventfd_signal(vq->kick_fd);
	else
		virtq_process(vdev, vq);
}

int virtq_kick_fd(const struct virtio_dev *vdev, unsigned q)
{
	return q < vdev->nr_queues ? vdev->vqs[q].kick_fd : -1;
}

void virtq_set_kick_elsewhere(struct virtio_dev *vdev, unsigned q, bool elsewhere)
{
	if (q >= vdev->nr_queues)
		return;
	atomic_store(&vdev->vqs[q].kick_elsewhere, elsewhere);
	if (vdev->ctl_fd >= 0)
		eventfd_signal(vdev->ctl_fd);	/* the thread looks at its eventfds again */
}

void virtio_dev_wake_at(struct virtio_dev *vdev, uint64_t ns)
{
	if (vdev->wake_at_ns && vdev->wake_at_ns <= ns)
		return;
	vdev->wake_at_ns = ns;
	if (vdev->ctl_fd >= 0)
		eventfd_signal(vdev->ctl_fd);
}

static void drain_eventfd(int fd)
{
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("virtio: cannot read an eventfd: %s", strerror(errno));
}

static void *virtio_queue_thread(void *arg)
{
	struct virtio_dev *vdev = arg;
	struct pollfd pfd[2 + VIRTIO_MAX_QUEUES];
	unsigned n = vdev->nr_queues;
	/* after the queues' eventfds; poll skips it if negative */
	int poll_fd = vdev->ops->poll_begin ? vdev->ops->poll_begin(vdev) : -EOPNOTSUPP;

	pfd[0] = (struct pollfd){ .fd = vdev->ctl_fd, .events = POLLIN };
	pfd[1 + n] = (struct pollfd){ .fd = poll_fd, .events = POLLIN };
	for (;;) {
		/* poll skips a negative fd: a kick eventfd vhost reads */
		for (unsigned i = 0; i < n; i++)
			pfd[1 + i] = (struct pollfd){ .fd = atomic_load(&vdev->vqs[i].kick_elsewhere) ?
								    -1 : vdev->vqs[i].kick_fd,
						      .events = POLLIN };
		pthread_mutex_lock(&vdev->lock);
		bool stop = vdev->stopping;
		uint64_t wake = vdev->wake_at_ns;
		pthread_mutex_unlock(&vdev->lock);
		if (stop)
			break;
		struct timespec ts, *tsp = NULL;
		if (wake) {
			uint64_t now = vm_clock_ns(vdev->vm);
			uint64_t wait = wake > now ? wake - now : 0;
			ts = (struct timespec){ .tv_sec = (time_t)(wait / NS_PER_SEC),
						.tv_nsec = (long)(wait % NS_PER_SEC) };
			tsp = &ts;
		}
		if (ppoll(pfd, 2 + n, tsp, NULL) < 0 && errno != EINTR) {
			log_error("%s: poll: %s", vdev->name, strerror(errno));
			break;
		}
		if (pfd[1 + n].revents & POLLIN)
			vdev->ops->poll(vdev);
		if (pfd[0].revents & POLLIN) {
			drain_eventfd(vdev->ctl_fd);
			pthread_mutex_lock(&vdev->lock);
			bool release = vdev->reset_pending;
			pthread_mutex_unlock(&vdev->lock);
			if (release && vdev->ops->release_chains)
				vdev->ops->release_chains(vdev);
		}
		bool all = false;
		if (wake) {
			pthread_mutex_lock(&vdev->lock);
			if (vdev->wake_at_ns && vdev->wake_at_ns <= vm_clock_ns(vdev->vm)) {
				vdev->wake_at_ns = 0;
				all = true;
			}
			pthread_mutex_unlock(&vdev->lock);
		}
		for (unsigned i = 0; i < n; i++) {
			/* the flag again: vhost may have taken the queue
			 * while this thread was polling its eventfd */
			bool kicked = (pfd[1 + i].revents & POLLIN) &&
				      !atomic_load(&vdev->vqs[i].kick_elsewhere);
			if (kicked)
				drain_eventfd(pfd[1 + i].fd);
			if (all || kicked)
				virtq_process(vdev, &vdev->vqs[i]);
		}
	}
	if (poll_fd >= 0)
		vdev->ops->poll_end(vdev);
	return NULL;
}

static void close_fds(struct virtio_dev *vdev)
{
	if (vdev->ctl_fd >= 0)
		close(vdev->ctl_fd);
	vdev->ctl_fd = -1;
	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		if (vdev->vqs[i].kick_fd >= 0)
			close(vdev->vqs[i].kick_fd);
		vdev->vqs[i].kick_fd = -1;
	}
}

int virtio_dev_start_thread(struct virtio_dev *vdev)
{
	int ret;
	vdev->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->ctl_fd < 0)
		goto fail_errno;
	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		vdev->vqs[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vdev->vqs[i].kick_fd < 0)
			goto fail_errno;
	}
	/* signals are the main loop's (and SIGUSR1 the KVM engine's kick) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&vdev->thread, NULL, virtio_queue_thread, vdev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		close_fds(vdev);
		log_error("%s: cannot start its queue thread: %s", vdev->name, strerror(-ret));
		return ret;
	}
	vdev->thread_started = true;
	return 0;
fail_errno:
	ret = -errno;
	close_fds(vdev);
	log_error("%s: eventfd: %s", vdev->name, strerror(-ret));
	return ret;
}

void virtio_dev_cleanup(struct virtio_dev *vdev)
{
	/* the queue thread first: a notification it is serving may use what
	 * the device's stop frees, or wait for the device's own threads */
	if (vdev->thread_started) {
		pthread_mutex_lock(&vdev->lock);
		vdev->stopping = true;
		pthread_mutex_unlock(&vdev->lock);
		eventfd_signal(vdev->ctl_fd);
		pthread_join(vdev->thread, NULL);
		vdev->thread_started = false;
	}
	if (vdev->ops->stop)
		vdev->ops->stop(vdev);
	close_fds(vdev);
	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		free(vdev->vqs[i].scratch);
		vdev->vqs[i].scratch = NULL;
		vdev->vqs[i].scratch_cap = 0;
	}
	pthread_mutex_destroy(&vdev->lock);
	pthread_cond_destroy(&vdev->reset_cond);
}
