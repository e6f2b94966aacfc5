/* The virtio device model (virtio 1.2, modern devices only), independent
 * of the transport that carries it.
 *
 *   core (virtio.c)        feature negotiation, the status state machine,
 *                          reset, the configuration generation, the queue
 *                          thread, errors that need a reset
 *   virtqueue.c            the split and packed rings: every chain checked
 *                          and parsed into a struct virtq_chain before a
 *                          device sees it, used buffers, notifications
 *   a transport            (virtio_pci.c) maps registers onto the calls
 *                          below and turns notify_queue/notify_config into
 *                          interrupts
 *   a device               (virtio_rng.c, virtio_blk.c) fills in struct
 *                          virtio_dev_ops and never knows its transport
 *
 * Locking: vdev->lock guards everything in struct virtio_dev (status,
 * features, queue registers and ring state).  It is held only for short,
 * bounded work, never while taking vm->dev_lock, raising an interrupt or
 * waiting for I/O; a transport's register handlers (called under
 * vm->dev_lock) take it inside.  Devices process their queues on the
 * device's own thread (or inline, for tests, when none was started) with
 * the lock not held; completions may come from any thread. */
#ifndef MINIVMM_VIRTIO_H
#define MINIVMM_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vm;

/* Device status */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Device-independent feature bits */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_FEATURE(bit) (1ull << (bit))

/* Device IDs */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

#define VIRTIO_MAX_QUEUES 65
#define VIRTQ_MAX_SIZE 1024	/* the largest queue a device offers */

/* One host-contiguous piece of a buffer in guest RAM */
struct virtio_seg {
	uint64_t gpa;
	uint8_t *hva;
	uint32_t len;
};

/* A descriptor chain, checked: every piece is guest RAM, the readable
 * pieces come before the writable ones, the chain is bounded. */
struct virtq_chain {
	uint16_t id;		/* split: head index; packed: buffer ID */
	uint16_t ndesc;		/* packed: ring descriptors it took */
	unsigned nr_out;	/* device-readable pieces: segs[0, nr_out) */
	unsigned nr_in;		/* device-writable: segs[nr_out, nr_out + nr_in) */
	uint64_t out_len, in_len;	/* bytes in each part */
	struct virtio_seg segs[];
};

struct virtio_dev;

struct virtq {
	struct virtio_dev *vdev;
	unsigned index;
	/* the queue's registers, as the driver set them */
	uint16_t max_size;
	uint16_t size;
	bool enabled;
	uint64_t desc_gpa, driver_gpa, device_gpa;
	/* from DRIVER_OK: the rings in host memory and their format */
	bool active;
	bool packed, event_idx, indirect;
	uint8_t *desc, *driver, *device;
	/* ring state: split: free-running indices; packed: positions and
	 * wrap counters */
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t signalled_used;	/* next_used at the last notification check */
	bool signalled_wrap, signalled_valid;
	unsigned inflight;	/* chains popped and not yet pushed */
	int kick_fd;		/* eventfd the queue thread waits on, or -1 */
	atomic_bool kick_elsewhere;	/* vhost reads kick_fd: the thread does not */
	struct virtio_seg *scratch;	/* where a chain is built */
	unsigned scratch_cap;
};

struct virtio_dev_ops {
	/* Take and serve the queue's available buffers (virtq_pop, then
	 * virtq_push/virtq_complete); called on the queue thread without the
	 * lock, only while the device is live (DRIVER_OK, not broken). */
	void (*queue_notify)(struct virtio_dev *vdev, struct virtq *vq);
	/* Optional: the device-specific part of a reset (lock held, nothing
	 * in flight) */
	void (*reset)(struct virtio_dev *vdev);
	/* Optional: the driver's features at FEATURES_OK; a negative return
	 * refuses them (lock held) */
	int (*features_ok)(struct virtio_dev *vdev, uint64_t features);
	/* Optional: a driver write to the device configuration (lock held);
	 * without it writes are ignored */
	void (*config_write)(struct virtio_dev *vdev, unsigned offset, unsigned size,
			     uint32_t value);
	/* Optional: DRIVER_OK was just set and every queue's rings are
	 * active: start a data path that lives elsewhere (vhost-user); called
	 * without the lock, before the queues are kicked.  The device calls
	 * virtio_dev_fail itself when it cannot. */
	void (*driver_ok)(struct virtio_dev *vdev);
	/* Optional: stop threads of the device's own, in virtio_dev_cleanup
	 * once the queue thread has stopped (no lock held) */
	void (*stop)(struct virtio_dev *vdev);
	/* Optional, for a device that may hold chains for a long time (a
	 * stalled back-end): a reset is waiting for them, give them back
	 * (virtq_push).  Called on the queue thread (or, without one, by
	 * the status write), lock not held. */
	void (*release_chains)(struct virtio_dev *vdev);
	/* Optional: a file descriptor (or a negative errno: none) the queue
	 * thread waits on beside its eventfds, for completions the device
	 * takes on that thread (poll, when it is readable) rather than on a
	 * thread of their own; poll_end before the thread stops.  All three
	 * run on the queue thread, lock not held. */
	int (*poll_begin)(struct virtio_dev *vdev);
	void (*poll)(struct virtio_dev *vdev);
	void (*poll_end)(struct virtio_dev *vdev);
	/* Free the device; its transport calls it last, once the queue
	 * thread is gone and nothing is in flight */
	void (*destroy)(struct virtio_dev *vdev);
};

