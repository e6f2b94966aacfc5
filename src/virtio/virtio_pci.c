/* The virtio-pci transport, modern only (virtio 1.2 §4.1): vendor 0x1AF4,
 * device 0x1040 + the virtio device ID, revision 1.  One 64-bit memory
 * BAR (4) holds the four regions the vendor capabilities point to:
 *
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x1000  ISR status (read to clear)
 *   0x2000  device configuration
 *   0x3000  notifications: queue q at 0x3000 + 4q (notify_off_multiplier 4)
 *
 * BAR 1 holds the MSI-X table and PBA (hw/msix.h) unless vectors=0.  A
 * VIRTIO_PCI_CAP_PCI_CFG capability reaches either BAR from config space.
 * Without MSI-X enabled the device interrupts on INTA#, level triggered,
 * while ISR status is not zero.
 *
 * Register handlers run under vm->dev_lock; they reach the device through
 * the core's functions, which take the device lock.  Interrupts are
 * raised from any thread (the queue thread, block completions). */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/msix.h"
#include "hw/pci.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci_irqfd.h"

#define VIRTIO_PCI_REVISION 1
#define VIRTIO_PCI_SUBSYSTEM 0x1100

#define MODERN_BAR 4
#define MSIX_BAR 1
#define COMMON_OFF 0x0000
#define ISR_OFF 0x1000
#define DEVICE_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define REGION_SIZE 0x1000
#define MODERN_BAR_SIZE 0x4000
#define NOTIFY_MULTIPLIER 4

/* virtio_pci_cap cfg_type */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define CAP_PCI_CFG 5
#define CAP_LEN 16
#define NOTIFY_CAP_LEN 20
#define PCI_CFG_CAP_LEN 20
#define PCI_CFG_DATA 16		/* pci_cfg_data in that capability */

/* struct virtio_pci_common_cfg */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_CFG_GENERATION 0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_DRIVER 0x28
#define CC_Q_DEVICE 0x30
#define CC_LEN 0x3c		/* through queue_notify_data and queue_reset (both 0 here) */

#define ISR_QUEUE 1
#define ISR_CONFIG 2
#define NO_VECTOR 0xffff

