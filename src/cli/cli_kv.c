/* What every option parser shares: the one-line error, numbers and sizes as
 * QEMU writes them, and "a,key=value" lists. */
#include "cli/cli_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

enum cli_result cli_fail(struct cli *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(c->err, "minivmm: %s: %s\n", c->opt, msg);
	return CLI_ERROR;
}

/* ---- numbers ---- */

static int digit_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool is_hex_prefix(const char *s, size_t len)
{
	return len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* Leading digits of s in base; false on overflow */
static bool scan_digits(const char *s, size_t len, unsigned base, uint64_t *value, size_t *used)
{
	uint64_t v = 0;
	size_t i;
	for (i = 0; i < len; i++) {
		int d = digit_value(s[i]);
		if (d < 0 || (unsigned)d >= base)
			break;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return false;
		v = v * base + (unsigned)d;
	}
	*value = v;
	*used = i;
	return true;
}

/* All of [s, s + len) as a decimal or 0x-hex number */
bool parse_u64(const char *s, size_t len, uint64_t *value)
{
	unsigned base = 10;
	size_t used;
	if (is_hex_prefix(s, len)) {
		base = 16;
		s += 2;
		len -= 2;
	}
	return len > 0 && scan_digits(s, len, base, value, &used) && used == len;
}

/* A size as QEMU writes it: a number (0x hex, or decimal with an optional
 * fraction), then an optional suffix B, K, M, G, T, P or E; no suffix means
 * MiB.  Returns 0, -EINVAL or -ERANGE. */
int parse_size(const char *s, size_t len, uint64_t *size)
{
	uint64_t whole, frac = 0, frac_div = 1;
	size_t used;
	bool hex = is_hex_prefix(s, len);

	if (hex) {
		s += 2;
		len -= 2;
	}
	if (!scan_digits(s, len, hex ? 16 : 10, &whole, &used))
		return -ERANGE;
	if (used == 0)
		return -EINVAL;
	s += used;
	len -= used;
	if (!hex && len && *s == '.') {
		s++;
		len--;
		/* up to 18 fraction digits keep frac_div within 64 bits */
		if (!scan_digits(s, len, 10, &frac, &used) || used == 0 || used > 18)
			return -EINVAL;
		for (size_t i = 0; i < used; i++)
			frac_div *= 10;
		s += used;
		len -= used;
	}

	unsigned shift = 20;
	if (len == 1) {
		static const char suffixes[] = "bkmgtpe";
		const char *p = strchr(suffixes, *s | 0x20);
		if (!p || !*s)
			return -EINVAL;
		shift = 10 * (unsigned)(p - suffixes);
	} else if (len > 1) {
		return -EINVAL;
	}

	unsigned __int128 bytes = (unsigned __int128)whole << shift;
	bytes += ((unsigned __int128)frac << shift) / frac_div;
	if (bytes > UINT64_MAX)
		return -ERANGE;
	*size = (uint64_t)bytes;
	return 0;
}

/* ---- "a,key=value" lists ---- */

bool kv_next(struct kv_iter *it, struct kv *kv)
{
	const char *s = it->p;
	if (!*s)
		return false;
	/* ",," is a comma inside the item, as in QEMU (file=a,,b.img) */
	size_t n = strcspn(s, ",");
	while (s[n] == ',' && s[n + 1] == ',')
		n += 2 + strcspn(s + n + 2, ",");
	const char *eq = memchr(s, '=', n);
	if (eq) {
		kv->key = s;
		kv->key_len = (size_t)(eq - s);
		kv->val = eq + 1;
		kv->val_len = n - kv->key_len - 1;
	} else {
		kv->key = it->started ? NULL : it->implied;
		kv->key_len = kv->key ? strlen(kv->key) : 0;
		kv->val = s;
		kv->val_len = n;
	}
	it->started = true;
	it->p = s[n] ? s + n + 1 : s + n;
	return true;
}

bool kv_key_is(const struct kv *kv, const char *key)
{
	return kv->key && kv->key_len == strlen(key) && !memcmp(kv->key, key, kv->key_len);
}

bool kv_val_is(const struct kv *kv, const char *val)
{
	return kv->val_len == strlen(val) && !memcmp(kv->val, val, kv->val_len);
}

enum cli_result kv_unknown(struct cli *c, const struct kv *kv)
{
	if (!kv->key)
		return cli_fail(c, "unexpected '%.*s'", (int)kv->val_len, kv->val);
	return cli_fail(c, "unknown parameter '%.*s'", (int)kv->key_len, kv->key);
}

enum cli_result kv_number(struct cli *c, const struct kv *kv, uint64_t *value)
{
	if (!parse_u64(kv->val, kv->val_len, value))
		return cli_fail(c, "invalid number '%.*s' for %.*s", (int)kv->val_len, kv->val,
				(int)kv->key_len, kv->key);
	return CLI_RUN;
}

enum cli_result kv_bool(struct cli *c, const struct kv *kv, bool *value)
{
	static const char *const yes[] = { "on", "yes", "true", "y" };
	static const char *const no[] = { "off", "no", "false", "n" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (kv_val_is(kv, yes[i]) || kv_val_is(kv, no[i])) {
			*value = kv_val_is(kv, yes[i]);
			return CLI_RUN;
		}
	}
	return cli_fail(c, "%.*s=%.*s: expected on or off", (int)kv->key_len, kv->key,
			(int)kv->val_len, kv->val);
}

enum cli_result kv_string(struct cli *c, const struct kv *kv, const char **value)
{
	struct vm_config *cfg = c->cfg;
	if (kv->val_len >= sizeof(cfg->strings) - cfg->strings_used)
		return cli_fail(c, "too many or too long values (%.*s=...)", (int)kv->key_len,
				kv->key);
	char *s = cfg->strings + cfg->strings_used;
	size_t n = 0;
	for (size_t i = 0; i < kv->val_len; i++) {
		s[n++] = kv->val[i];
		if (kv->val[i] == ',')
			i++;	/* ",," */
	}
	s[n] = 0;
	cfg->strings_used += (unsigned)n + 1;
	*value = s;
	return CLI_RUN;
}
