/* -device: the devices a user adds by name, with QEMU's property names.
 * Each kind parses its own properties; what needs the whole command line
 * (a drive= naming a -drive given later, if=virtio drives getting a
 * virtio-blk-pci of their own) is checked in cli_devices_finish. */
#include "cli/cli_internal.h"

#include <string.h>

#include "virtio/virtio_net.h"

#define RNG_DEFAULT_PERIOD_MS 65536	/* QEMU's */

struct device_parse {
	struct cli *c;
	const char *name;
	struct virtio_device_config *virtio;	/* NULL for the ISA devices */
	struct virtio_serial_port_config *port;	/* virtconsole, virtserialport */
	uint64_t iobase, iosize;	/* isa-debug-exit */
};

/* CLI_RUN when taken, CLI_ERROR after a message, CLI_DONE for a key the
 * kind does not have */
typedef enum cli_result (*param_fn)(struct device_parse *d, const struct kv *kv);

struct device_kind {
	const char *name;
	const char *usage;
	const char *help;
	param_fn param;
	enum cli_result (*start)(struct device_parse *d);
	enum cli_result (*end)(struct device_parse *d);
};

/* ---- isa-debug-exit, pc-testdev ---- */

static enum cli_result debug_exit_start(struct device_parse *d)
{
	d->iobase = 0x501;
	d->iosize = 2;
	return CLI_RUN;
}

static enum cli_result debug_exit_param(struct device_parse *d, const struct kv *kv)
{
	struct cli *c = d->c;
	if (kv_key_is(kv, "iobase")) {
		if (kv_number(c, kv, &d->iobase) != CLI_RUN)
			return CLI_ERROR;
		if (d->iobase > 0xffff)
			return cli_fail(c, "iobase=%.*s is above port 0xffff", (int)kv->val_len, kv->val);
		return CLI_RUN;
	}
	if (kv_key_is(kv, "iosize")) {
		if (kv_number(c, kv, &d->iosize) != CLI_RUN)
			return CLI_ERROR;
		if (d->iosize == 0 || d->iosize > 0xffff)
			return cli_fail(c, "iosize=%.*s is outside 1..0xffff", (int)kv->val_len, kv->val);
		return CLI_RUN;
	}
	return CLI_DONE;
}

static enum cli_result debug_exit_end(struct device_parse *d)
{
	struct vm_config *cfg = d->c->cfg;
	if (cfg->debug_exit)
		return cli_fail(d->c, "only one isa-debug-exit is supported");
	if (d->iobase + d->iosize > 0x10000)
		return cli_fail(d->c, "ports 0x%llx..0x%llx run past 0xffff",
				(unsigned long long)d->iobase,
				(unsigned long long)(d->iobase + d->iosize - 1));
	cfg->debug_exit = true;
	cfg->debug_exit_iobase = (uint16_t)d->iobase;
	cfg->debug_exit_iosize = (uint16_t)d->iosize;
	return CLI_RUN;
}

static enum cli_result no_param(struct device_parse *d, const struct kv *kv)
{
	(void)d;
	(void)kv;
	return CLI_DONE;
}

static enum cli_result testdev_end(struct device_parse *d)
{
	if (d->c->cfg->pc_testdev)
		return cli_fail(d->c, "only one pc-testdev is supported");
	d->c->cfg->pc_testdev = true;
	return CLI_RUN;
}

/* ---- virtio ---- */

/* virtio-*-device: the same device on the virtio-mmio transport, which
 * has no MSI-X vectors */
static bool is_mmio(const struct device_parse *d)
{
	size_t n = strlen(d->name);
	return n > 7 && !strcmp(d->name + n - 7, "-device");
}

static enum cli_result virtio_start(struct device_parse *d, enum virtio_device_type type)
{
	struct vm_config *cfg = d->c->cfg;
	if (cfg->nr_virtio == VM_MAX_VIRTIO_DEVICES)
		return cli_fail(d->c, "more than %d virtio devices", VM_MAX_VIRTIO_DEVICES);
	d->virtio = &cfg->virtio[cfg->nr_virtio];
	memset(d->virtio, 0, sizeof(*d->virtio));
	d->virtio->type = type;
	d->virtio->transport = d->name && is_mmio(d) ? VIRTIO_TRANSPORT_MMIO : VIRTIO_TRANSPORT_PCI;
	d->virtio->common = (struct virtio_common_config){ .packed = true, .event_idx = true,
							   .indirect_desc = true, .vectors = -1 };
	return CLI_RUN;
}

static enum cli_result virtio_end(struct device_parse *d)
{
	d->c->cfg->nr_virtio++;
	return CLI_RUN;
}