struct virtio_pci {
	struct pci_device pci;
	struct vm *vm;
	struct virtio_dev *vdev;
	struct msix msix;
	bool has_msix;
	unsigned cfg_cap;	/* the VIRTIO_PCI_CAP_PCI_CFG capability */
	/* transport registers: written under dev_lock, read from any thread */
	_Atomic uint32_t dfselect, gfselect;
	_Atomic uint16_t queue_select;
	_Atomic uint16_t config_vector;
	_Atomic uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	atomic_uchar isr;
	/* KVM ioeventfds on the notify region, when assigned */
	bool ioeventfds;
	uint64_t ioeventfd_base;
	unsigned ioeventfd_len;
	/* the queues' call eventfds: irqfds under KVM */
	struct vp_irqfd calls;
	bool calls_inited;
	/* notify writes that reached modern_write: with ioeventfds, none */
	atomic_ulong slow_notifies;
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- interrupts ---- */

static bool msix_on(struct virtio_pci *p)
{
	return p->has_msix && msix_enabled(&p->msix);
}

/* INTA# follows ISR status while MSI-X is off */
static void update_intx(struct virtio_pci *p)
{
	pthread_mutex_lock(&p->vm->dev_lock);
	pci_set_irq(&p->pci, atomic_load(&p->isr) && !msix_on(p));
	pthread_mutex_unlock(&p->vm->dev_lock);
}

static void interrupt(struct virtio_pci *p, uint8_t isr_bit, uint16_t vector)
{
	atomic_fetch_or(&p->isr, isr_bit);
	if (p->has_msix && vector != NO_VECTOR && msix_notify(&p->msix, vector))
		return;
	if (!msix_on(p))
		update_intx(p);
}

static void queue_interrupt(struct virtio_pci *p, unsigned q)
{
	interrupt(p, ISR_QUEUE, q < VIRTIO_MAX_QUEUES ? atomic_load(&p->queue_vector[q]) : NO_VECTOR);
}

/* Through the queue's irqfd when it has one: KVM sends the vector's
 * message without an ioctl of ours, and a mask moves it to the PBA */
static void vp_notify_queue(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_pci *p = vdev->transport_opaque;
	if (vp_irqfd_signal(&p->calls, q))
		atomic_fetch_or(&p->isr, ISR_QUEUE);
	else
		queue_interrupt(p, q);
}

/* The call eventfds' thread: an eventfd that is no irqfd now was written */
static void vp_forward(void *opaque, unsigned q)
{
	queue_interrupt(opaque, q);
}

static int vp_call_fd(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_pci *p = vdev->transport_opaque;
	return vp_irqfd_fd(&p->calls, q);
}

/* Each queue's irqfd follows its vector: call after anything that moves
 * it (the MSI-X table and capability, a queue's vector, a reset) */
static void update_irqfds(struct virtio_pci *p)
{
	uint16_t vectors[VIRTIO_MAX_QUEUES];
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vectors[q] = atomic_load(&p->queue_vector[q]);
	vp_irqfd_update(&p->calls, vectors);
}

static void vp_notify_config(struct virtio_dev *vdev)
{
	struct virtio_pci *p = vdev->transport_opaque;
	interrupt(p, ISR_CONFIG, atomic_load(&p->config_vector));
}

static void vp_reset_locked(struct virtio_dev *vdev)
{
	struct virtio_pci *p = vdev->transport_opaque;
	atomic_store(&p->dfselect, 0);
	atomic_store(&p->gfselect, 0);
	atomic_store(&p->queue_select, 0);
	atomic_store(&p->config_vector, NO_VECTOR);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		atomic_store(&p->queue_vector[i], NO_VECTOR);
	atomic_store(&p->isr, 0);
}

static void vp_reset_done(struct virtio_dev *vdev)
{
	struct virtio_pci *p = vdev->transport_opaque;
	update_irqfds(p);
	update_intx(p);
}

static const struct virtio_transport_ops vp_transport_ops = {
	.notify_queue = vp_notify_queue,
	.notify_config = vp_notify_config,
	.reset = vp_reset_locked,
	.reset_done = vp_reset_done,
	.call_fd = vp_call_fd,
};

/* ---- common configuration ---- */

/* A vector the driver may use: one of the table's, else NO_VECTOR, which
 * tells the driver the mapping failed */
static uint16_t valid_vector(struct virtio_pci *p, uint64_t v)
{
	return p->has_msix && v < p->msix.nvec ? (uint16_t)v : NO_VECTOR;
}

static void common_image(struct virtio_pci *p, uint8_t *img)
{
	struct virtio_dev *vdev = p->vdev;
	unsigned q = atomic_load(&p->queue_select);
	memset(img, 0, CC_LEN);
	put_le(img + CC_DFSELECT, atomic_load(&p->dfselect), 4);
	put_le(img + CC_DF, virtio_device_features(vdev, atomic_load(&p->dfselect)), 4);
	put_le(img + CC_GFSELECT, atomic_load(&p->gfselect), 4);
	put_le(img + CC_GF, virtio_driver_features(vdev, atomic_load(&p->gfselect)), 4);
	put_le(img + CC_MSIX_CONFIG, atomic_load(&p->config_vector), 2);
	put_le(img + CC_NUM_QUEUES, vdev->nr_queues, 2);
	img[CC_STATUS] = virtio_status(vdev);
	img[CC_CFG_GENERATION] = virtio_config_generation(vdev);
	put_le(img + CC_Q_SELECT, q, 2);
	if (q >= vdev->nr_queues)
		return;		/* a queue that does not exist reads as zeros */
	put_le(img + CC_Q_SIZE, virtq_reg_read(vdev, q, VIRTQ_REG_SIZE), 2);
	put_le(img + CC_Q_MSIX, atomic_load(&p->queue_vector[q]), 2);
	put_le(img + CC_Q_ENABLE, virtq_reg_read(vdev, q, VIRTQ_REG_ENABLE), 2);
	put_le(img + CC_Q_NOFF, q, 2);
	put_le(img + CC_Q_DESC, virtq_reg_read(vdev, q, VIRTQ_REG_DESC), 8);
	put_le(img + CC_Q_DRIVER, virtq_reg_read(vdev, q, VIRTQ_REG_DRIVER), 8);
	put_le(img + CC_Q_DEVICE, virtq_reg_read(vdev, q, VIRTQ_REG_DEVICE), 8);
}

static uint64_t common_read(struct virtio_pci *p, unsigned off, unsigned size)
{
	uint8_t img[CC_LEN + 8];
	common_image(p, img);
	memset(img + CC_LEN, 0, 8);
	return off < CC_LEN ? get_le(img + off, size) : 0;
}

/* A 64-bit queue address written whole or as two dwords */
static void write_queue_addr(struct virtio_pci *p, enum virtq_reg reg, unsigned half,
			     unsigned size, uint64_t v)
{
	unsigned q = atomic_load(&p->queue_select);
	if (size == 8 && half == 0) {
		virtq_reg_write(p->vdev, q, reg, v);
	} else if (size == 4) {
		uint64_t cur = virtq_reg_read(p->vdev, q, reg);
		uint64_t mask = 0xffffffffull << (32 * half);
		virtq_reg_write(p->vdev, q, reg, (cur & ~mask) | ((v & 0xffffffff) << (32 * half)));
	}
}

/* Each field takes a write of its own width at its own offset (64-bit
 * ones also as two dwords); other writes are ignored */
static void common_write(struct virtio_pci *p, unsigned off, unsigned size, uint64_t v)
{
	struct virtio_dev *vdev = p->vdev;
	unsigned q = atomic_load(&p->queue_select);
	switch (off) {
	case CC_DFSELECT:
		if (size == 4)
			atomic_store(&p->dfselect, (uint32_t)v);
		break;
	case CC_GFSELECT:
		if (size == 4)
			atomic_store(&p->gfselect, (uint32_t)v);
		break;
	case CC_GF:
		if (size == 4)
			virtio_set_driver_features(vdev, atomic_load(&p->gfselect), (uint32_t)v);
		break;
	case CC_MSIX_CONFIG:
		if (size == 2)
			atomic_store(&p->config_vector, valid_vector(p, v));
		break;
	case CC_STATUS:
		if (size == 1)
			virtio_set_status(vdev, (uint8_t)v);
		break;
	case CC_Q_SELECT:
		if (size == 2)
			atomic_store(&p->queue_select, (uint16_t)v);
		break;
	case CC_Q_SIZE:
		if (size == 2)
			virtq_reg_write(vdev, q, VIRTQ_REG_SIZE, v);
		break;
	case CC_Q_MSIX:
		if (size == 2 && q < vdev->nr_queues) {
			atomic_store(&p->queue_vector[q], valid_vector(p, v));
			update_irqfds(p);
		}
		break;
	case CC_Q_ENABLE:
		if (size == 2)
			virtq_reg_write(vdev, q, VIRTQ_REG_ENABLE, v);
		break;
	case CC_Q_DESC: case CC_Q_DESC + 4:
		write_queue_addr(p, VIRTQ_REG_DESC, (off - CC_Q_DESC) / 4, size, v);
		break;
	case CC_Q_DRIVER: case CC_Q_DRIVER + 4:
		write_queue_addr(p, VIRTQ_REG_DRIVER, (off - CC_Q_DRIVER) / 4, size, v);
		break;
	case CC_Q_DEVICE: case CC_Q_DEVICE + 4:
		write_queue_addr(p, VIRTQ_REG_DEVICE, (off - CC_Q_DEVICE) / 4, size, v);
		break;
	default:
		break;	/* read-only fields and gaps */
	}
}

/* ---- the modern BAR ---- */

static uint64_t modern_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *p = opaque;
	if (off < ISR_OFF)
		return common_read(p, (unsigned)off, size);
	if (off < DEVICE_OFF) {
		if (off != ISR_OFF)
			return 0;
		/* reading clears it, and drops INTA# */
		uint8_t v = atomic_exchange(&p->isr, 0);
		update_intx(p);
		return v;
	}
	if (off < NOTIFY_OFF) {
		unsigned at = (unsigned)(off - DEVICE_OFF);
		if (size <= 4)
			return virtio_config_read(p->vdev, at, size);
		return virtio_config_read(p->vdev, at, 4) |
		       (uint64_t)virtio_config_read(p->vdev, at + 4, 4) << 32;
	}
	return 0;
}

