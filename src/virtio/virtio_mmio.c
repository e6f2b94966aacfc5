/* The virtio-mmio transport, version 2 only (virtio 1.2 §4.2.2): one slot
 * of VIRTIO_MMIO_SLOT_SIZE bytes per device, registers at 0x000-0x0ff
 * (32-bit accesses at aligned offsets only; anything else reads 0 and
 * writes nothing), the device configuration from 0x100 (1, 2, 4 bytes,
 * and 8 as two dwords).
 *
 * The interrupt line follows InterruptStatus: raised when a bit is set,
 * lowered when the driver acknowledges the last one.  The board's tables
 * declare it edge triggered, as QEMU's microvm does, so each rise is one
 * interrupt; Linux acknowledges before it looks at the rings, so a buffer
 * used while the line is still up is not missed.
 *
 * On KVM, QueueNotify writes of each queue's index go to the queue
 * thread's eventfd (KVM_IOEVENTFD with datamatch) without an exit.
 * Register handlers run under vm->dev_lock and reach the device through
 * the core's functions, which take the device lock. */
#include "virtio/virtio_mmio.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "virtio/virtio.h"

/* Registers (virtio 1.2 §4.2.2) */
#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_VENDOR_ID 0x00c
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK 0x064
#define REG_STATUS 0x070
#define REG_QUEUE_DESC 0x080	/* low, then high at +4 */
#define REG_QUEUE_DRIVER 0x090
#define REG_QUEUE_DEVICE 0x0a0
#define REG_SHM_SEL 0x0ac
#define REG_SHM_LEN 0x0b0
#define REG_SHM_BASE 0x0b8
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG 0x100

/* InterruptStatus bits */
#define INT_VRING 1u
#define INT_CONFIG 2u

struct virtio_mmio {
	struct vm *vm;
	struct virtio_dev *vdev;
	uint64_t base;
	unsigned gsi;
	/* written under dev_lock, read from any thread */
	_Atomic uint32_t dfselect, gfselect, queue_select;
	atomic_uint isr;
	bool line;		/* the level last driven, under dev_lock */
	bool ioeventfds;	/* KVM takes QueueNotify writes */
};

static void guest_error(struct virtio_mmio *m, const char *what, uint64_t off, unsigned size)
{
	if (m->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS)
		log_debug("%s: %s of %u bytes at offset 0x%llx ignored", m->vdev->name, what, size,
			  (unsigned long long)off);
}

/* ---- interrupts ---- */

/* The line follows InterruptStatus; pulse: drop and raise it again, a
 * new edge for bits the driver has not seen although the line never went
 * down (it acknowledged one bit while another was being set) */
static void update_line(struct virtio_mmio *m, bool pulse)
{
	pthread_mutex_lock(&m->vm->dev_lock);
	bool level = atomic_load(&m->isr) != 0;
	if (level && pulse && m->line)
		vm_set_irq(m->vm, m->gsi, 0);
	if (level != m->line || (level && pulse)) {
		m->line = level;
		vm_set_irq(m->vm, m->gsi, level);
	}
	pthread_mutex_unlock(&m->vm->dev_lock);
}

static void interrupt(struct virtio_mmio *m, unsigned bit)
{
	/* a bit already set: the driver has yet to acknowledge it, and
	 * looks at the rings (or the configuration) after it does */
	if (!(atomic_fetch_or(&m->isr, bit) & bit))
		update_line(m, false);
}

static void mmio_notify_queue(struct virtio_dev *vdev, unsigned q)
{
	(void)q;
	interrupt(vdev->transport_opaque, INT_VRING);
}

static void mmio_notify_config(struct virtio_dev *vdev)
{
	interrupt(vdev->transport_opaque, INT_CONFIG);
}

static void mmio_reset_locked(struct virtio_dev *vdev)
{
	struct virtio_mmio *m = vdev->transport_opaque;
	atomic_store(&m->dfselect, 0);
	atomic_store(&m->gfselect, 0);
	atomic_store(&m->queue_select, 0);
	atomic_store(&m->isr, 0);
}

static void mmio_reset_done(struct virtio_dev *vdev)
{
	update_line(vdev->transport_opaque, false);
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.notify_queue = mmio_notify_queue,
	.notify_config = mmio_notify_config,
	.reset = mmio_reset_locked,
	.reset_done = mmio_reset_done,
};

/* ---- registers ---- */