/* What every virtio-pci device takes */
static enum cli_result virtio_common_param(struct device_parse *d, const struct kv *kv)
{
	struct virtio_common_config *v = &d->virtio->common;
	if (kv_key_is(kv, "packed"))
		return kv_bool(d->c, kv, &v->packed);
	if (kv_key_is(kv, "event_idx"))
		return kv_bool(d->c, kv, &v->event_idx);
	if (kv_key_is(kv, "indirect_desc"))
		return kv_bool(d->c, kv, &v->indirect_desc);
	if (kv_key_is(kv, "vectors")) {
		uint64_t n;
		if (kv_number(d->c, kv, &n) != CLI_RUN)
			return CLI_ERROR;
		if (n > VIRTIO_PCI_MAX_VECTORS)
			return cli_fail(d->c, "vectors=%.*s is above %d", (int)kv->val_len, kv->val,
					VIRTIO_PCI_MAX_VECTORS);
		v->vectors = (int)n;
		return CLI_RUN;
	}
	return CLI_DONE;
}

static enum cli_result virtio_mmio_param(struct device_parse *d, const struct kv *kv)
{
	if (kv_key_is(kv, "vectors"))
		return CLI_DONE;
	return virtio_common_param(d, kv);
}

static enum cli_result rng_start(struct device_parse *d)
{
	enum cli_result r = virtio_start(d, VIRTIO_DEVICE_RNG);
	if (r == CLI_RUN)
		d->virtio->rng = (struct virtio_rng_config){ .max_bytes = UINT64_MAX,
							     .period_ms = RNG_DEFAULT_PERIOD_MS };
	return r;
}

static enum cli_result rng_param(struct device_parse *d, const struct kv *kv)
{
	struct virtio_rng_config *r = &d->virtio->rng;
	if (kv_key_is(kv, "max-bytes"))
		return kv_number(d->c, kv, &r->max_bytes);
	if (kv_key_is(kv, "period")) {
		if (kv_number(d->c, kv, &r->period_ms) != CLI_RUN)
			return CLI_ERROR;
		/* a period of more than a year is as good as none */
		if (r->period_ms == 0 || r->period_ms > 365ull * 86400 * 1000)
			return cli_fail(d->c, "period=%.*s: expected milliseconds, 1 or more",
					(int)kv->val_len, kv->val);
		return CLI_RUN;
	}
	return is_mmio(d) ? virtio_mmio_param(d, kv) : virtio_common_param(d, kv);
}

/* num-queues= and queue-size= of the disks; CLI_DONE for another key */
static enum cli_result disk_queues_param(struct cli *c, const struct kv *kv, unsigned *num_queues,
					 unsigned *queue_size)
{
	uint64_t n;
	if (kv_key_is(kv, "num-queues")) {
		if (kv_number(c, kv, &n) != CLI_RUN)
			return CLI_ERROR;
		if (n == 0 || n > VIRTIO_BLK_MAX_QUEUES)
			return cli_fail(c, "num-queues=%.*s is outside 1..%d", (int)kv->val_len, kv->val,
					VIRTIO_BLK_MAX_QUEUES);
		*num_queues = (unsigned)n;
		return CLI_RUN;
	}
	if (kv_key_is(kv, "queue-size")) {
		if (kv_number(c, kv, &n) != CLI_RUN)
			return CLI_ERROR;
		if (n < 4 || n > VIRTIO_BLK_MAX_QUEUE_SIZE || (n & (n - 1)))
			return cli_fail(c, "queue-size=%.*s: expected a power of two in 4..%d",
					(int)kv->val_len, kv->val, VIRTIO_BLK_MAX_QUEUE_SIZE);
		*queue_size = (unsigned)n;
		return CLI_RUN;
	}
	return CLI_DONE;
}

static enum cli_result blk_start(struct device_parse *d)
{
	enum cli_result r = virtio_start(d, VIRTIO_DEVICE_BLK);
	if (r == CLI_RUN)
		d->virtio->blk = (struct virtio_blk_config){
			.queue_size = VIRTIO_BLK_DEFAULT_QUEUE_SIZE, .discard = true,
			.write_zeroes = true, .bootindex = -1 };
	return r;
}