static void modern_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_pci *p = opaque;
	if (off < ISR_OFF)
		common_write(p, (unsigned)off, size, value);
	else if (off >= DEVICE_OFF && off < NOTIFY_OFF && size <= 4)
		virtio_config_write(p->vdev, (unsigned)(off - DEVICE_OFF), size, (uint32_t)value);
	else if (off >= NOTIFY_OFF) {
		atomic_fetch_add(&p->slow_notifies, 1);
		virtq_kick(p->vdev, (unsigned)((off - NOTIFY_OFF) / NOTIFY_MULTIPLIER));
	}
}

static const struct io_ops modern_ops = { .read = modern_read, .write = modern_write };

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *p = opaque;
	return msix_bar_read(&p->msix, off, size);
}

static void msix_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_pci *p = opaque;
	msix_bar_write(&p->msix, off, size, value);
	update_irqfds(p);	/* a message or a mask changed */
}

static const struct io_ops msix_ops = { .read = msix_read, .write = msix_write };

/* ---- config space ---- */

/* VIRTIO_PCI_CAP_PCI_CFG: an access to pci_cfg_data is an access of
 * cap.length (1, 2 or 4, aligned) bytes at cap.offset of BAR cap.bar */
static void cfg_window(struct virtio_pci *p, bool write)
{
	uint8_t *c = &p->pci.config[p->cfg_cap];
	unsigned bar = c[4];
	uint32_t off = (uint32_t)get_le(c + 8, 4), len = (uint32_t)get_le(c + 12, 4);
	if ((len != 1 && len != 2 && len != 4) || off % len)
		return;
	const struct io_ops *ops;
	if (bar == MODERN_BAR && off + len <= MODERN_BAR_SIZE)
		ops = &modern_ops;
	else if (bar == MSIX_BAR && p->has_msix && off + len <= MSIX_BAR_SIZE)
		ops = &msix_ops;
	else
		return;
	if (write)
		ops->write(p, off, len, get_le(c + PCI_CFG_DATA, len));
	else
		put_le(c + PCI_CFG_DATA, ops->read(p, off, len), len);
}