/* The queue address registers: which one, and which half */
static bool queue_addr_reg(uint64_t off, enum virtq_reg *reg, unsigned *half)
{
	static const struct { uint64_t off; enum virtq_reg reg; } regs[] = {
		{ REG_QUEUE_DESC, VIRTQ_REG_DESC },
		{ REG_QUEUE_DRIVER, VIRTQ_REG_DRIVER },
		{ REG_QUEUE_DEVICE, VIRTQ_REG_DEVICE },
	};
	for (unsigned i = 0; i < 3; i++) {
		if (off == regs[i].off || off == regs[i].off + 4) {
			*reg = regs[i].reg;
			*half = (unsigned)(off - regs[i].off) / 4;
			return true;
		}
	}
	return false;
}

static uint64_t config_read(struct virtio_mmio *m, unsigned at, unsigned size)
{
	if (size <= 4)
		return virtio_config_read(m->vdev, at, size);
	return virtio_config_read(m->vdev, at, 4) |
	       (uint64_t)virtio_config_read(m->vdev, at + 4, 4) << 32;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *vdev = m->vdev;
	unsigned q = atomic_load(&m->queue_select);
	enum virtq_reg reg;
	unsigned half;

	if (off >= REG_CONFIG)
		return config_read(m, (unsigned)(off - REG_CONFIG), size);
	if (size != 4 || off % 4) {
		guest_error(m, "register read", off, size);
		return 0;
	}
	if (queue_addr_reg(off, &reg, &half))
		return (uint32_t)(virtq_reg_read(vdev, q, reg) >> (32 * half));
	switch (off) {
	case REG_MAGIC: return VIRTIO_MMIO_MAGIC;
	case REG_VERSION: return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID: return vdev->device_id;
	case REG_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES: return virtio_device_features(vdev, atomic_load(&m->dfselect));
	case REG_DEVICE_FEATURES_SEL: return atomic_load(&m->dfselect);
	case REG_DRIVER_FEATURES: return virtio_driver_features(vdev, atomic_load(&m->gfselect));
	case REG_DRIVER_FEATURES_SEL: return atomic_load(&m->gfselect);
	case REG_QUEUE_SEL: return q;
	case REG_QUEUE_NUM_MAX: return virtq_reg_read(vdev, q, VIRTQ_REG_MAX_SIZE);
	case REG_QUEUE_NUM: return virtq_reg_read(vdev, q, VIRTQ_REG_SIZE);
	case REG_QUEUE_READY: return virtq_reg_read(vdev, q, VIRTQ_REG_ENABLE);
	case REG_INTERRUPT_STATUS: return atomic_load(&m->isr);
	case REG_STATUS: return virtio_status(vdev);
	/* no shared memory regions: a length and base of all ones */
	case REG_SHM_LEN: case REG_SHM_LEN + 4:
	case REG_SHM_BASE: case REG_SHM_BASE + 4:
		return 0xffffffff;
	case REG_CONFIG_GENERATION: return virtio_config_generation(vdev);
	default: return 0;	/* write-only registers and gaps */
	}
}

/* A 32-bit half of a 64-bit queue address */
static void write_queue_addr(struct virtio_mmio *m, unsigned q, enum virtq_reg reg, unsigned half,
			     uint32_t v)
{
	uint64_t cur = virtq_reg_read(m->vdev, q, reg);
	uint64_t mask = 0xffffffffull << (32 * half);
	virtq_reg_write(m->vdev, q, reg, (cur & ~mask) | ((uint64_t)v << (32 * half)));
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *vdev = m->vdev;
	unsigned q = atomic_load(&m->queue_select);
	uint32_t v = (uint32_t)value;
	enum virtq_reg reg;
	unsigned half;

	if (off >= REG_CONFIG) {
		if (size <= 4)
			virtio_config_write(vdev, (unsigned)(off - REG_CONFIG), size, v);
		else
			guest_error(m, "configuration write", off, size);
		return;
	}
	if (size != 4 || off % 4) {
		guest_error(m, "register write", off, size);
		return;
	}
	if (queue_addr_reg(off, &reg, &half)) {
		write_queue_addr(m, q, reg, half, v);
		return;
	}
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		atomic_store(&m->dfselect, v);
		break;
	case REG_DRIVER_FEATURES:
		virtio_set_driver_features(vdev, atomic_load(&m->gfselect), v);
		break;
	case REG_DRIVER_FEATURES_SEL:
		atomic_store(&m->gfselect, v);
		break;
	case REG_QUEUE_SEL:
		atomic_store(&m->queue_select, v);
		break;
	case REG_QUEUE_NUM:
		/* wider than the 16-bit queue size: as invalid as it is */
		virtq_reg_write(vdev, q, VIRTQ_REG_SIZE, v > 0xffff ? 0xffff : v);
		break;
	case REG_QUEUE_READY:
		virtq_reg_write(vdev, q, VIRTQ_REG_ENABLE, v);
		break;
	case REG_QUEUE_NOTIFY:
		/* without VIRTIO_F_NOTIFICATION_DATA the value is the queue */
		virtq_kick(vdev, v);
		break;
	case REG_INTERRUPT_ACK:
		atomic_fetch_and(&m->isr, ~v);
		update_line(m, true);
		break;
	case REG_STATUS:
		virtio_set_status(vdev, (uint8_t)v);
		break;
	default:
		guest_error(m, "write to a read-only register", off, size);
		break;
	}
}