static enum cli_result blk_param(struct device_parse *d, const struct kv *kv)
{
	struct cli *c = d->c;
	struct virtio_blk_config *b = &d->virtio->blk;
	if (kv_key_is(kv, "drive"))
		return kv_string(c, kv, &b->drive_id);
	if (kv_key_is(kv, "bootindex")) {
		uint64_t n;
		if (kv_number(c, kv, &n) != CLI_RUN)
			return CLI_ERROR;
		if (n > 0xffff)
			return cli_fail(c, "bootindex=%.*s: 0 to 65535", (int)kv->val_len, kv->val);
		for (unsigned i = 0; i < c->cfg->nr_virtio; i++)
			if (&c->cfg->virtio[i].blk != b && c->cfg->virtio[i].type == VIRTIO_DEVICE_BLK &&
			    c->cfg->virtio[i].blk.bootindex == (int)n)
				return cli_fail(c, "bootindex=%u is used twice", (unsigned)n);
		b->bootindex = (int)n;
		return CLI_RUN;
	}
	if (kv_key_is(kv, "serial")) {
		if (kv->val_len > VIRTIO_BLK_SERIAL_MAX)
			return cli_fail(c, "serial=%.*s is longer than %d characters", (int)kv->val_len,
					kv->val, VIRTIO_BLK_SERIAL_MAX);
		return kv_string(c, kv, &b->serial);
	}
	enum cli_result r = disk_queues_param(c, kv, &b->num_queues, &b->queue_size);
	if (r != CLI_DONE)
		return r;
	if (kv_key_is(kv, "discard")) {
		b->discard_given = true;
		return kv_bool(c, kv, &b->discard);
	}
	if (kv_key_is(kv, "write-zeroes")) {
		b->write_zeroes_given = true;
		return kv_bool(c, kv, &b->write_zeroes);
	}
	return is_mmio(d) ? virtio_mmio_param(d, kv) : virtio_common_param(d, kv);
}

static enum cli_result blk_end(struct device_parse *d)
{
	if (!d->virtio->blk.drive_id)
		return cli_fail(d->c, "%s needs drive=ID (the id= of a -drive)", d->name);
	return virtio_end(d);
}

static enum cli_result net_start(struct device_parse *d)
{
	enum cli_result r = virtio_start(d, VIRTIO_DEVICE_NET);
	if (r == CLI_RUN)
		d->virtio->net = (struct virtio_net_config){
			.rx_queue_size = VIRTIO_NET_DEFAULT_QUEUE_SIZE,
			.tx_queue_size = VIRTIO_NET_DEFAULT_QUEUE_SIZE };
	return r;
}

/* QEMU's virtio-net feature switches */
static const struct {
	const char *name;
	unsigned bit;
} net_feature_props[] = {
	{ "csum", VIRTIO_NET_F_CSUM },
	{ "guest_csum", VIRTIO_NET_F_GUEST_CSUM },
	{ "ctrl_guest_offloads", VIRTIO_NET_F_CTRL_GUEST_OFFLOADS },
	{ "guest_tso4", VIRTIO_NET_F_GUEST_TSO4 },
	{ "guest_tso6", VIRTIO_NET_F_GUEST_TSO6 },
	{ "guest_ecn", VIRTIO_NET_F_GUEST_ECN },
	{ "guest_ufo", VIRTIO_NET_F_GUEST_UFO },
	{ "host_tso4", VIRTIO_NET_F_HOST_TSO4 },
	{ "host_tso6", VIRTIO_NET_F_HOST_TSO6 },
	{ "host_ecn", VIRTIO_NET_F_HOST_ECN },
	{ "host_ufo", VIRTIO_NET_F_HOST_UFO },
	{ "mrg_rxbuf", VIRTIO_NET_F_MRG_RXBUF },
	{ "status", VIRTIO_NET_F_STATUS },
	{ "ctrl_vq", VIRTIO_NET_F_CTRL_VQ },
	{ "ctrl_rx", VIRTIO_NET_F_CTRL_RX },
	{ "ctrl_vlan", VIRTIO_NET_F_CTRL_VLAN },
	{ "ctrl_rx_extra", VIRTIO_NET_F_CTRL_RX_EXTRA },
	{ "guest_announce", VIRTIO_NET_F_GUEST_ANNOUNCE },
	{ "ctrl_mac_addr", VIRTIO_NET_F_CTRL_MAC_ADDR },
};

static enum cli_result net_queue_size(struct cli *c, const struct kv *kv, unsigned *size)
{
	uint64_t n;
	if (kv_number(c, kv, &n) != CLI_RUN)
		return CLI_ERROR;
	if (n < 4 || n > VIRTIO_NET_MAX_QUEUE_SIZE || (n & (n - 1)))
		return cli_fail(c, "%.*s=%.*s: expected a power of two in 4..%d", (int)kv->key_len,
				kv->key, (int)kv->val_len, kv->val, VIRTIO_NET_MAX_QUEUE_SIZE);
	*size = (unsigned)n;
	return CLI_RUN;
}

