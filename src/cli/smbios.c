/* -smbios type=N,KEY=VALUE... and -uuid, as QEMU takes them: the strings
 * of the BIOS (0), system (1), baseboard (2), chassis (3) and processor
 * (4) tables, OEM strings (11), the BIOS release and the system UUID.
 * What the tables hold by default is boot/smbios.c's. */
#include <string.h>

#include "cli/cli_internal.h"
#include "core/config.h"

struct smbios_key {
	unsigned type;
	const char *key;
	enum smbios_field field;
};

static const struct smbios_key smbios_keys[] = {
	{ 0, "vendor", SMBIOS_BIOS_VENDOR },
	{ 0, "version", SMBIOS_BIOS_VERSION },
	{ 0, "date", SMBIOS_BIOS_DATE },
	{ 1, "manufacturer", SMBIOS_SYS_MANUFACTURER },
	{ 1, "product", SMBIOS_SYS_PRODUCT },
	{ 1, "version", SMBIOS_SYS_VERSION },
	{ 1, "serial", SMBIOS_SYS_SERIAL },
	{ 1, "sku", SMBIOS_SYS_SKU },
	{ 1, "family", SMBIOS_SYS_FAMILY },
	{ 2, "manufacturer", SMBIOS_BOARD_MANUFACTURER },
	{ 2, "product", SMBIOS_BOARD_PRODUCT },
	{ 2, "version", SMBIOS_BOARD_VERSION },
	{ 2, "serial", SMBIOS_BOARD_SERIAL },
	{ 2, "asset", SMBIOS_BOARD_ASSET },
	{ 2, "location", SMBIOS_BOARD_LOCATION },
	{ 3, "manufacturer", SMBIOS_CHASSIS_MANUFACTURER },
	{ 3, "version", SMBIOS_CHASSIS_VERSION },
	{ 3, "serial", SMBIOS_CHASSIS_SERIAL },
	{ 3, "asset", SMBIOS_CHASSIS_ASSET },
	{ 3, "sku", SMBIOS_CHASSIS_SKU },
	{ 4, "manufacturer", SMBIOS_CPU_MANUFACTURER },
	{ 4, "version", SMBIOS_CPU_VERSION },
	{ 4, "serial", SMBIOS_CPU_SERIAL },
	{ 4, "asset", SMBIOS_CPU_ASSET },
	{ 4, "part", SMBIOS_CPU_PART },
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 8-4-4-4-12 hex digits, as -uuid takes them */
static bool parse_uuid(const char *s, size_t len, uint8_t uuid[16])
{
	if (len != 36)
		return false;
	unsigned n = 0;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		int hi = hex_digit(s[i]), lo = i + 1 < len ? hex_digit(s[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return false;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == 16;
}

static enum cli_result smbios_uuid(struct cli *c, const char *s, size_t len)
{
	struct smbios_config *sm = &c->cfg->smbios;
	if (!parse_uuid(s, len, sm->uuid))
		return cli_fail(c, "'%.*s' is not a UUID (like 01234567-89ab-cdef-0123-456789abcdef)",
				(int)len, s);
	return CLI_RUN;
}

enum cli_result cli_opt_uuid(struct cli *c, const char *arg)
{
	return smbios_uuid(c, arg, strlen(arg));
}

/* type=0,release=MAJOR.MINOR */
static enum cli_result smbios_release(struct cli *c, const struct kv *kv)
{
	const char *dot = memchr(kv->val, '.', kv->val_len);
	uint64_t major, minor;
	if (!dot || !parse_u64(kv->val, (size_t)(dot - kv->val), &major) ||
	    !parse_u64(dot + 1, kv->val_len - (size_t)(dot - kv->val) - 1, &minor) ||
	    major > 254 || minor > 254)
		return cli_fail(c, "release=%.*s: MAJOR.MINOR, each 0-254", (int)kv->val_len,
				kv->val);
	c->cfg->smbios.bios_release[0] = (uint8_t)major;
	c->cfg->smbios.bios_release[1] = (uint8_t)minor;
	c->cfg->smbios.bios_release_given = true;
	return CLI_RUN;
}

static enum cli_result smbios_item(struct cli *c, unsigned type, const struct kv *kv)
{
	struct smbios_config *sm = &c->cfg->smbios;
	for (size_t i = 0; i < sizeof(smbios_keys) / sizeof(smbios_keys[0]); i++)
		if (smbios_keys[i].type == type && kv_key_is(kv, smbios_keys[i].key))
			return kv_string(c, kv, &sm->field[smbios_keys[i].field]);
	if (type == 0 && kv_key_is(kv, "release"))
		return smbios_release(c, kv);
	if (type == 0 && kv_key_is(kv, "uefi"))
		return kv_bool(c, kv, &sm->uefi);
	if (type == 1 && kv_key_is(kv, "uuid"))
		return smbios_uuid(c, kv->val, kv->val_len);
	if (type == 11 && kv_key_is(kv, "value")) {
		if (sm->nr_oem_strings >= SMBIOS_MAX_OEM_STRINGS)
			return cli_fail(c, "at most %u OEM strings", SMBIOS_MAX_OEM_STRINGS);
		return kv_string(c, kv, &sm->oem_strings[sm->nr_oem_strings++]);
	}
	return kv_unknown(c, kv);
}

enum cli_result cli_opt_smbios(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg };
	struct kv kv;
	uint64_t type;
	if (!kv_next(&it, &kv) || !kv_key_is(&kv, "type"))
		return cli_fail(c, "'%s': type=N first (file= tables are not supported)", arg);
	if (kv_number(c, &kv, &type) != CLI_RUN)
		return CLI_ERROR;
	if (type > 4 && type != 11)
		return cli_fail(c, "type=%llu is not supported (0, 1, 2, 3, 4 and 11 are)",
				(unsigned long long)type);
	while (kv_next(&it, &kv))
		if (smbios_item(c, (unsigned)type, &kv) != CLI_RUN)
			return CLI_ERROR;
	return CLI_RUN;
}
