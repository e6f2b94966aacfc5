/* virtio-console with VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2 §5.3): the
 * device behind QEMU's virtio-serial-pci, virtconsole and virtserialport.
 *
 * Queues: port 0 receives on 0 and transmits on 1; the control queues are
 * 2 (device to driver) and 3 (driver to device); port n >= 1 uses 2 + 2n
 * and 3 + 2n.  The driver says DEVICE_READY, the device announces each
 * port (DEVICE_ADD), the driver answers PORT_READY for each, and the
 * device then says which is a console, the port's name, and whether the
 * host side is open; the driver says PORT_OPEN when the guest opens or
 * closes a port.
 *
 * Data both ways is bounded.  Guest output goes to the port's back-end
 * only as far as it has room: a back-end that stalls keeps the guest's
 * buffer (the guest waits, as it does with QEMU) until it takes more;
 * the chain is given back at once when a reset waits for it.  Input from
 * the back-end is read only as far as a small buffer per port has room,
 * and only once the guest has opened the port; the buffer goes into the
 * guest's receive buffers as they come.
 *
 * Locking: the ports and the control messages are under vm->dev_lock,
 * which the back-ends' callbacks hold already (the main loop calls them
 * with it) and the queue thread takes for each chain; inside it the core
 * takes vdev->lock, the allowed order.  A guest reset is seen lazily
 * (ops->reset runs under vdev->lock, where dev_lock cannot be taken): the
 * next holder of dev_lock forgets what the driver had set up. */
#include "virtio/virtio_console.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/config.h"
#include "core/log.h"
#include "core/vm.h"
#include "virtio/virtio.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_CONSOLE_F_MULTIPORT 1

#define VCON_QUEUE_SIZE 128
#define VCON_CTRL_RX 2		/* control messages to the driver */
#define VCON_CTRL_TX 3		/* control messages from the driver */
/* host input a port holds while the guest has no buffer for it */
#define VCON_RX_PENDING 4096
/* control messages waiting for a buffer of the driver's: a few per port */
#define VCON_CTRL_PENDING (8 * VIRTIO_SERIAL_MAX_PORTS)
#define VCON_NAME_MAX 255
#define VCON_BAD_CTRL_LOG_LIMIT 5
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

enum vcon_event {
	VCON_DEVICE_READY = 0,
	VCON_DEVICE_ADD = 1,
	VCON_DEVICE_REMOVE = 2,
	VCON_PORT_READY = 3,
	VCON_CONSOLE_PORT = 4,
	VCON_RESIZE = 5,
	VCON_PORT_OPEN = 6,
	VCON_PORT_NAME = 7,
};

struct virtio_console;

struct vcon_port {
	struct virtio_console *vc;
	bool exists;
	bool console;
	unsigned nr;
	const char *name;
	bool has_backend;
	struct chardev cd;
	/* under vm->dev_lock */
	bool guest_ready;	/* PORT_READY: the driver set the port up */
	bool guest_open;	/* PORT_OPEN: a guest program has it open */
	bool host_connected;	/* the back-end has a peer */
	struct virtq_chain *tx_held;	/* guest output the back-end has no room for yet */
	uint64_t tx_off;	/* bytes of it already handed over */
	uint8_t *rx;		/* VCON_RX_PENDING bytes, for a port that exists */
	size_t rx_len;
};

struct vcon_msg {
	uint32_t id;
	uint16_t event, value;
};

struct virtio_console {
	struct virtio_dev vdev;
	struct vm *vm;
	unsigned max_ports;
	uint8_t config[12];	/* cols, rows, max_nr_ports, emerg_wr */
	atomic_uint resets;	/* ops->reset counts; dev_lock holders catch up */
	/* under vm->dev_lock */
	unsigned resets_seen;
	struct vcon_msg ctrl[VCON_CTRL_PENDING];
	unsigned ctrl_head, ctrl_len;
	uint64_t bad_ctrl;	/* control messages ignored */
	uint64_t ctrl_dropped;	/* messages for a driver that took none */
	struct vcon_port ports[VIRTIO_SERIAL_MAX_PORTS];
};

static unsigned rx_queue(unsigned nr)
{
	return nr == 0 ? 0 : 2 + 2 * nr;
}

static struct virtq *port_vq(struct vcon_port *p, bool tx)
{
	return &p->vc->vdev.vqs[rx_queue(p->nr) + tx];
}