static enum cli_result net_param(struct device_parse *d, const struct kv *kv)
{
	struct cli *c = d->c;
	struct virtio_net_config *n = &d->virtio->net;
	if (kv_key_is(kv, "netdev"))
		return kv_string(c, kv, &n->netdev_id);
	if (kv_key_is(kv, "mac")) {
		if (!cli_parse_mac(kv->val, kv->val_len, n->mac) || (n->mac[0] & 1))
			return cli_fail(c, "mac=%.*s: expected a unicast address, e.g. 52:54:00:12:34:56",
					(int)kv->val_len, kv->val);
		n->has_mac = true;
		return CLI_RUN;
	}
	if (kv_key_is(kv, "mq"))
		return kv_bool(c, kv, &n->mq);
	if (kv_key_is(kv, "rx_queue_size"))
		return net_queue_size(c, kv, &n->rx_queue_size);
	if (kv_key_is(kv, "tx_queue_size"))
		return net_queue_size(c, kv, &n->tx_queue_size);
	for (size_t i = 0; i < sizeof(net_feature_props) / sizeof(net_feature_props[0]); i++) {
		if (!kv_key_is(kv, net_feature_props[i].name))
			continue;
		bool on;
		if (kv_bool(c, kv, &on) != CLI_RUN)
			return CLI_ERROR;
		uint64_t bit = 1ull << net_feature_props[i].bit;
		n->features_off = on ? n->features_off & ~bit : n->features_off | bit;
		return CLI_RUN;
	}
	return is_mmio(d) ? virtio_mmio_param(d, kv) : virtio_common_param(d, kv);
}

static enum cli_result net_end(struct device_parse *d)
{
	if (!d->virtio->net.netdev_id)
		return cli_fail(d->c, "%s needs netdev=ID (the id= of a -netdev)", d->name);
	return virtio_end(d);
}

static enum cli_result vhost_user_blk_start(struct device_parse *d)
{
	enum cli_result r = virtio_start(d, VIRTIO_DEVICE_VHOST_USER_BLK);
	if (r == CLI_RUN)
		d->virtio->vhost_user_blk = (struct vhost_user_blk_config){
			.queue_size = VIRTIO_BLK_DEFAULT_QUEUE_SIZE };
	return r;
}

static enum cli_result vhost_user_blk_param(struct device_parse *d, const struct kv *kv)
{
	struct cli *c = d->c;
	struct vhost_user_blk_config *v = &d->virtio->vhost_user_blk;
	if (kv_key_is(kv, "chardev"))
		return kv_string(c, kv, &v->chardev_id);
	enum cli_result r = disk_queues_param(c, kv, &v->num_queues, &v->queue_size);
	if (r != CLI_DONE)
		return r;
	return virtio_common_param(d, kv);
}

static enum cli_result vhost_user_blk_end(struct device_parse *d)
{
	if (!d->virtio->vhost_user_blk.chardev_id)
		return cli_fail(d->c, "vhost-user-blk-pci needs chardev=ID (a -chardev socket)");
	return virtio_end(d);
}

/* ---- virtio-serial-pci and its ports ---- */

static enum cli_result serial_start(struct device_parse *d)
{
	enum cli_result r = virtio_start(d, VIRTIO_DEVICE_SERIAL);
	if (r == CLI_RUN) {
		d->virtio->serial.max_ports = VIRTIO_SERIAL_MAX_PORTS;
		/* QEMU's: one vector for the queues, one for the configuration */
		if (!is_mmio(d))
			d->virtio->common.vectors = 2;
	}
	return r;
}

static enum cli_result serial_param(struct device_parse *d, const struct kv *kv)
{
	if (kv_key_is(kv, "max_ports")) {
		uint64_t n;
		if (kv_number(d->c, kv, &n) != CLI_RUN)
			return CLI_ERROR;
		if (n < 1 || n > VIRTIO_SERIAL_MAX_PORTS)
			return cli_fail(d->c, "max_ports=%.*s is outside 1..%d", (int)kv->val_len,
					kv->val, VIRTIO_SERIAL_MAX_PORTS);
		d->virtio->serial.max_ports = (unsigned)n;
		return CLI_RUN;
	}
	return is_mmio(d) ? virtio_mmio_param(d, kv) : virtio_common_param(d, kv);
}

static enum cli_result port_start(struct device_parse *d, bool console)
{
	struct vm_config *cfg = d->c->cfg;
	if (cfg->nr_serial_ports == VM_MAX_SERIAL_PORTS)
		return cli_fail(d->c, "more than %d virtio console ports", VM_MAX_SERIAL_PORTS);
	d->port = &cfg->serial_ports[cfg->nr_serial_ports];
	*d->port = (struct virtio_serial_port_config){ .console = console, .chardev = -1 };
	return CLI_RUN;
}

static enum cli_result console_start(struct device_parse *d)
{
	return port_start(d, true);
}