static bool touches_window(struct virtio_pci *p, unsigned off, unsigned size)
{
	unsigned data = p->cfg_cap + PCI_CFG_DATA;
	return off < data + 4 && off + size > data;
}

static uint32_t vp_config_read(struct pci_device *dev, unsigned off, unsigned size)
{
	struct virtio_pci *p = dev->opaque;
	if (touches_window(p, off, size))
		cfg_window(p, false);
	return pci_default_config_read(dev, off, size);
}

static void vp_config_write(struct pci_device *dev, unsigned off, unsigned size, uint32_t value)
{
	struct virtio_pci *p = dev->opaque;
	pci_default_config_write(dev, off, size, value);
	if (touches_window(p, off, size))
		cfg_window(p, true);
	if (p->has_msix) {
		msix_config_written(&p->msix);
		update_irqfds(p);
		update_intx(p);	/* MSI-X on or off moves INTA# */
	}
}

/* KVM signals the queue's eventfd on a notify write without an exit;
 * elsewhere (-ENOSYS) the write reaches modern_write, which does the same */
static void vp_bar_mapped(struct pci_device *dev, unsigned n, bool mapped, uint64_t addr)
{
	struct virtio_pci *p = dev->opaque;
	struct virtio_dev *vdev = p->vdev;
	if (n != MODERN_BAR || (!mapped && !p->ioeventfds))
		return;
	if (!mapped) {
		for (unsigned q = 0; q < vdev->nr_queues; q++)
			vm_ioeventfd(p->vm, p->ioeventfd_base + NOTIFY_OFF + NOTIFY_MULTIPLIER * q,
				     p->ioeventfd_len, virtq_kick_fd(vdev, q), false);
		p->ioeventfds = false;
		return;
	}
	/* any width where the engine can, else the 16 bits drivers write */
	static const unsigned lens[] = { 0, 2 };
	for (unsigned i = 0; i < 2; i++) {
		unsigned q;
		int ret = 0;
		for (q = 0; q < vdev->nr_queues && ret == 0; q++) {
			int fd = virtq_kick_fd(vdev, q);
			ret = fd < 0 ? -ENOSYS :
			      vm_ioeventfd(p->vm, addr + NOTIFY_OFF + NOTIFY_MULTIPLIER * q, lens[i], fd, true);
		}
		if (ret == 0) {
			p->ioeventfds = true;
			p->ioeventfd_base = addr;
			p->ioeventfd_len = lens[i];
			return;
		}
		/* undo the ones that took */
		for (unsigned k = 0; k + 1 < q; k++)
			vm_ioeventfd(p->vm, addr + NOTIFY_OFF + NOTIFY_MULTIPLIER * k, lens[i],
				     virtq_kick_fd(vdev, k), false);
		if (ret == -ENOSYS && i == 0)
			continue;
		if (ret != -ENOSYS)
			log_warn("%s: KVM_IOEVENTFD: %s; notifications take the slow path", vdev->name,
				 strerror(-ret));
		return;
	}
}