static bool vcon_multiport(struct virtio_console *vc)
{
	pthread_mutex_lock(&vc->vdev.lock);
	bool m = virtio_has_feature(&vc->vdev, VIRTIO_CONSOLE_F_MULTIPORT);
	pthread_mutex_unlock(&vc->vdev.lock);
	return m;
}

/* dev_lock held: forget what the driver set up before its last reset */
static void vcon_sync_reset(struct virtio_console *vc)
{
	unsigned r = atomic_load(&vc->resets);
	if (r == vc->resets_seen)
		return;
	vc->resets_seen = r;
	vc->ctrl_head = vc->ctrl_len = 0;
	for (unsigned i = 0; i < vc->max_ports; i++) {
		struct vcon_port *p = &vc->ports[i];
		p->guest_ready = p->guest_open = false;
		p->rx_len = 0;
	}
}

/* May host input go to the guest?  Without multiport, port 0 is the
 * console and always open; with it, once a guest program opened it */
static bool port_guest_open(struct virtio_console *vc, struct vcon_port *p)
{
	return vcon_multiport(vc) ? p->guest_open : p->nr == 0;
}

/* ---- control messages ---- */

static void ctrl_queue(struct virtio_console *vc, uint32_t id, uint16_t event, uint16_t value)
{
	if (vc->ctrl_len == VCON_CTRL_PENDING) {
		vc->ctrl_dropped++;
		return;
	}
	vc->ctrl[(vc->ctrl_head + vc->ctrl_len++) % VCON_CTRL_PENDING] =
		(struct vcon_msg){ .id = id, .event = event, .value = value };
}

static size_t ctrl_encode(struct virtio_console *vc, const struct vcon_msg *m, uint8_t *buf)
{
	size_t len = 8;
	buf[0] = (uint8_t)m->id;
	buf[1] = (uint8_t)(m->id >> 8);
	buf[2] = (uint8_t)(m->id >> 16);
	buf[3] = (uint8_t)(m->id >> 24);
	buf[4] = (uint8_t)m->event;
	buf[5] = (uint8_t)(m->event >> 8);
	buf[6] = (uint8_t)m->value;
	buf[7] = (uint8_t)(m->value >> 8);
	if (m->event == VCON_PORT_NAME && m->id < vc->max_ports && vc->ports[m->id].name) {
		/* the name follows the message, NUL-terminated as QEMU sends it */
		const char *name = vc->ports[m->id].name;
		size_t n = strnlen(name, VCON_NAME_MAX);
		memcpy(buf + len, name, n);
		len += n;
		buf[len++] = 0;
	}
	return len;
}

/* Hand the driver the messages waiting, as far as it gave buffers */
static void ctrl_flush(struct virtio_console *vc)
{
	struct virtio_dev *vdev = &vc->vdev;
	struct virtq *vq = &vdev->vqs[VCON_CTRL_RX];
	bool used = false;
	while (vc->ctrl_len) {
		struct virtq_chain *c;
		if (virtq_pop(vdev, vq, &c) <= 0)
			break;
		if (c->nr_out) {
			virtio_dev_fail(vdev, vq, "a control buffer for the driver is device-readable");
			virtq_push(vdev, vq, c, 0);
			break;
		}
		uint8_t buf[8 + VCON_NAME_MAX + 1];
		size_t len = ctrl_encode(vc, &vc->ctrl[vc->ctrl_head], buf);
		size_t n = virtq_chain_write(vdev, c, 0, buf, len);
		virtq_push(vdev, vq, c, (uint32_t)n);
		used = true;
		vc->ctrl_head = (vc->ctrl_head + 1) % VCON_CTRL_PENDING;
		vc->ctrl_len--;
	}
	if (used)
		virtq_notify(vdev, vq);
}

static void port_rx_flush(struct virtio_console *vc, struct vcon_port *p);

static void ctrl_bad(struct virtio_console *vc, const char *what, uint32_t id, unsigned event)
{
	if (vc->bad_ctrl++ < VCON_BAD_CTRL_LOG_LIMIT)
		log_warn("%s: ignoring a control message (%s: event %u, port %u)%s", vc->vdev.name,
			 what, event, id,
			 vc->bad_ctrl == VCON_BAD_CTRL_LOG_LIMIT ? "; further ones are not logged" : "");
}