static enum cli_result serialport_start(struct device_parse *d)
{
	return port_start(d, false);
}

static enum cli_result port_param(struct device_parse *d, const struct kv *kv)
{
	struct virtio_serial_port_config *p = d->port;
	if (kv_key_is(kv, "chardev"))
		return kv_string(d->c, kv, &p->chardev_id);
	if (kv_key_is(kv, "name"))
		return kv_string(d->c, kv, &p->name);
	if (kv_key_is(kv, "bus"))
		return kv_string(d->c, kv, &p->bus_id);
	if (kv_key_is(kv, "nr")) {
		uint64_t n;
		if (kv_number(d->c, kv, &n) != CLI_RUN)
			return CLI_ERROR;
		if (n >= VIRTIO_SERIAL_MAX_PORTS)
			return cli_fail(d->c, "nr=%.*s is above %d", (int)kv->val_len, kv->val,
					VIRTIO_SERIAL_MAX_PORTS - 1);
		p->nr = (unsigned)n;
		p->nr_given = true;
		return CLI_RUN;
	}
	return CLI_DONE;
}

/* The bus: bus=ID.0 names a virtio-serial-pci's id; without it, the last
 * one given before the port, as QEMU finds the bus at that point */
static enum cli_result port_end(struct device_parse *d)
{
	struct vm_config *cfg = d->c->cfg;
	struct virtio_serial_port_config *p = d->port;
	int bus = -1;
	for (int i = (int)cfg->nr_virtio - 1; i >= 0 && bus < 0; i--) {
		const struct virtio_device_config *v = &cfg->virtio[i];
		if (v->type != VIRTIO_DEVICE_SERIAL)
			continue;
		if (!p->bus_id)
			bus = i;
		else if (v->id && !strncmp(p->bus_id, v->id, strlen(v->id)) &&
			 !strcmp(p->bus_id + strlen(v->id), ".0"))
			bus = i;
	}
	if (bus < 0) {
		if (p->bus_id)
			return cli_fail(d->c, "%s: bus '%s' is not a virtio-serial-pci (bus=ID.0 with "
					      "the id= of one)",
					d->name, p->bus_id);
		return cli_fail(d->c, "%s needs a virtio-serial bus: give -device virtio-serial-pci "
				      "(virtio-serial-device on microvm) before it",
				d->name);
	}
	p->bus = (unsigned)bus;
	if (p->nr_given && p->nr == 0 && !p->console)
		return cli_fail(d->c, "port number 0 is kept for virtconsole (as in QEMU)");
	cfg->nr_serial_ports++;
	return CLI_RUN;
}

#define VIRTIO_MMIO_USAGE "[,packed=on|off][,event_idx=on|off][,indirect_desc=on|off]"
#define VIRTIO_COMMON_USAGE VIRTIO_MMIO_USAGE "[,vectors=N]"