/* What the core asks of its transport */
struct virtio_transport_ops {
	/* used buffers on queue q: interrupt the driver (no lock held) */
	void (*notify_queue)(struct virtio_dev *vdev, unsigned q);
	/* configuration change or DEVICE_NEEDS_RESET (no lock held) */
	void (*notify_config)(struct virtio_dev *vdev);
	/* a reset finished: the transport's per-device registers back to
	 * their reset values (lock held: plain fields only) */
	void (*reset)(struct virtio_dev *vdev);
	/* after reset: re-evaluate interrupt lines (no lock held) */
	void (*reset_done)(struct virtio_dev *vdev);
	/* Optional: an eventfd whose writes interrupt the driver for queue q
	 * as notify_queue does (an irqfd under KVM), for a data path outside
	 * minivmm (vhost); a negative errno when there is none */
	int (*call_fd)(struct virtio_dev *vdev, unsigned q);
};

struct virtio_dev {
	char name[48];		/* for messages: the device and where it sits */
	struct vm *vm;
	uint32_t device_id;
	const struct virtio_dev_ops *ops;
	void *opaque;		/* the device's */
	const struct virtio_transport_ops *transport;
	void *transport_opaque;

	pthread_mutex_t lock;
	pthread_cond_t reset_cond;	/* a pending reset finished */
	uint64_t host_features;
	uint64_t driver_features;
	uint8_t status;
	bool reset_pending;	/* status 0 written, chains still in flight */
	bool broken;		/* NEEDS_RESET: no more ring accesses */
	uint8_t config_generation;
	uint8_t *config;	/* the device configuration, little endian */
	unsigned config_len;
	unsigned nr_queues;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	unsigned errors_logged;

	/* the queue thread */
	pthread_t thread;
	bool thread_started;
	int ctl_fd;		/* eventfd: stop, or look at wake_at_ns again */
	bool stopping;
	uint64_t wake_at_ns;	/* run queue_notify on every queue then (0: never) */
};

struct virtio_common_config;
/* The ring features (packed, event index, indirect) a -device asked for */
uint64_t virtio_ring_features(const struct virtio_common_config *cfg);

/* Set up a device with nr_queues queues of max_size (a power of two, at
 * most VIRTQ_MAX_SIZE) offering features (VERSION_1 is added); config is
 * the device's own buffer of config_len bytes.  0 or -errno. */
int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm, uint32_t device_id,
		    const struct virtio_dev_ops *ops, void *opaque, uint64_t features,
		    unsigned nr_queues, uint16_t max_size, uint8_t *config, unsigned config_len);
/* Stops the queue thread; in-flight chains must have completed */
void virtio_dev_cleanup(struct virtio_dev *vdev);
void virtio_dev_set_transport(struct virtio_dev *vdev, const struct virtio_transport_ops *ops,
			      void *opaque);
/* Serve the queues on a thread of the device's own, woken through one
 * eventfd per queue (virtq_kick_fd: a transport may hand it to KVM's
 * ioeventfd).  Without it, virtq_kick processes the queue at once on the
 * caller's thread. */
int virtio_dev_start_thread(struct virtio_dev *vdev);
/* Machine reset, vCPUs stopped: reset and wait for in-flight chains */
void virtio_dev_reset(struct virtio_dev *vdev);

/* ---- the transport's side: registers (each takes the lock) ---- */
uint32_t virtio_device_features(struct virtio_dev *vdev, unsigned select);
uint32_t virtio_driver_features(struct virtio_dev *vdev, unsigned select);
void virtio_set_driver_features(struct virtio_dev *vdev, unsigned select, uint32_t value);
/* Reads 0 only once a reset has finished */
uint8_t virtio_status(struct virtio_dev *vdev);
void virtio_set_status(struct virtio_dev *vdev, uint8_t status);
uint8_t virtio_config_generation(struct virtio_dev *vdev);
/* size 1, 2 or 4; outside the configuration reads 0 and writes nothing */
uint32_t virtio_config_read(struct virtio_dev *vdev, unsigned offset, unsigned size);
void virtio_config_write(struct virtio_dev *vdev, unsigned offset, unsigned size, uint32_t value);