static void ctrl_handle(struct virtio_console *vc, uint32_t id, uint16_t event, uint16_t value)
{
	if (event == VCON_DEVICE_READY) {
		if (!value) {
			log_warn("%s: the guest could not set the device up", vc->vdev.name);
			return;
		}
		for (unsigned i = 0; i < vc->max_ports; i++)
			if (vc->ports[i].exists)
				ctrl_queue(vc, i, VCON_DEVICE_ADD, 1);
		return;
	}
	if (event != VCON_PORT_READY && event != VCON_PORT_OPEN) {
		ctrl_bad(vc, "not a driver's message", id, event);
		return;
	}
	if (id >= vc->max_ports || !vc->ports[id].exists) {
		ctrl_bad(vc, "no such port", id, event);
		return;
	}
	struct vcon_port *p = &vc->ports[id];
	if (event == VCON_PORT_READY) {
		/* 0: the guest could not set the port up, and will not use it */
		if (!value || p->guest_ready)
			return;
		p->guest_ready = true;
		if (p->console)
			ctrl_queue(vc, id, VCON_CONSOLE_PORT, 1);
		if (p->name)
			ctrl_queue(vc, id, VCON_PORT_NAME, 1);
		if (p->host_connected)
			ctrl_queue(vc, id, VCON_PORT_OPEN, 1);
		return;
	}
	if (!p->guest_ready) {
		ctrl_bad(vc, "port not ready", id, event);
		return;
	}
	p->guest_open = value != 0;
	if (p->guest_open) {
		port_rx_flush(vc, p);
		if (p->has_backend)
			chardev_input_ready(&p->cd);
	}
}

/* The driver's messages, one chain at a time under dev_lock */
static void ctrl_receive(struct virtio_console *vc, struct virtq *vq)
{
	struct virtio_dev *vdev = &vc->vdev;
	bool used = false;
	for (;;) {
		pthread_mutex_lock(&vc->vm->dev_lock);
		vcon_sync_reset(vc);
		struct virtq_chain *c;
		if (virtq_pop(vdev, vq, &c) <= 0) {
			pthread_mutex_unlock(&vc->vm->dev_lock);
			break;
		}
		uint8_t m[8];
		size_t n = virtq_chain_read(c, 0, m, sizeof(m));
		virtq_push(vdev, vq, c, 0);
		used = true;
		if (n < sizeof(m))
			ctrl_bad(vc, "too short", 0, 0);
		else
			ctrl_handle(vc, (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
						(uint32_t)m[3] << 24,
				    (uint16_t)(m[4] | m[5] << 8), (uint16_t)(m[6] | m[7] << 8));
		ctrl_flush(vc);
		pthread_mutex_unlock(&vc->vm->dev_lock);
	}
	if (used)
		virtq_notify(vdev, vq);
}

/* ---- guest output ---- */

/* Hand the back-end what it has room for, from tx_off on; true when the
 * whole chain is out */
static bool port_tx_write(struct vcon_port *p, const struct virtq_chain *c)
{
	uint64_t start = 0;
	for (unsigned i = 0; i < c->nr_out; i++) {
		const struct virtio_seg *s = &c->segs[i];
		uint64_t end = start + s->len;
		/* the sink may take some at once and leave the room it had */
		while (p->tx_off < end) {
			size_t skip = (size_t)(p->tx_off - start), left = s->len - skip;
			size_t room = p->has_backend ? chardev_room(&p->cd) : SIZE_MAX;
			if (!room)
				return false;
			size_t n = left < room ? left : room;
			if (p->has_backend)
				chardev_write(&p->cd, s->hva + skip, n);
			p->tx_off += n;
		}
		start = end;
	}
	return true;
}

static void port_tx(struct virtio_console *vc, struct vcon_port *p)
{
	struct virtio_dev *vdev = &vc->vdev;
	struct virtq *vq = port_vq(p, true);
	bool used = false;
	for (;;) {
		pthread_mutex_lock(&vc->vm->dev_lock);
		vcon_sync_reset(vc);
		struct virtq_chain *c = p->tx_held;
		if (!c) {
			if (virtq_pop(vdev, vq, &c) <= 0) {
				pthread_mutex_unlock(&vc->vm->dev_lock);
				break;
			}
			p->tx_off = 0;
		}
		bool done = port_tx_write(p, c);
		p->tx_held = done ? NULL : c;
		if (done) {
			virtq_push(vdev, vq, c, 0);
			used = true;
		}
		pthread_mutex_unlock(&vc->vm->dev_lock);
		if (!done)
			break;	/* room_ready brings us back */
	}
	if (used)
		virtq_notify(vdev, vq);
}

/* The back-end took bytes: go on with the guest's output (dev_lock held) */
static void port_room_ready(void *opaque)
{
	struct vcon_port *p = opaque;
	if (p->tx_held)
		virtq_kick(&p->vc->vdev, rx_queue(p->nr) + 1);
}

/* A reset waits for the chains the ports hold */
static void vcon_release_chains(struct virtio_dev *vdev)
{
	struct virtio_console *vc = vdev->opaque;
	pthread_mutex_lock(&vc->vm->dev_lock);
	for (unsigned i = 0; i < vc->max_ports; i++) {
		struct vcon_port *p = &vc->ports[i];
		struct virtq_chain *c = p->tx_held;
		if (c) {
			p->tx_held = NULL;
			virtq_push(vdev, port_vq(p, true), c, 0);
		}
	}
	pthread_mutex_unlock(&vc->vm->dev_lock);
}

/* ---- guest input ---- */

/* Move held input into the guest's receive buffers (dev_lock held) */
static void port_rx_flush(struct virtio_console *vc, struct vcon_port *p)
{
	struct virtio_dev *vdev = &vc->vdev;
	struct virtq *vq = port_vq(p, false);
	bool used = false;
	if (!p->rx_len || !port_guest_open(vc, p))
		return;
	while (p->rx_len) {
		struct virtq_chain *c;
		if (virtq_pop(vdev, vq, &c) <= 0)
			break;
		if (c->nr_out) {
			virtio_dev_fail(vdev, vq, "a receive buffer is device-readable");
			virtq_push(vdev, vq, c, 0);
			break;
		}
		size_t n = virtq_chain_write(vdev, c, 0, p->rx, p->rx_len);
		virtq_push(vdev, vq, c, (uint32_t)n);
		used = true;
		memmove(p->rx, p->rx + n, p->rx_len - n);
		p->rx_len -= n;
	}
	if (used)
		virtq_notify(vdev, vq);
}

/* The back-end's receiver: called on the main thread with dev_lock held */
static size_t port_can_receive(void *opaque)
{
	struct vcon_port *p = opaque;
	struct virtio_console *vc = p->vc;
	vcon_sync_reset(vc);
	port_rx_flush(vc, p);
	return port_guest_open(vc, p) ? VCON_RX_PENDING - p->rx_len : 0;
}

static void port_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct vcon_port *p = opaque;
	size_t room = VCON_RX_PENDING - p->rx_len;
	if (len > room)
		len = room;
	memcpy(p->rx + p->rx_len, buf, len);
	p->rx_len += len;
	port_rx_flush(p->vc, p);
}