static const struct device_kind kinds[] = {
	{ "isa-debug-exit", "[,iobase=N][,iosize=N]",
	  "a guest write of V ends minivmm with status (V << 1) | 1", debug_exit_param,
	  debug_exit_start, debug_exit_end },
	{ "pc-testdev", "", "QEMU's test device for kvm-unit-tests", no_param, NULL, testdev_end },
	{ "virtio-rng-pci", "[,max-bytes=N][,period=MS]" VIRTIO_COMMON_USAGE,
	  "entropy from the host (getrandom), at most max-bytes per period", rng_param, rng_start,
	  virtio_end },
	{ "virtio-blk-pci",
	  ",drive=ID[,bootindex=N][,num-queues=N][,queue-size=N][,serial=S][,discard=on|off][,write-zeroes=on|off]" VIRTIO_COMMON_USAGE,
	  "a disk: the -drive with id=ID (if=none); -drive if=virtio adds one by itself",
	  blk_param, blk_start, blk_end },
	{ "virtio-rng-device", "[,max-bytes=N][,period=MS]" VIRTIO_MMIO_USAGE,
	  "virtio-rng-pci on virtio-mmio (-M microvm)", rng_param, rng_start, virtio_end },
	{ "virtio-blk-device",
	  ",drive=ID[,num-queues=N][,queue-size=N][,serial=S][,discard=on|off][,write-zeroes=on|off]" VIRTIO_MMIO_USAGE,
	  "virtio-blk-pci on virtio-mmio (-M microvm); there, -drive if=virtio adds one",
	  blk_param, blk_start, blk_end },
	{ "virtio-net-pci",
	  ",netdev=ID[,mac=ADDR][,mq=on|off][,rx_queue_size=N][,tx_queue_size=N][,csum=,guest_csum=,"
	  "host_tso4=,...,mrg_rxbuf=,ctrl_vq=,...on|off]" VIRTIO_COMMON_USAGE,
	  "a network card on the -netdev with id=ID; mq=on: a queue pair per tap queue",
	  net_param, net_start, net_end },
	{ "virtio-net-device",
	  ",netdev=ID[,mac=ADDR][,rx_queue_size=N][,tx_queue_size=N][,csum=,guest_csum=,"
	  "host_tso4=,...,mrg_rxbuf=,ctrl_vq=,...on|off]" VIRTIO_MMIO_USAGE,
	  "virtio-net-pci on virtio-mmio (-M microvm); there, -nic adds one",
	  net_param, net_start, net_end },
	{ "vhost-user-blk-pci", ",chardev=ID[,num-queues=N][,queue-size=N]" VIRTIO_COMMON_USAGE,
	  "a disk served by a vhost-user back-end on the -chardev socket with id=ID "
	  "(needs -object memory-backend-memfd,...,share=on -machine memory-backend=...)",
	  vhost_user_blk_param, vhost_user_blk_start, vhost_user_blk_end },
	{ "virtio-serial-pci", "[,max_ports=N]" VIRTIO_COMMON_USAGE,
	  "a bus of console ports (virtio-console, multiport) for virtconsole and virtserialport",
	  serial_param, serial_start, virtio_end },
	{ "virtio-serial", "", "the same as virtio-serial-pci", serial_param, serial_start,
	  virtio_end },
	{ "virtio-serial-device", "[,max_ports=N]" VIRTIO_MMIO_USAGE,
	  "virtio-serial-pci on virtio-mmio (-M microvm)", serial_param, serial_start, virtio_end },
	{ "virtconsole", "[,chardev=ID][,name=NAME][,nr=N][,bus=ID.0]",
	  "a console port (Linux: hvc0, console=hvc0) on the -chardev with id=ID", port_param,
	  console_start, port_end },
	{ "virtserialport", "[,chardev=ID][,name=NAME][,nr=N][,bus=ID.0]",
	  "a port (Linux: /dev/vportNpM, /dev/virtio-ports/NAME) on the -chardev with id=ID",
	  port_param, serialport_start, port_end },
};

#define NR_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static void device_help(struct cli *c)
{
	fprintf(c->out, "Supported devices:\n");
	for (size_t i = 0; i < NR_KINDS; i++)
		fprintf(c->out, "  %s%s\n      %s\n", kinds[i].name, kinds[i].usage, kinds[i].help);
	fprintf(c->out, "The virtio devices' defaults: packed, event_idx and indirect_desc on, "
			"vectors as QEMU (queues + 1).\n");
}

enum cli_result opt_device(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "driver" };
	struct kv kv;
	const struct device_kind *kind = NULL;
	struct device_parse d = { .c = c };
	const char *id = NULL;

	while (kv_next(&it, &kv)) {
		if (kv_key_is(&kv, "driver")) {
			if (kind)
				return cli_fail(c, "driver given twice");
			if (kv_val_is(&kv, "help")) {
				device_help(c);
				return CLI_DONE;
			}
			for (size_t i = 0; i < NR_KINDS && !kind; i++)
				if (kv_val_is(&kv, kinds[i].name))
					kind = &kinds[i];
			if (!kind)
				return cli_fail(c, "unsupported device '%.*s' (-device help lists the "
						   "supported ones)",
						(int)kv.val_len, kv.val);
			d.name = kind->name;
			if (kind->start && kind->start(&d) != CLI_RUN)
				return CLI_ERROR;
		} else if (kv_key_is(&kv, "id")) {
			/* names a device for the monitor, which minivmm does not have */
			if (kv_string(c, &kv, &id) != CLI_RUN)
				return CLI_ERROR;
		} else if (!kind) {
			return cli_fail(c, "missing device name");
		} else if (!kv.key) {
			return kv_unknown(c, &kv);
		} else {
			enum cli_result r = kind->param(&d, &kv);
			if (r == CLI_ERROR)
				return r;
			if (r == CLI_DONE)
				return cli_fail(c, "%s has no parameter '%.*s'", kind->name,
						(int)kv.key_len, kv.key);
		}
	}
	if (!kind)
		return cli_fail(c, "missing device name");
	if (d.virtio)
		d.virtio->id = id;
	return kind->end(&d);
}

/* ---- what the whole command line decides ---- */

