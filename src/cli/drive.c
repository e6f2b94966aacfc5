/* -drive: an image and how to open it, with QEMU's keys and defaults.
 * What needs the whole command line (duplicate ids, the ids made up for
 * if=virtio drives) is checked in cli_drives_finish. */
#include "cli/cli_internal.h"

#include <string.h>

#include "block/block.h"

/* QEMU names if=virtio drives without id= "virtio0", "virtio1", ... */
static const char *const virtio_drive_ids[VM_MAX_DRIVES] = {
	"virtio0",  "virtio1",	"virtio2",  "virtio3",	"virtio4",  "virtio5",
	"virtio6",  "virtio7",	"virtio8",  "virtio9",	"virtio10", "virtio11",
	"virtio12", "virtio13", "virtio14", "virtio15",
};

struct name_value {
	const char *name;
	int value;
};

static const struct name_value drive_formats[] = {
	{ "raw", DRIVE_FORMAT_RAW },
	{ "qcow2", DRIVE_FORMAT_QCOW2 },
};

static const struct name_value drive_interfaces[] = {
	{ "none", DRIVE_IF_NONE },
	{ "virtio", DRIVE_IF_VIRTIO },
	{ "ide", DRIVE_IF_IDE },
};

static const struct name_value drive_caches[] = {
	{ "writeback", DRIVE_CACHE_WRITEBACK },	  { "none", DRIVE_CACHE_NONE },
	{ "writethrough", DRIVE_CACHE_WRITETHROUGH }, { "directsync", DRIVE_CACHE_DIRECTSYNC },
	{ "unsafe", DRIVE_CACHE_UNSAFE },
};

static const struct name_value drive_aios[] = {
	{ "threads", DRIVE_AIO_THREADS },
	{ "io_uring", DRIVE_AIO_IO_URING },
};

/* QEMU takes on/off for discard= too */
static const struct name_value drive_discards[] = {
	{ "ignore", DRIVE_DISCARD_IGNORE }, { "off", DRIVE_DISCARD_IGNORE },
	{ "unmap", DRIVE_DISCARD_UNMAP },   { "on", DRIVE_DISCARD_UNMAP },
};

static const struct name_value drive_detect_zeroes[] = {
	{ "off", DRIVE_DETECT_ZEROES_OFF },
	{ "on", DRIVE_DETECT_ZEROES_ON },
	{ "unmap", DRIVE_DETECT_ZEROES_UNMAP },
};

#define NV(table) table, sizeof(table) / sizeof(table[0])

/* kv's value looked up in table; else one line listing the choices */
static enum cli_result kv_choice(struct cli *c, const struct kv *kv, const struct name_value *table,
				 size_t n, int *value)
{
	char choices[160] = "";
	for (size_t i = 0; i < n; i++) {
		if (kv_val_is(kv, table[i].name)) {
			*value = table[i].value;
			return CLI_RUN;
		}
		size_t used = strlen(choices);
		snprintf(choices + used, sizeof(choices) - used, "%s%s", i ? ", " : "",
			 table[i].name);
	}
	return cli_fail(c, "%.*s=%.*s is not supported (%s)", (int)kv->key_len, kv->key,
			(int)kv->val_len, kv->val, choices);
}

/* A made-up or user id must look like QEMU's: a letter, then letters,
 * digits, '-', '.', '_' */
static bool drive_id_valid(const char *id)
{
	if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
	       strlen(id);
}

/* cache= as QEMU defines it: direct (O_DIRECT), no-flush, and whether the
 * guest sees a write cache */
static void drive_cache_mode(struct drive_config *d)
{
	d->direct = d->cache == DRIVE_CACHE_NONE || d->cache == DRIVE_CACHE_DIRECTSYNC;
	d->no_flush = d->cache == DRIVE_CACHE_UNSAFE;
	d->writethrough = d->cache == DRIVE_CACHE_WRITETHROUGH ||
			  d->cache == DRIVE_CACHE_DIRECTSYNC;
}