static void port_event(void *opaque, bool connected)
{
	struct vcon_port *p = opaque;
	struct virtio_console *vc = p->vc;
	vcon_sync_reset(vc);
	p->host_connected = connected;
	if (p->guest_ready && vcon_multiport(vc)) {
		ctrl_queue(vc, p->nr, VCON_PORT_OPEN, connected);
		ctrl_flush(vc);
	}
}

/* ---- the device ---- */

static void vcon_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_console *vc = vdev->opaque;
	unsigned q = vq->index;
	if (q == VCON_CTRL_TX) {
		ctrl_receive(vc, vq);
		return;
	}
	if (q == VCON_CTRL_RX) {
		pthread_mutex_lock(&vc->vm->dev_lock);
		vcon_sync_reset(vc);
		ctrl_flush(vc);
		pthread_mutex_unlock(&vc->vm->dev_lock);
		return;
	}
	unsigned nr = q < 2 ? 0 : (q - 2) / 2;
	if (nr >= vc->max_ports)
		return;
	struct vcon_port *p = &vc->ports[nr];
	if (q & 1) {
		port_tx(vc, p);
		return;
	}
	/* new receive buffers: held input goes in, and the back-end is read again */
	pthread_mutex_lock(&vc->vm->dev_lock);
	vcon_sync_reset(vc);
	port_rx_flush(vc, p);
	if (p->has_backend)
		chardev_input_ready(&p->cd);
	pthread_mutex_unlock(&vc->vm->dev_lock);
}

static void vcon_reset(struct virtio_dev *vdev)
{
	struct virtio_console *vc = vdev->opaque;
	atomic_fetch_add(&vc->resets, 1);
}

static void vcon_destroy(struct virtio_dev *vdev)
{
	struct virtio_console *vc = vdev->opaque;
	for (unsigned i = 0; i < vc->max_ports; i++) {
		struct vcon_port *p = &vc->ports[i];
		free(p->rx);
		if (!p->has_backend)
			continue;
		chardev_set_receiver(&p->cd, NULL);
		chardev_set_room_ready(&p->cd, NULL, NULL);
		chardev_close(&p->cd);
	}
	if (vc->bad_ctrl || vc->ctrl_dropped)
		log_info("%s: %llu bad control messages ignored, %llu messages dropped", vdev->name,
			 (unsigned long long)vc->bad_ctrl, (unsigned long long)vc->ctrl_dropped);
	free(vc);
}