static const struct io_ops mmio_ops = { .read = mmio_read, .write = mmio_write };

/* ---- life cycle ---- */

static void set_ioeventfds(struct virtio_mmio *m, bool assign)
{
	struct virtio_dev *vdev = m->vdev;
	unsigned q;
	int ret = 0;
	for (q = 0; q < vdev->nr_queues && ret == 0; q++) {
		int fd = virtq_kick_fd(vdev, q);
		ret = fd < 0 ? -ENOSYS :
		      vm_ioeventfd_datamatch(m->vm, m->base + REG_QUEUE_NOTIFY, 4, q, fd, assign);
	}
	if (!assign || ret == 0) {
		m->ioeventfds = assign;
		return;
	}
	/* undo the ones that took; the register handler does the same work */
	for (unsigned k = 0; k + 1 < q; k++)
		vm_ioeventfd_datamatch(m->vm, m->base + REG_QUEUE_NOTIFY, 4, k,
				       virtq_kick_fd(vdev, k), false);
	if (ret != -ENOSYS)
		log_warn("%s: KVM_IOEVENTFD: %s; notifications take the slow path", vdev->name,
			 strerror(-ret));
}

static void vmmio_reset(void *opaque)
{
	struct virtio_mmio *m = opaque;
	virtio_dev_reset(m->vdev);
	update_line(m, false);
}

static void vmmio_free(struct virtio_mmio *m)
{
	struct virtio_dev *vdev = m->vdev;
	virtio_dev_cleanup(vdev);
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	free(m);
}

static void vmmio_destroy(void *opaque)
{
	struct virtio_mmio *m = opaque;
	/* nothing may still write guest memory or interrupt */
	virtio_dev_reset(m->vdev);
	if (m->ioeventfds)
		set_ioeventfds(m, false);
	io_bus_unregister(&m->vm->mmio, m->base);
	vmmio_free(m);
}

int virtio_mmio_create(struct vm *vm, struct virtio_dev *vdev,
		       const struct virtio_mmio_params *params)
{
	const char *type = params->type;
	struct vm_virtio_mmio *slots = &vm->virtio_mmio;
	struct virtio_mmio *m = NULL;
	int ret;

	if (!slots->max) {
		log_error("%s: this machine has no virtio-mmio transports (-M microvm has)", type);
		ret = -ENODEV;
		goto fail;
	}
	if (slots->nr >= slots->max) {
		log_error("%s: all %u virtio-mmio transports are taken", type, slots->max);
		ret = -ENOSPC;
		goto fail;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		log_error("%s: out of memory", type);
		ret = -ENOMEM;
		goto fail;
	}
	m->vm = vm;
	m->vdev = vdev;
	m->base = slots->base + (uint64_t)slots->nr * VIRTIO_MMIO_SLOT_SIZE;
	m->gsi = slots->gsi_base + slots->nr;
	virtio_dev_set_transport(vdev, &mmio_transport_ops, m);
	snprintf(vdev->name, sizeof(vdev->name), "%s@0x%llx", type, (unsigned long long)m->base);
	/* the queue thread's eventfds before KVM is given them */
	ret = params->no_queue_thread ? 0 : virtio_dev_start_thread(vdev);
	if (ret < 0)
		goto fail;
	ret = io_bus_register(&vm->mmio, m->base, VIRTIO_MMIO_SLOT_SIZE, &mmio_ops, m, type);
	if (ret < 0) {
		log_error("%s: cannot register MMIO 0x%llx: %s", type, (unsigned long long)m->base,
			  strerror(-ret));
		goto fail;
	}
	ret = vm_add_device(vm, type, m, vmmio_reset, vmmio_destroy);
	if (ret < 0) {
		log_error("%s: too many devices", type);
		io_bus_unregister(&vm->mmio, m->base);
		goto fail;
	}
	set_ioeventfds(m, true);
	slots->nr++;
	return 0;
fail:
	if (m) {
		vmmio_free(m);
	} else {
		virtio_dev_cleanup(vdev);
		if (vdev->ops->destroy)
			vdev->ops->destroy(vdev);
	}
	return ret;
}