/* ---- capabilities ---- */

static int add_virtio_cap(struct virtio_pci *p, uint8_t type, unsigned len, uint32_t off,
			  uint32_t size)
{
	int at = pci_add_capability(&p->pci, PCI_CAP_ID_VNDR, len);
	if (at < 0)
		return at;
	uint8_t *c = &p->pci.config[at];
	c[2] = (uint8_t)len;
	c[3] = type;
	c[4] = MODERN_BAR;
	put_le(c + 8, off, 4);
	put_le(c + 12, size, 4);
	return at;
}

static int add_caps(struct virtio_pci *p)
{
	int at;
	if ((at = add_virtio_cap(p, CAP_COMMON, CAP_LEN, COMMON_OFF, REGION_SIZE)) < 0 ||
	    (at = add_virtio_cap(p, CAP_ISR, CAP_LEN, ISR_OFF, REGION_SIZE)) < 0)
		return at;
	if (p->vdev->config_len &&
	    (at = add_virtio_cap(p, CAP_DEVICE, CAP_LEN, DEVICE_OFF, REGION_SIZE)) < 0)
		return at;
	if ((at = add_virtio_cap(p, CAP_NOTIFY, NOTIFY_CAP_LEN, NOTIFY_OFF, REGION_SIZE)) < 0)
		return at;
	put_le(&p->pci.config[at + 16], NOTIFY_MULTIPLIER, 4);
	/* bar, offset, length and the data are the driver's to write */
	if ((at = add_virtio_cap(p, CAP_PCI_CFG, PCI_CFG_CAP_LEN, 0, 0)) < 0)
		return at;
	p->cfg_cap = (unsigned)at;
	p->pci.config[at + 4] = 0;
	p->pci.wmask[at + 4] = 0xff;
	memset(&p->pci.wmask[at + 8], 0xff, 12);
	return 0;
}

/* ---- life cycle ---- */

static void vp_reset(void *opaque)
{
	struct virtio_pci *p = opaque;
	virtio_dev_reset(p->vdev);
	if (p->has_msix)
		msix_reset(&p->msix);
	update_irqfds(p);
	memset(&p->pci.config[p->cfg_cap + 4], 0, PCI_CFG_CAP_LEN - 4);
	update_intx(p);
}

static void vp_free(struct virtio_pci *p)
{
	struct virtio_dev *vdev = p->vdev;
	virtio_dev_cleanup(vdev);
	/* what went past minivmm, and what did not */
	if (p->calls.ready && (p->vm->cfg.debug_mask & DEBUG_INT))
		log_debug("%s: %lu interrupts through irqfds, %lu forwarded by minivmm; "
			  "%lu notifications through its handler", vdev->name,
			  atomic_load(&p->calls.signalled), atomic_load(&p->calls.forwarded),
			  atomic_load(&p->slow_notifies));
	/* before the device, which a vhost may still hold the eventfds of:
	 * the reset stopped it, and it keeps references of its own */
	if (p->calls_inited)
		vp_irqfd_destroy(&p->calls);
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	if (p->has_msix)
		msix_destroy(&p->msix);
	free(p);
}