static const struct virtio_dev_ops vcon_ops = {
	.queue_notify = vcon_queue_notify,
	.reset = vcon_reset,
	.release_chains = vcon_release_chains,
	.destroy = vcon_destroy,
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The ports of this bus from the command line, on their back-ends */
static int vcon_open_ports(struct virtio_console *vc, unsigned bus)
{
	const struct vm_config *cfg = &vc->vm->cfg;
	for (unsigned i = 0; i < cfg->nr_serial_ports; i++) {
		const struct virtio_serial_port_config *pc = &cfg->serial_ports[i];
		if (pc->bus != bus || pc->nr >= vc->max_ports)
			continue;
		struct vcon_port *p = &vc->ports[pc->nr];
		p->rx = malloc(VCON_RX_PENDING);
		if (!p->rx)
			return -ENOMEM;
		p->exists = true;
		p->console = pc->console;
		p->name = pc->name;
		if (pc->chardev < 0 || (unsigned)pc->chardev >= cfg->nr_chardevs)
			continue;
		int ret = chardev_open(&p->cd, vc->vm, &cfg->chardevs[pc->chardev]);
		if (ret < 0)
			return ret;
		p->has_backend = true;
		chardev_set_room_ready(&p->cd, port_room_ready, p);
		chardev_set_receiver(&p->cd, &(struct chardev_receiver){
			.can_receive = port_can_receive, .receive = port_receive,
			.event = port_event, .opaque = p });
		p->host_connected = p->cd.connected;
	}
	return 0;
}

int virtio_console_new(struct vm *vm, const struct virtio_device_config *cfg,
		       struct virtio_dev **out)
{
	struct virtio_console *vc = calloc(1, sizeof(*vc));
	if (!vc) {
		log_error("virtio-serial: out of memory");
		return -ENOMEM;
	}
	vc->vm = vm;
	vc->max_ports = cfg->serial.max_ports;
	if (vc->max_ports < 1 || vc->max_ports > VIRTIO_SERIAL_MAX_PORTS)
		vc->max_ports = VIRTIO_SERIAL_MAX_PORTS;
	for (unsigned i = 0; i < VIRTIO_SERIAL_MAX_PORTS; i++) {
		vc->ports[i].vc = vc;
		vc->ports[i].nr = i;
	}
	put_le32(vc->config + 4, vc->max_ports);
	/* QEMU offers multiport once there can be more than one port */
	uint64_t features = virtio_ring_features(&cfg->common);
	unsigned nr_queues = 2;
	if (vc->max_ports > 1) {
		features |= VIRTIO_FEATURE(VIRTIO_CONSOLE_F_MULTIPORT);
		nr_queues = 2 * (vc->max_ports + 1);
	}
	int ret = virtio_dev_init(&vc->vdev, vm, VIRTIO_ID_CONSOLE, &vcon_ops, vc, features,
				  nr_queues, VCON_QUEUE_SIZE, vc->config, sizeof(vc->config));
	if (ret < 0) {
		log_error("virtio-serial: %s", strerror(-ret));
		free(vc);
		return ret;
	}
	unsigned bus = (unsigned)(cfg - vm->cfg.virtio);
	ret = vcon_open_ports(vc, bus);
	if (ret < 0) {
		virtio_dev_cleanup(&vc->vdev);
		vcon_destroy(&vc->vdev);
		return ret;
	}
	*out = &vc->vdev;
	return 0;
}

int virtio_console_pci_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct virtio_dev *vdev;
	int ret = virtio_console_new(vm, cfg, &vdev);
	if (ret < 0)
		return ret;
	struct virtio_pci_params params = {
		.type = "virtio-serial-pci",
		.class_code = PCI_CLASS_COMMUNICATION_OTHER,
		.vectors = cfg->common.vectors < 0 ? 2 : (unsigned)cfg->common.vectors,
	};
	return virtio_pci_create(vm, vdev, &params);
}

int virtio_console_mmio_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct virtio_dev *vdev;
	int ret = virtio_console_new(vm, cfg, &vdev);
	if (ret < 0)
		return ret;
	return virtio_mmio_create(vm, vdev, &(struct virtio_mmio_params){ .type = "virtio-serial-device" });
}