static const char *device_name(const struct virtio_device_config *v)
{
	static const char *const names[][2] = {
		[VIRTIO_DEVICE_RNG] = { "virtio-rng-pci", "virtio-rng-device" },
		[VIRTIO_DEVICE_BLK] = { "virtio-blk-pci", "virtio-blk-device" },
		[VIRTIO_DEVICE_NET] = { "virtio-net-pci", "virtio-net-device" },
		[VIRTIO_DEVICE_VHOST_USER_BLK] = { "vhost-user-blk-pci", "vhost-user-blk" },
		[VIRTIO_DEVICE_SERIAL] = { "virtio-serial-pci", "virtio-serial-device" },
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == VIRTIO_DEVICE_NR_TYPES,
		       "a name for every virtio device type");
	return names[v->type][v->transport == VIRTIO_TRANSPORT_MMIO];
}

static int drive_index(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].id && !strcmp(cfg->drives[i].id, id))
			return (int)i;
	return -1;
}

/* Network cards: each -device virtio-net-pci names a -netdev no other
 * card uses; each -nic adds its card; cards without mac= get QEMU's
 * 52:54:00:12:34:56, plus one for each card before */
static enum cli_result net_cards_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;
	bool used[VM_MAX_NETDEVS] = { false };

	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct virtio_net_config *n = &cfg->virtio[i].net;
		if (cfg->virtio[i].type != VIRTIO_DEVICE_NET)
			continue;
		const struct netdev_config *nd = vm_config_find_netdev(cfg, n->netdev_id);
		if (!nd)
			return cli_fail(c, "netdev=%s names no -netdev", n->netdev_id);
		unsigned k = (unsigned)(nd - cfg->netdevs);
		if (used[k])
			return cli_fail(c, "netdev '%s' is used by two network cards", n->netdev_id);
		used[k] = true;
		n->netdev = k;
	}
	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		const struct nic_config *nic = &cfg->nics[i];
		c->opt = "-nic";
		/* microvm has no PCI: there it is a virtio-net-device */
		struct device_parse p = { .c = c, .name = cfg->machine == MACHINE_MICROVM ?
								 "virtio-net-device" :
								 "virtio-net-pci" };
		if (net_start(&p) != CLI_RUN)
			return CLI_ERROR;
		struct virtio_net_config *n = &p.virtio->net;
		n->netdev_id = nic->netdev;
		n->netdev = (unsigned)(vm_config_find_netdev(cfg, nic->netdev) - cfg->netdevs);
		n->has_mac = nic->has_mac;
		memcpy(n->mac, nic->mac, 6);
		cfg->nr_virtio++;
	}
	unsigned index = 0;
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct virtio_net_config *n = &cfg->virtio[i].net;
		if (cfg->virtio[i].type != VIRTIO_DEVICE_NET)
			continue;
		if (!n->has_mac) {
			static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
			memcpy(n->mac, base, 6);
			n->mac[5] = (uint8_t)(base[5] + index);
			n->has_mac = true;
		}
		index++;
	}
	c->opt = "-device";
	return CLI_RUN;
}

/* Ports get their back-ends, and numbers as QEMU gives them: a
 * virtconsole port 0 when it is free, everything else the first free
 * number from 1 (0 is the console's) */
static enum cli_result cli_serial_ports_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;
	c->opt = "-device";
	for (unsigned i = 0; i < cfg->nr_serial_ports; i++) {
		struct virtio_serial_port_config *p = &cfg->serial_ports[i];
		const char *kind = p->console ? "virtconsole" : "virtserialport";
		unsigned max = cfg->virtio[p->bus].serial.max_ports;
		bool taken[VIRTIO_SERIAL_MAX_PORTS] = { false };
		for (unsigned j = 0; j < i; j++)
			if (cfg->serial_ports[j].bus == p->bus)
				taken[cfg->serial_ports[j].nr] = true;
		if (!p->nr_given) {
			unsigned nr = p->console && !taken[0] ? 0 : 1;
			while (nr < max && taken[nr])
				nr++;
			if (nr >= max)
				return cli_fail(c, "%s: all %u ports of the virtio-serial bus are taken "
						   "(max_ports=)",
						kind, max);
			p->nr = nr;
		} else if (p->nr >= max) {
			return cli_fail(c, "%s: nr=%u is not below max_ports=%u", kind, p->nr, max);
		} else if (taken[p->nr]) {
			return cli_fail(c, "%s: port %u is already taken", kind, p->nr);
		}
		if (p->chardev_id) {
			const struct chardev_config *cd = cli_chardev_claim(c, p->chardev_id, kind);
			if (!cd)
				return CLI_ERROR;
			p->chardev = (int)(cd - cfg->chardevs);
		}
	}
	return CLI_RUN;
}