enum virtq_reg {
	VIRTQ_REG_SIZE,
	VIRTQ_REG_MAX_SIZE,	/* read only */
	VIRTQ_REG_ENABLE,	/* 1 enables; 0 disables before DRIVER_OK, and is
				 * ignored after it (no per-queue reset) */
	VIRTQ_REG_DESC,
	VIRTQ_REG_DRIVER,
	VIRTQ_REG_DEVICE,
};
/* Queue q's registers; a queue index past nr_queues reads 0 and takes no
 * writes, and writes are ignored once the queue is enabled or the device
 * is DRIVER_OK, as the spec asks of drivers */
uint64_t virtq_reg_read(struct virtio_dev *vdev, unsigned q, enum virtq_reg reg);
void virtq_reg_write(struct virtio_dev *vdev, unsigned q, enum virtq_reg reg, uint64_t value);
/* The driver notified queue q (a notify register write) */
void virtq_kick(struct virtio_dev *vdev, unsigned q);
/* The queue thread's eventfd for q, or -1 */
int virtq_kick_fd(const struct virtio_dev *vdev, unsigned q);
/* Queue q's kick eventfd is read by a data path outside minivmm (vhost):
 * the queue thread stops waiting on it, so that a guest's notification
 * (KVM's ioeventfd) wakes only that data path; false gives it back */
void virtq_set_kick_elsewhere(struct virtio_dev *vdev, unsigned q, bool elsewhere);

/* ---- the device's side ---- */

/* The next available chain: 1 with *out set (the caller owns it until it
 * pushes it), 0 when the ring is empty, -EIO when the device cannot take
 * buffers (not live, or the chain was bad: the device is now broken). */
int virtq_pop(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain **out);
/* Return a chain as used with len bytes written, and free it; no
 * interrupt yet */
void virtq_push(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *chain,
		uint32_t len);
/* Give back the chain popped last, unused (LIFO when several): the next
 * pop returns it again, read afresh from the ring.  For a device that
 * found it cannot use it now (no room for the rest of a frame, a back-end
 * that is full), so nothing stays in flight while it waits. */
void virtq_unpop(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *chain);
/* Interrupt the driver if it wants to hear about the used buffers pushed
 * since the last call */
void virtq_notify(struct virtio_dev *vdev, struct virtq *vq);
/* push + notify, for one completion at a time */
void virtq_complete(struct virtio_dev *vdev, struct virtq *vq, struct virtq_chain *chain,
		    uint32_t len);

/* Copy from the readable part starting at byte off; returns bytes copied */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len);
/* Copy into the writable part starting at byte off (dma_write); returns
 * bytes copied */
size_t virtq_chain_write(struct virtio_dev *vdev, const struct virtq_chain *c, uint64_t off,
			 const void *buf, size_t len);
/* The pieces of [off, off + len) of the readable (writable: in) part as
 * an iovec: at most max entries; returns how many, or -ENOSPC/-EINVAL
 * when it does not fit or runs past the part's end.  segs (if not NULL)
 * receives the guest addresses alongside, for dma_mark_written once
 * someone else (the block layer) has written there. */
int virtq_chain_iov(const struct virtq_chain *c, bool in, uint64_t off, uint64_t len,
		    struct iovec *iov, struct virtio_seg *segs, unsigned max);

/* The driver did something the device cannot go on from: set
 * DEVICE_NEEDS_RESET, stop using the rings, tell the driver through a
 * configuration interrupt, and log one line (rate limited).  Lock not
 * held. */
__attribute__((format(printf, 3, 4))) void virtio_dev_fail(struct virtio_dev *vdev, struct virtq *vq,
							 const char *fmt, ...);
/* The device configuration changed: bump the generation, interrupt */
void virtio_config_changed(struct virtio_dev *vdev);
/* Run queue_notify on every queue at time ns (vm_clock_ns), e.g. when a
 * rate limit refills; lock held.  Earlier requests win. */
void virtio_dev_wake_at(struct virtio_dev *vdev, uint64_t ns);
/* Is feature bit negotiated? */
static inline bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
	return vdev->driver_features & VIRTIO_FEATURE(bit);
}

/* For the ring code (virtqueue.c) and the core */
int virtq_activate(struct virtio_dev *vdev, struct virtq *vq, char *why, size_t why_len);
void virtq_reset(struct virtq *vq);
void virtq_process(struct virtio_dev *vdev, struct virtq *vq);
/* Called with the lock held by the ring code when the last chain in
 * flight comes back during a pending reset */
void virtio_dev_finish_reset_locked(struct virtio_dev *vdev);
bool virtio_dev_live_locked(const struct virtio_dev *vdev);
/* virtio_dev_fail's state change and log line, lock held; returns true
 * when the device just broke (the caller then calls
 * virtio_dev_signal_failure once the lock is dropped) */
bool virtio_dev_fail_locked(struct virtio_dev *vdev, struct virtq *vq, const char *msg);
void virtio_dev_signal_failure(struct virtio_dev *vdev);

#endif