enum cli_result opt_drive(struct cli *c, const char *arg)
{
	struct vm_config *cfg = c->cfg;
	struct kv_iter it = { .p = arg, .implied = "file" };
	struct kv kv;
	bool if_given = false, direct_given = false, no_flush_given = false;
	bool direct = false, no_flush = false;
	int v;

	if (cfg->nr_drives >= VM_MAX_DRIVES)
		return cli_fail(c, "too many drives (at most %d)", VM_MAX_DRIVES);
	struct drive_config *d = &cfg->drives[cfg->nr_drives];
	*d = (struct drive_config){ .interface = DRIVE_IF_IDE, .index = -1 };

	struct kv seen[24];
	unsigned nseen = 0;
	while (kv_next(&it, &kv)) {
		enum cli_result r = CLI_RUN;
		/* which of two values was meant is anyone's guess */
		for (unsigned i = 0; kv.key && i < nseen; i++)
			if (seen[i].key_len == kv.key_len && !memcmp(seen[i].key, kv.key, kv.key_len))
				return cli_fail(c, "%.*s= is given twice", (int)kv.key_len, kv.key);
		if (kv.key && nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = kv;
		if (!kv.key) {
			r = kv_unknown(c, &kv);
		} else if (kv_key_is(&kv, "file")) {
			if (!kv.val_len)
				return cli_fail(c, "file= is empty");
			r = kv_string(c, &kv, &d->file);
		} else if (kv_key_is(&kv, "format")) {
			if ((r = kv_choice(c, &kv, NV(drive_formats), &v)) == CLI_RUN)
				d->format = (enum drive_format)v;
		} else if (kv_key_is(&kv, "if")) {
			if ((r = kv_choice(c, &kv, NV(drive_interfaces), &v)) == CLI_RUN)
				d->interface = (enum drive_interface)v;
			if_given = true;
		} else if (kv_key_is(&kv, "id")) {
			if ((r = kv_string(c, &kv, &d->id)) == CLI_RUN && !drive_id_valid(d->id))
				r = cli_fail(c, "id=%s: an id starts with a letter and holds "
						"letters, digits, '-', '.' and '_'",
					     d->id);
		} else if (kv_key_is(&kv, "readonly")) {
			r = kv_bool(c, &kv, &d->readonly);
		} else if (kv_key_is(&kv, "cache")) {
			if ((r = kv_choice(c, &kv, NV(drive_caches), &v)) == CLI_RUN)
				d->cache = (enum drive_cache)v;
		} else if (kv_key_is(&kv, "cache.direct")) {
			r = kv_bool(c, &kv, &direct);
			direct_given = true;
		} else if (kv_key_is(&kv, "cache.no-flush")) {
			r = kv_bool(c, &kv, &no_flush);
			no_flush_given = true;
		} else if (kv_key_is(&kv, "aio")) {
			if (kv_val_is(&kv, "native"))
				return cli_fail(c, "aio=native (Linux AIO) is not supported: use "
						   "threads or io_uring");
			if ((r = kv_choice(c, &kv, NV(drive_aios), &v)) == CLI_RUN)
				d->aio = (enum drive_aio)v;
		} else if (kv_key_is(&kv, "discard")) {
			if ((r = kv_choice(c, &kv, NV(drive_discards), &v)) == CLI_RUN)
				d->discard = (enum drive_discard)v;
		} else if (kv_key_is(&kv, "detect-zeroes")) {
			if ((r = kv_choice(c, &kv, NV(drive_detect_zeroes), &v)) == CLI_RUN)
				d->detect_zeroes = (enum drive_detect_zeroes)v;
		} else if (kv_key_is(&kv, "serial")) {
			if (kv.val_len > 20)
				return cli_fail(c, "serial=%.*s is longer than 20 characters",
						(int)kv.val_len, kv.val);
			r = kv_string(c, &kv, &d->serial);
		} else if (kv_key_is(&kv, "media")) {
			if (kv_val_is(&kv, "cdrom"))
				d->cdrom = true;
			else if (!kv_val_is(&kv, "disk"))
				return cli_fail(c, "media=%.*s: disk or cdrom", (int)kv.val_len,
						kv.val);
		} else if (kv_key_is(&kv, "index")) {
			uint64_t n;
			if (!parse_u64(kv.val, kv.val_len, &n) || n > 3)
				return cli_fail(c, "index=%.*s: 0 to 3 (IDE: primary master, slave, "
						   "secondary master, slave)",
						(int)kv.val_len, kv.val);
			d->index = (int)n;
		} else {
			r = kv_unknown(c, &kv);
		}
		if (r != CLI_RUN)
			return r;
	}

	if (!d->file)
		return cli_fail(c, "missing file= (an empty drive is not supported)");
	(void)if_given;	/* without if=, an IDE drive, as in QEMU */
	if (d->cdrom && d->interface != DRIVE_IF_IDE)
		return cli_fail(c, "media=cdrom needs if=ide (a CD-ROM is an IDE drive)");
	if (d->index >= 0 && d->interface != DRIVE_IF_IDE)
		return cli_fail(c, "index= applies to if=ide drives only");
	if (d->cdrom)
		d->readonly = true;
	if (d->interface == DRIVE_IF_NONE && !d->id)
		return cli_fail(c, "if=none needs id= (the name -device drive= refers to)");
	if (d->detect_zeroes == DRIVE_DETECT_ZEROES_UNMAP && d->discard != DRIVE_DISCARD_UNMAP)
		return cli_fail(c, "detect-zeroes=unmap needs discard=unmap");
	drive_cache_mode(d);
	if (direct_given)
		d->direct = direct;
	if (no_flush_given)
		d->no_flush = no_flush;
	if (d->direct && blk_is_nbd_uri(d->file))
		return cli_fail(c, "cache.direct (O_DIRECT) does not apply to NBD: use "
				   "cache=writeback or writethrough");
	cfg->nr_drives++;
	return CLI_RUN;
}

enum cli_result cli_drives_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;
	unsigned virtio_index = 0;

