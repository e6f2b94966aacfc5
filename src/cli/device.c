/* -device: the devices a user adds by name, with QEMU's property names.
 * Each kind parses its own properties; what needs the whole command line
 * (a drive= naming a -drive given later, if=virtio drives getting a
 * virtio-blk-pci of their own) is checked in cli_devices_finish. */
#include "cli/cli_internal.h"

#include <string.h>

#define RNG_DEFAULT_PERIOD_MS 65536	/* QEMU's */

struct device_parse {
	struct cli *c;
	const char *name;
	struct virtio_device_config *virtio;	/* NULL for the ISA devices */
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

static enum cli_result virtio_start(struct device_parse *d, enum virtio_device_type type)
{
	struct vm_config *cfg = d->c->cfg;
	if (cfg->nr_virtio == VM_MAX_VIRTIO_DEVICES)
		return cli_fail(d->c, "more than %d virtio devices", VM_MAX_VIRTIO_DEVICES);
	d->virtio = &cfg->virtio[cfg->nr_virtio];
	memset(d->virtio, 0, sizeof(*d->virtio));
	d->virtio->type = type;
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
	return virtio_common_param(d, kv);
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
			.write_zeroes = true };
	return r;
}

static enum cli_result blk_param(struct device_parse *d, const struct kv *kv)
{
	struct cli *c = d->c;
	struct virtio_blk_config *b = &d->virtio->blk;
	if (kv_key_is(kv, "drive"))
		return kv_string(c, kv, &b->drive_id);
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
	return virtio_common_param(d, kv);
}

static enum cli_result blk_end(struct device_parse *d)
{
	if (!d->virtio->blk.drive_id)
		return cli_fail(d->c, "virtio-blk-pci needs drive=ID (the id= of a -drive)");
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

#define VIRTIO_COMMON_USAGE "[,packed=on|off][,event_idx=on|off][,indirect_desc=on|off][,vectors=N]"

static const struct device_kind kinds[] = {
	{ "isa-debug-exit", "[,iobase=N][,iosize=N]",
	  "a guest write of V ends minivmm with status (V << 1) | 1", debug_exit_param,
	  debug_exit_start, debug_exit_end },
	{ "pc-testdev", "", "QEMU's test device for kvm-unit-tests", no_param, NULL, testdev_end },
	{ "virtio-rng-pci", "[,max-bytes=N][,period=MS]" VIRTIO_COMMON_USAGE,
	  "entropy from the host (getrandom), at most max-bytes per period", rng_param, rng_start,
	  virtio_end },
	{ "virtio-blk-pci",
	  ",drive=ID[,num-queues=N][,queue-size=N][,serial=S][,discard=on|off][,write-zeroes=on|off]" VIRTIO_COMMON_USAGE,
	  "a disk: the -drive with id=ID (if=none); -drive if=virtio adds one by itself",
	  blk_param, blk_start, blk_end },
	{ "vhost-user-blk-pci", ",chardev=ID[,num-queues=N][,queue-size=N]" VIRTIO_COMMON_USAGE,
	  "a disk served by a vhost-user back-end on the -chardev socket with id=ID "
	  "(needs -object memory-backend-memfd,...,share=on -machine memory-backend=...)",
	  vhost_user_blk_param, vhost_user_blk_start, vhost_user_blk_end },
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

static int drive_index(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].id && !strcmp(cfg->drives[i].id, id))
			return (int)i;
	return -1;
}

enum cli_result cli_devices_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;
	bool used[VM_MAX_DRIVES] = { false };

	c->opt = "-device";
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct virtio_blk_config *b = &cfg->virtio[i].blk;
		if (cfg->virtio[i].type != VIRTIO_DEVICE_BLK)
			continue;
		int d = drive_index(cfg, b->drive_id);
		if (d < 0)
			return cli_fail(c, "virtio-blk-pci: drive=%s names no -drive (give it id=%s)",
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
			return cli_fail(c, "virtio-blk-pci: drive '%s' is read-only, so it cannot "
					   "take %s=on",
					b->drive_id, b->discard_given && b->discard ? "discard" :
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
		struct device_parse p = { .c = c };
		if (blk_start(&p) != CLI_RUN)
			return CLI_ERROR;
		p.virtio->blk.drive_id = cfg->drives[d].id;
		p.virtio->blk.drive = d;
		cfg->nr_virtio++;
	}
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
	/* the default number of queues is one per vCPU, as QEMU's */
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		struct virtio_blk_config *b = &cfg->virtio[i].blk;
		if (cfg->virtio[i].type == VIRTIO_DEVICE_BLK && !b->num_queues)
			b->num_queues = cfg->smp < VIRTIO_BLK_MAX_QUEUES ? cfg->smp : VIRTIO_BLK_MAX_QUEUES;
	}
	return CLI_RUN;
}