enum cli_result cli_devices_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;
	bool used[VM_MAX_DRIVES] = { false };

	c->opt = "-device";
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct virtio_blk_config *b = &cfg->virtio[i].blk;
		const char *name = device_name(&cfg->virtio[i]);
		if (cfg->virtio[i].transport == VIRTIO_TRANSPORT_PCI && cfg->machine == MACHINE_MICROVM)
			return cli_fail(c, "%s: -M microvm has no PCI bus (use the virtio-*-device "
					   "form)",
					name);
		if (cfg->virtio[i].transport == VIRTIO_TRANSPORT_MMIO && cfg->machine != MACHINE_MICROVM)
			return cli_fail(c, "%s: the pc machine has no virtio-mmio bus (use the "
					   "virtio-*-pci form, or -M microvm)",
					name);
		if (cfg->virtio[i].type != VIRTIO_DEVICE_BLK)
			continue;
		int d = drive_index(cfg, b->drive_id);
		if (d < 0)
			return cli_fail(c, "%s: drive=%s names no -drive (give it id=%s)", name,
					b->drive_id, b->drive_id);
		const struct drive_config *dc = &cfg->drives[d];
		if (used[d])
			return cli_fail(c, "drive '%s' is used by two devices", b->drive_id);
		if (dc->interface != DRIVE_IF_NONE)
			return cli_fail(c, "drive '%s' already has a device of its own (if=%s): give "
					   "it if=none",
					b->drive_id, dc->interface == DRIVE_IF_VIRTIO ? "virtio" : "ide");
		if (dc->readonly && ((b->discard_given && b->discard) ||
				     (b->write_zeroes_given && b->write_zeroes)))
			return cli_fail(c, "%s: drive '%s' is read-only, so it cannot take %s=on",
					name, b->drive_id, b->discard_given && b->discard ? "discard" :
										       "write-zeroes");
		used[d] = true;
		b->drive = (unsigned)d;
	}
	/* QEMU's if=virtio: a virtio-blk-pci with its defaults, after the
	 * -device ones */
	for (unsigned d = 0; d < cfg->nr_drives; d++) {
		if (cfg->drives[d].interface != DRIVE_IF_VIRTIO)
			continue;
		c->opt = "-drive";
		/* microvm has no PCI: there it is a virtio-blk-device */
		struct device_parse p = { .c = c, .name = cfg->machine == MACHINE_MICROVM ?
								 "virtio-blk-device" :
								 "virtio-blk-pci" };
		if (blk_start(&p) != CLI_RUN)
			return CLI_ERROR;
		p.virtio->blk.drive_id = cfg->drives[d].id;
		p.virtio->blk.drive = d;
		cfg->nr_virtio++;
	}
	if (net_cards_finish(c) != CLI_RUN)
		return CLI_ERROR;
	unsigned nr_mmio = 0;
	for (unsigned i = 0; i < cfg->nr_virtio; i++)
		nr_mmio += cfg->virtio[i].transport == VIRTIO_TRANSPORT_MMIO;
	if (nr_mmio > VIRTIO_MMIO_MAX_DEVICES)
		return cli_fail(c, "%u virtio-mmio devices: -M microvm has %d transports", nr_mmio,
				VIRTIO_MMIO_MAX_DEVICES);
	/* vhost-user-blk-pci: a client of a unix socket the back-end listens on */
	c->opt = "-device";
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct vhost_user_blk_config *v = &cfg->virtio[i].vhost_user_blk;
		if (cfg->virtio[i].type != VIRTIO_DEVICE_VHOST_USER_BLK)
			continue;
		const struct chardev_config *cd =
			cli_chardev_claim(c, v->chardev_id, "vhost-user-blk-pci");
		if (!cd)
			return CLI_ERROR;
		if (cd->kind != CHARDEV_SOCKET || cd->tcp || cd->server)
			return cli_fail(c, "vhost-user-blk-pci: chardev '%s' must be a unix socket "
					   "client (-chardev socket,id=%s,path=PATH)",
					v->chardev_id, v->chardev_id);
		v->path = cd->path;
		if (!cfg->ram_memfd || !cfg->ram_shared)
			return cli_fail(c, "vhost-user-blk-pci: the back-end must map guest RAM: give "
					   "-object memory-backend-memfd,id=mem,size=%lluM,share=on "
					   "-machine memory-backend=mem",
					(unsigned long long)(cfg->ram_size >> 20));
	}
	if (cli_serial_ports_finish(c) != CLI_RUN)
		return CLI_ERROR;
	/* the default number of queues is one per vCPU, as QEMU's */
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct virtio_blk_config *b = &cfg->virtio[i].blk;
		if (cfg->virtio[i].type == VIRTIO_DEVICE_BLK && !b->num_queues)
			b->num_queues = cfg->smp < VIRTIO_BLK_MAX_QUEUES ? cfg->smp : VIRTIO_BLK_MAX_QUEUES;
	}
	return CLI_RUN;
}
