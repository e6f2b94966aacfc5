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

struct cli {
	struct vm_config *cfg;
	FILE *out, *err;
	const char *opt;	/* the option as typed, for messages */
	bool accel_given;
	bool serial_given;
	bool debugcon_given;
	bool cpu_host;		/* -cpu host: needs KVM */
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

/* -device (device.c), and what it checks once the whole line is read */
enum cli_result opt_device(struct cli *c, const char *arg);
enum cli_result cli_devices_finish(struct cli *c);
/* -drive (drive.c), and what it checks once the whole line is read */
enum cli_result opt_drive(struct cli *c, const char *arg);
enum cli_result cli_drives_finish(struct cli *c);
/* -hda..-hdd (index 0-3) and -cdrom (index 2, media=cdrom) */
enum cli_result cli_opt_ide_drive(struct cli *c, const char *file, int index, bool cdrom);

/* -netdev, -nic and -net (netdev.c) */
enum cli_result cli_opt_netdev(struct cli *c, const char *arg);
enum cli_result cli_opt_nic(struct cli *c, const char *arg);
enum cli_result cli_opt_net(struct cli *c, const char *arg);

#endif
