/* Shared by the files of src/cli: the parser's state, the one-line error,
 * and the "a,key=value" list helpers.  Each option parser takes the
 * option's argument and returns CLI_RUN, CLI_DONE or (after cli_fail)
 * CLI_ERROR. */
#ifndef MINIVMM_CLI_INTERNAL_H
#define MINIVMM_CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"

/* QEMU rounds -m up to 8 KiB; a whole number of host pages either way */
#define RAM_SIZE_ALIGN 8192ull

#define CLI_MAX_OBJECTS 8

/* -object memory-backend-memfd,id=ID,size=S[,share=on|off] */
struct cli_mem_backend {
	const char *id;
	uint64_t size;
	bool share;
};

struct cli {
	struct vm_config *cfg;
	FILE *out, *err;
	const char *opt;	/* the option as typed, for messages */
	bool accel_given;
	bool serial_given;
	bool debugcon_given;
	bool cpu_host;		/* -cpu host: needs KVM */
	bool ram_size_given;	/* -m */
	struct cli_mem_backend mem_backends[CLI_MAX_OBJECTS];
	unsigned nr_mem_backends;
	const char *memory_backend;	/* -machine memory-backend= */
	/* who took each -chardev (a back-end has one user) */
	const char *chardev_users[VM_MAX_CHARDEV_CONFIGS];
};

struct cli_option {
	const char *name;	/* without the dash */
	const char *alias;
	const char *arg;	/* argument name in --help; NULL: takes none */
	const char *help;
	enum cli_result (*parse)(struct cli *c, const char *arg);
};

struct kv {
	const char *key;	/* NULL: a bare item after the first */
	size_t key_len;
	const char *val;
	size_t val_len;
};

struct kv_iter {
	const char *p;
	const char *implied;	/* the key of a bare first item ("cpus" in "-smp 4") */
	bool started;
};

/* Prints "minivmm: OPTION: message" on c->err; returns CLI_ERROR */
__attribute__((format(printf, 2, 3))) enum cli_result cli_fail(struct cli *c, const char *fmt,
								...);

/* All of [s, s + len) as a decimal or 0x-hex number */
bool parse_u64(const char *s, size_t len, uint64_t *value);
/* A size as QEMU writes it (suffix B, K, M, G, T, P or E; none means MiB):
 * 0, -EINVAL or -ERANGE */
int parse_size(const char *s, size_t len, uint64_t *size);

/* The next item of a "a,key=value" list; false at the end */
bool kv_next(struct kv_iter *it, struct kv *kv);
bool kv_key_is(const struct kv *kv, const char *key);
bool kv_val_is(const struct kv *kv, const char *val);
/* "unknown parameter 'key'" (or "unexpected 'item'") */
enum cli_result kv_unknown(struct cli *c, const struct kv *kv);
/* kv's value as a number, or a message naming the key */
enum cli_result kv_number(struct cli *c, const struct kv *kv, uint64_t *value);
/* on/off (or yes/no, true/false, y/n, as QEMU takes them) */
enum cli_result kv_bool(struct cli *c, const struct kv *kv, bool *value);
/* kv's value, NUL-terminated (",," made ","), kept in the config
 * (vm_config.strings) */
enum cli_result kv_string(struct cli *c, const struct kv *kv, const char **value);

/* "52:54:00:12:34:56" (or with '-'): netdev.c */
bool cli_parse_mac(const char *s, size_t len, uint8_t mac[6]);

/* -device (device.c), and what it checks once the whole line is read */
enum cli_result opt_device(struct cli *c, const char *arg);
enum cli_result cli_devices_finish(struct cli *c);
/* -drive (drive.c), and what it checks once the whole line is read */
enum cli_result opt_drive(struct cli *c, const char *arg);
enum cli_result cli_drives_finish(struct cli *c);
/* -hda..-hdd (index 0-3) and -cdrom (index 2, media=cdrom) */
enum cli_result cli_opt_ide_drive(struct cli *c, const char *file, int index, bool cdrom);

/* -object (object.c), and -machine memory-backend= resolved once the
 * whole line is read */
enum cli_result cli_opt_object(struct cli *c, const char *arg);
enum cli_result cli_objects_finish(struct cli *c);
/* -chardev (chardev.c); a device's chardev=ID: the back-end, or NULL
 * after a message when there is none or another user has it */
enum cli_result cli_opt_chardev(struct cli *c, const char *arg);
const struct chardev_config *cli_chardev_claim(struct cli *c, const char *id, const char *user);
/* -serial/-debugcon chardev:ID, and one reader of stdin */
enum cli_result cli_chardevs_finish(struct cli *c);

/* -netdev, -nic and -net (netdev.c) */
enum cli_result cli_opt_netdev(struct cli *c, const char *arg);
enum cli_result cli_opt_nic(struct cli *c, const char *arg);
enum cli_result cli_opt_net(struct cli *c, const char *arg);

/* -smbios and -uuid (smbios.c) */
enum cli_result cli_opt_smbios(struct cli *c, const char *arg);
enum cli_result cli_opt_uuid(struct cli *c, const char *arg);

#endif