static void vp_destroy(void *opaque)
{
	struct virtio_pci *p = opaque;
	/* nothing may still write guest memory or interrupt */
	virtio_dev_reset(p->vdev);
	pci_unregister_device(&p->pci);
	vp_free(p);
}

int virtio_pci_create(struct vm *vm, struct virtio_dev *vdev, const struct virtio_pci_params *params)
{
	const char *type = params->type;
	unsigned vectors = params->vectors;
	struct virtio_pci *p = calloc(1, sizeof(*p));
	int ret = -ENOMEM;
	if (!p) {
		log_error("%s: out of memory", type);
		goto fail_free;
	}
	p->vm = vm;
	p->vdev = vdev;
	virtio_dev_set_transport(vdev, &vp_transport_ops, p);
	vp_reset_locked(vdev);
	pci_device_init(&p->pci, type, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_BASE + vdev->device_id), params->class_code,
			VIRTIO_PCI_REVISION);
	put_le(&p->pci.config[PCI_SUBSYSTEM_VENDOR_ID], VIRTIO_PCI_VENDOR, 2);
	put_le(&p->pci.config[PCI_SUBSYSTEM_ID], VIRTIO_PCI_SUBSYSTEM, 2);
	pci_device_set_interrupt_pin(&p->pci, 1);
	p->pci.opaque = p;
	p->pci.config_read = vp_config_read;
	p->pci.config_write = vp_config_write;
	p->pci.bar_mapped = vp_bar_mapped;
	ret = pci_device_set_bar(&p->pci, MODERN_BAR, PCI_BAR_MEM64, MODERN_BAR_SIZE, true,
				 &modern_ops, p);
	if (ret == 0)
		ret = add_caps(p);
	if (ret == 0 && vectors) {
		ret = pci_device_set_bar(&p->pci, MSIX_BAR, PCI_BAR_MEM32, MSIX_BAR_SIZE, false,
					 &msix_ops, p);
		if (ret == 0)
			ret = msix_init(&p->msix, &p->pci, vm, vectors, MSIX_BAR);
		p->has_msix = ret == 0;
	}
	if (ret == 0) {
		ret = vp_irqfd_init(&p->calls, vm, p->has_msix ? &p->msix : NULL, vdev->nr_queues,
				    vdev->name, vp_forward, p);
		p->calls_inited = true;
	}
	if (ret < 0) {
		log_error("%s: cannot set up its PCI function: %s", type, strerror(-ret));
		goto fail_free;
	}
	if (!vm->pci) {
		log_error("%s: this machine has no PCI bus", type);
		ret = -ENODEV;
		goto fail_free;
	}
	/* the queue thread's eventfds before the BARs can be mapped */
	snprintf(vdev->name, sizeof(vdev->name), "%s", type);
	ret = params->no_queue_thread ? 0 : virtio_dev_start_thread(vdev);
	if (ret < 0)
		goto fail_free;
	ret = pci_register_device(vm->pci, &p->pci);
	if (ret < 0) {
		log_error("%s: no free PCI slot: %s", type, strerror(-ret));
		goto fail_free;
	}
	snprintf(vdev->name, sizeof(vdev->name), "%s 00:%02x.%x", type, p->pci.devfn >> 3,
		 p->pci.devfn & 7);
	ret = vm_add_device(vm, type, p, vp_reset, vp_destroy);
	if (ret < 0) {
		log_error("%s: too many devices", type);
		pci_unregister_device(&p->pci);
		goto fail_free;
	}
	return 0;
fail_free:
	if (p) {
		vp_free(p);
	} else {
		virtio_dev_cleanup(vdev);
		if (vdev->ops->destroy)
			vdev->ops->destroy(vdev);
	}
	return ret;
}