	c->opt = "-drive";
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		struct drive_config *d = &cfg->drives[i];
		if (d->interface == DRIVE_IF_VIRTIO && !d->id)
			d->id = virtio_drive_ids[virtio_index];
		if (d->interface == DRIVE_IF_VIRTIO)
			virtio_index++;
	}
	/* IDE drives: given indexes first, then the rest in the free ones */
	bool used[4] = { false };
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		struct drive_config *d = &cfg->drives[i];
		if (d->interface != DRIVE_IF_IDE || d->index < 0)
			continue;
		if (used[d->index])
			return cli_fail(c, "two IDE drives at index %d", d->index);
		used[d->index] = true;
	}
	for (unsigned i = 0, next = 0; i < cfg->nr_drives; i++) {
		struct drive_config *d = &cfg->drives[i];
		if (d->interface != DRIVE_IF_IDE || d->index >= 0)
			continue;
		while (next < 4 && used[next])
			next++;
		if (next == 4)
			return cli_fail(c, "more than 4 IDE drives");
		used[next] = true;
		d->index = (int)next;
	}
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		for (unsigned j = 0; j < i; j++)
			if (cfg->drives[i].id && cfg->drives[j].id &&
			    !strcmp(cfg->drives[i].id, cfg->drives[j].id))
				return cli_fail(c, "duplicate id '%s'", cfg->drives[i].id);
	return CLI_RUN;
}

enum cli_result cli_opt_ide_drive(struct cli *c, const char *file, int index, bool cdrom)
{
	struct vm_config *cfg = c->cfg;
	if (!*file)
		return cli_fail(c, "empty file name");
	if (cfg->nr_drives >= VM_MAX_DRIVES)
		return cli_fail(c, "too many drives (at most %d)", VM_MAX_DRIVES);
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].interface == DRIVE_IF_IDE && cfg->drives[i].index == index)
			return cli_fail(c, "IDE index %d is given twice", index);
	struct drive_config *d = &cfg->drives[cfg->nr_drives++];
	*d = (struct drive_config){ .file = file, .interface = DRIVE_IF_IDE, .index = index,
				    .cdrom = cdrom, .readonly = cdrom };
	drive_cache_mode(d);
	return CLI_RUN;
}
