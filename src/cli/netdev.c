/* -netdev, -nic and -net: network back-ends in QEMU's syntax, parsed into
 * struct netdev_config (src/net opens them), and for -nic the card that
 * uses one.  Everything that can be checked without opening anything is
 * checked here: keys, ids, addresses, ports, forwarding rules. */
#include "cli/cli_internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define NETDEV_TYPES "user, tap, stream, socket or dgram"

struct netdev_parse {
	struct cli *c;
	struct netdev_config *nd;
	struct nic_config *nic;	/* -nic: model= and mac= belong to the card */
	/* user: what was given, so that the rest is derived as QEMU does */
	bool net_given, host_given, dhcp_given, dns_given;
	bool ipv6_net_given, ipv6_host_given, ipv6_dns_given;
	unsigned nr_dnssearch;
	/* tap */
	bool script_given, downscript_given, ifname_given, vnet_hdr_given, queues_given;
	/* socket: the key that chose the kind, and the addresses */
	const char *socket_mode;
	struct netdev_addr sock_addr, sock_local;
};

enum key_result { KEY_UNKNOWN, KEY_OK, KEY_ERROR };

static enum key_result key_done(enum cli_result r)
{
	return r == CLI_RUN ? KEY_OK : KEY_ERROR;
}

/* A copy of [s, s + len) in the netdev's own text, or NULL (reported) */
static const char *nd_text(struct netdev_parse *p, const char *s, size_t len)
{
	struct netdev_config *nd = p->nd;
	if (len + 1 > sizeof(nd->text) - nd->text_used) {
		cli_fail(p->c, "parameters too long (at most %zu bytes of text)",
			 sizeof(nd->text));
		return NULL;
	}
	char *t = nd->text + nd->text_used;
	memcpy(t, s, len);
	t[len] = '\0';
	nd->text_used += (unsigned)len + 1;
	return t;
}

static bool kv_text(struct netdev_parse *p, const struct kv *kv, const char **out)
{
	*out = nd_text(p, kv->val, kv->val_len);
	return *out != NULL;
}

/* ---- addresses and ports ---- */

/* A dotted-quad IPv4 address, in host byte order */
static bool parse_ipv4(const char *s, size_t len, uint32_t *addr)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	*addr = ntohl(a.s_addr);
	return true;
}

static bool parse_ipv6(const char *s, size_t len, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* A decimal port, 0..65535 */
static bool parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* A numeric address or a host name (resolved when the back-end opens) */
static bool valid_host(const char *s, size_t len)
{
	uint32_t v4;
	uint8_t v6[16];
	if (parse_ipv4(s, len, &v4) || parse_ipv6(s, len, v6))
		return true;
	if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static bool is_ipv4_multicast(uint32_t addr)
{
	return (addr >> 28) == 0xe;
}

/* "HOST:PORT" or "[V6HOST]:PORT"; host may be empty when host_optional */
static enum cli_result parse_host_port(struct netdev_parse *p, const char *key, const char *s,
				       size_t len, bool host_optional, struct netdev_addr *a)
{
	const char *host = s, *colon;
	size_t host_len;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close || close + 1 == s + len || close[1] != ':')
			goto bad;
		host = s + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
		if (!parse_ipv6(host, host_len, (uint8_t[16]){ 0 }))
			return cli_fail(p->c, "%s=%.*s: invalid IPv6 address '%.*s'", key, (int)len,
					s, (int)host_len, host);
	} else {
		colon = memrchr(s, ':', len);
		if (!colon)
			goto bad;
		host_len = (size_t)(colon - s);
		if (memchr(s, ':', host_len))
			return cli_fail(p->c, "%s=%.*s: write an IPv6 address in brackets",
					key, (int)len, s);
		if (host_len && !valid_host(host, host_len))
			return cli_fail(p->c, "%s=%.*s: invalid host '%.*s'", key, (int)len, s,
					(int)host_len, host);
	}
	if (!host_len && !host_optional)
		return cli_fail(p->c, "%s=%.*s: missing host", key, (int)len, s);
	const char *port = colon + 1;
	size_t port_len = (size_t)(s + len - port);
	if (!parse_port(port, port_len, &a->port) || a->port == 0)
		return cli_fail(p->c, "%s=%.*s: invalid port '%.*s' (1-65535)", key, (int)len, s,
				(int)port_len, port);
	a->type = NETDEV_ADDR_INET;
	a->host = nd_text(p, host, host_len);
	return a->host ? CLI_RUN : CLI_ERROR;
bad:
	return cli_fail(p->c, "%s=%.*s: expected HOST:PORT", key, (int)len, s);
}

/* An inherited descriptor: a number naming an open file */
static enum cli_result parse_fd(struct netdev_parse *p, const char *key, const char *s,
				size_t len, int *fd)
{
	uint64_t v;
	if (!parse_u64(s, len, &v) || v > 0x7fffffff)
		return cli_fail(p->c, "%s=%.*s: expected a file descriptor number", key, (int)len,
				s);
	if (fcntl((int)v, F_GETFD) < 0)
		return cli_fail(p->c, "%s=%.*s: not an open file descriptor", key, (int)len, s);
	*fd = (int)v;
	return CLI_RUN;
}

/* ---- the parts of an address given as key=value (stream, dgram) ---- */

/* prefix.type, prefix.host, prefix.port, prefix.path, prefix.str */
static enum key_result addr_key(struct netdev_parse *p, const struct kv *kv, const char *prefix,
				struct netdev_addr *a)
{
	size_t plen = strlen(prefix);
	if (!kv->key || kv->key_len <= plen + 1 || memcmp(kv->key, prefix, plen) ||
	    kv->key[plen] != '.')
		return KEY_UNKNOWN;
	struct kv sub = *kv;
	sub.key += plen + 1;
	sub.key_len -= plen + 1;
	if (kv_key_is(&sub, "type")) {
		if (kv_val_is(kv, "inet"))
			a->type = NETDEV_ADDR_INET;
		else if (kv_val_is(kv, "unix"))
			a->type = NETDEV_ADDR_UNIX;
		else if (kv_val_is(kv, "fd"))
			a->type = NETDEV_ADDR_FD;
		else
			return key_done(cli_fail(p->c, "%s.type=%.*s: expected inet, unix or fd",
						 prefix, (int)kv->val_len, kv->val));
		return KEY_OK;
	}
	if (kv_key_is(&sub, "host")) {
		if (kv->val_len && !valid_host(kv->val, kv->val_len))
			return key_done(cli_fail(p->c, "%s.host=%.*s: invalid host", prefix,
						 (int)kv->val_len, kv->val));
		return kv_text(p, kv, &a->host) ? KEY_OK : KEY_ERROR;
	}
	if (kv_key_is(&sub, "port")) {
		if (!parse_port(kv->val, kv->val_len, &a->port) || a->port == 0)
			return key_done(cli_fail(p->c, "%s.port=%.*s: invalid port (1-65535)",
						 prefix, (int)kv->val_len, kv->val));
		return KEY_OK;
	}
	if (kv_key_is(&sub, "path")) {
		if (kv->val_len == 0 || kv->val_len >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return key_done(cli_fail(p->c, "%s.path: a Unix socket path of 1 to %zu "
						    "bytes",
						 prefix,
						 sizeof(((struct sockaddr_un *)0)->sun_path) - 1));
		return kv_text(p, kv, &a->path) ? KEY_OK : KEY_ERROR;
	}
	if (kv_key_is(&sub, "str")) {
		char key[32];
		snprintf(key, sizeof(key), "%s.str", prefix);
		return key_done(parse_fd(p, key, kv->val, kv->val_len, &a->fd));
	}
	return KEY_UNKNOWN;
}

/* What a complete address of the given type needs */
static enum cli_result addr_check(struct netdev_parse *p, const char *prefix,
				  const struct netdev_addr *a, bool host_optional)
{
	switch (a->type) {
	case NETDEV_ADDR_NONE:
		return cli_fail(p->c, "missing %s.type (inet, unix or fd)", prefix);
	case NETDEV_ADDR_INET:
		if (a->path)
			return cli_fail(p->c, "%s.path= is for %s.type=unix", prefix, prefix);
		if (!host_optional && (!a->host || !a->host[0]))
			return cli_fail(p->c, "missing %s.host", prefix);
		if (!a->port)
			return cli_fail(p->c, "missing %s.port", prefix);
		break;
	case NETDEV_ADDR_UNIX:
		if (a->host || a->port)
			return cli_fail(p->c, "%s.host= and %s.port= are for %s.type=inet", prefix,
					prefix, prefix);
		if (!a->path)
			return cli_fail(p->c, "missing %s.path", prefix);
		break;
	case NETDEV_ADDR_FD:
		if (a->host || a->port || a->path)
			return cli_fail(p->c, "%s.type=fd takes only %s.str", prefix, prefix);
		if (a->fd < 0)
			return cli_fail(p->c, "missing %s.str (the descriptor)", prefix);
		break;
	}
	return CLI_RUN;
}

/* ---- user ---- */

/* "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"; NULL or what is wrong */
static const char *parse_hostfwd(const char *s, size_t len, struct netdev_hostfwd *fw)
{
	static const char syntax[] = "expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
	const char *end = s + len;
	const char *colon = memchr(s, ':', len);
	if (!colon)
		return syntax;
	size_t proto_len = (size_t)(colon - s);
	if (proto_len == 0 || (proto_len == 3 && !memcmp(s, "tcp", 3)))
		fw->udp = false;
	else if (proto_len == 3 && !memcmp(s, "udp", 3))
		fw->udp = true;
	else
		return "the protocol is tcp or udp";
	s = colon + 1;
	if (s < end && *s == '[')
		return "IPv6 addresses are not supported";
	colon = memchr(s, ':', (size_t)(end - s));
	const char *dash = memchr(s, '-', (size_t)(end - s));
	if (!colon || !dash || dash < colon)
		return syntax;
	fw->host_addr = 0;
	if (colon > s && !parse_ipv4(s, (size_t)(colon - s), &fw->host_addr))
		return "invalid host address";
	if (!parse_port(colon + 1, (size_t)(dash - colon - 1), &fw->host_port))
		return "invalid host port (0-65535)";
	s = dash + 1;
	if (s < end && *s == '[')
		return "IPv6 addresses are not supported";
	colon = memchr(s, ':', (size_t)(end - s));
	if (!colon)
		return syntax;
	fw->guest_addr = 0;
	if (colon > s && !parse_ipv4(s, (size_t)(colon - s), &fw->guest_addr))
		return "invalid guest address";
	if (!parse_port(colon + 1, (size_t)(end - colon - 1), &fw->guest_port) ||
	    fw->guest_port == 0)
		return "invalid guest port (1-65535)";
	return NULL;
}

/* "[tcp]:[ADDR]:PORT-cmd:COMMAND" or "...-unix:PATH"; NULL or what is wrong */
static const char *parse_guestfwd(struct netdev_parse *p, const char *s, size_t len,
				  struct netdev_guestfwd *fw)
{
	static const char syntax[] = "expected tcp:[ADDR]:PORT-cmd:COMMAND or tcp:[ADDR]:PORT-unix:PATH";
	const char *end = s + len;
	const char *colon = memchr(s, ':', len);
	if (!colon)
		return syntax;
	if (colon != s && !(colon - s == 3 && !memcmp(s, "tcp", 3)))
		return "only tcp can be forwarded";
	s = colon + 1;
	colon = memchr(s, ':', (size_t)(end - s));
	if (!colon)
		return syntax;
	fw->addr = 0;
	if (colon > s && !parse_ipv4(s, (size_t)(colon - s), &fw->addr))
		return "invalid address";
	s = colon + 1;
	const char *dash = memchr(s, '-', (size_t)(end - s));
	if (!dash)
		return syntax;
	if (!parse_port(s, (size_t)(dash - s), &fw->port) || fw->port == 0)
		return "invalid port (1-65535)";
	s = dash + 1;
	size_t rest = (size_t)(end - s);
	if (rest > 4 && !memcmp(s, "cmd:", 4)) {
		fw->kind = NETDEV_GUESTFWD_CMD;
		s += 4;
		rest -= 4;
	} else if (rest > 5 && !memcmp(s, "unix:", 5)) {
		fw->kind = NETDEV_GUESTFWD_UNIX;
		s += 5;
		rest -= 5;
		if (rest >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return "the Unix socket path is too long";
	} else {
		return "the target is cmd:COMMAND or unix:PATH (other chardevs are not supported)";
	}
	fw->target = nd_text(p, s, rest);
	return fw->target ? NULL : "";
}

/* "ADDR[/PREFIXLEN]" or "ADDR/MASK": QEMU's net= */
static bool parse_ipv4_net(const char *s, size_t len, uint32_t *net, uint32_t *mask)
{
	const char *slash = memchr(s, '/', len);
	if (!parse_ipv4(s, slash ? (size_t)(slash - s) : len, net))
		return false;
	if (!slash)
		return true;	/* the default /24 */
	const char *m = slash + 1;
	size_t mlen = (size_t)(s + len - m);
	uint64_t bits;
	if (mlen && mlen <= 2 && parse_u64(m, mlen, &bits)) {
		if (bits < 4 || bits > 32)
			return false;
		*mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		return true;
	}
	uint32_t v;
	if (!parse_ipv4(m, mlen, &v) || v == 0 || (~v & (~v + 1)) != 0)
		return false;	/* not a contiguous mask */
	*mask = v;
	return true;
}

static enum key_result user_key(struct netdev_parse *p, const struct kv *kv)
{
	struct netdev_user *u = &p->nd->user;
	struct cli *c = p->c;

	if (kv_key_is(kv, "restrict"))
		return key_done(kv_bool(c, kv, &u->restricted));
	if (kv_key_is(kv, "ipv4"))
		return key_done(kv_bool(c, kv, &u->ipv4));
	if (kv_key_is(kv, "ipv6"))
		return key_done(kv_bool(c, kv, &u->ipv6));
	if (kv_key_is(kv, "net")) {
		if (!parse_ipv4_net(kv->val, kv->val_len, &u->net, &u->mask))
			return key_done(cli_fail(c, "net=%.*s: expected ADDR[/PREFIXLEN (4-32)] "
						    "or ADDR/MASK",
						 (int)kv->val_len, kv->val));
		p->net_given = true;
		return KEY_OK;
	}
	struct {
		const char *key;
		uint32_t *addr;
		bool *given;
	} v4[] = {
		{ "host", &u->host, &p->host_given },
		{ "dhcpstart", &u->dhcp_start, &p->dhcp_given },
		{ "dns", &u->dns, &p->dns_given },
	};
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		if (kv_key_is(kv, v4[i].key)) {
			if (!parse_ipv4(kv->val, kv->val_len, v4[i].addr))
				return key_done(cli_fail(c, "%s=%.*s: invalid IPv4 address",
							 v4[i].key, (int)kv->val_len, kv->val));
			*v4[i].given = true;
			return KEY_OK;
		}
	}
	if (kv_key_is(kv, "ipv6-net") || kv_key_is(kv, "ipv6-prefix")) {
		const char *slash = memchr(kv->val, '/', kv->val_len);
		size_t alen = slash ? (size_t)(slash - kv->val) : kv->val_len;
		uint64_t bits = 64;
		if (!parse_ipv6(kv->val, alen, u->ipv6_prefix) ||
		    (slash && (!parse_u64(slash + 1, kv->val_len - alen - 1, &bits) ||
			       bits < 1 || bits > 126)))
			return key_done(cli_fail(c, "%.*s=%.*s: expected IPV6ADDR[/LEN (1-126)]",
						 (int)kv->key_len, kv->key, (int)kv->val_len,
						 kv->val));
		u->ipv6_prefix_len = (unsigned)bits;
		p->ipv6_net_given = true;
		return KEY_OK;
	}
	if (kv_key_is(kv, "ipv6-host") || kv_key_is(kv, "ipv6-dns")) {
		bool host = kv_key_is(kv, "ipv6-host");
		if (!parse_ipv6(kv->val, kv->val_len, host ? u->ipv6_host : u->ipv6_dns))
			return key_done(cli_fail(c, "%.*s=%.*s: invalid IPv6 address",
						 (int)kv->key_len, kv->key, (int)kv->val_len,
						 kv->val));
		*(host ? &p->ipv6_host_given : &p->ipv6_dns_given) = true;
		return KEY_OK;
	}
	if (kv_key_is(kv, "hostname"))
		return kv_text(p, kv, &u->hostname) ? KEY_OK : KEY_ERROR;
	if (kv_key_is(kv, "domainname"))
		return kv_text(p, kv, &u->domainname) ? KEY_OK : KEY_ERROR;
	if (kv_key_is(kv, "tftp"))
		return kv_text(p, kv, &u->tftp) ? KEY_OK : KEY_ERROR;
	if (kv_key_is(kv, "bootfile"))
		return kv_text(p, kv, &u->bootfile) ? KEY_OK : KEY_ERROR;
	if (kv_key_is(kv, "tftp-server-name"))
		return kv_text(p, kv, &u->tftp_server_name) ? KEY_OK : KEY_ERROR;
	if (kv_key_is(kv, "dnssearch")) {
		if (p->nr_dnssearch == NETDEV_MAX_DNSSEARCH)
			return key_done(cli_fail(c, "at most %d dnssearch= domains",
						 NETDEV_MAX_DNSSEARCH));
		if (!valid_host(kv->val, kv->val_len))
			return key_done(cli_fail(c, "dnssearch=%.*s: invalid domain",
						 (int)kv->val_len, kv->val));
		return kv_text(p, kv, &u->dnssearch[p->nr_dnssearch++]) ? KEY_OK : KEY_ERROR;
	}
	if (kv_key_is(kv, "hostfwd")) {
		if (u->nr_hostfwd == NETDEV_MAX_HOSTFWD)
			return key_done(cli_fail(c, "at most %d hostfwd= rules", NETDEV_MAX_HOSTFWD));
		const char *why = parse_hostfwd(kv->val, kv->val_len, &u->hostfwd[u->nr_hostfwd]);
		if (why)
			return key_done(cli_fail(c, "hostfwd=%.*s: %s", (int)kv->val_len, kv->val,
						 why));
		u->nr_hostfwd++;
		return KEY_OK;
	}
	if (kv_key_is(kv, "guestfwd")) {
		if (u->nr_guestfwd == NETDEV_MAX_GUESTFWD)
			return key_done(cli_fail(c, "at most %d guestfwd= rules",
						 NETDEV_MAX_GUESTFWD));
		const char *why = parse_guestfwd(p, kv->val, kv->val_len,
						 &u->guestfwd[u->nr_guestfwd]);
		if (why && !why[0])
			return KEY_ERROR;	/* out of text, reported */
		if (why)
			return key_done(cli_fail(c, "guestfwd=%.*s: %s", (int)kv->val_len, kv->val,
						 why));
		u->nr_guestfwd++;
		return KEY_OK;
	}
	if (kv_key_is(kv, "smb") || kv_key_is(kv, "smbserver"))
		return key_done(cli_fail(c, "%.*s= is not supported (minivmm runs no Samba server)",
					 (int)kv->key_len, kv->key));
	return KEY_UNKNOWN;
}

static bool in_net(uint32_t addr, uint32_t net, uint32_t mask)
{
	return (addr & mask) == net && addr != net && addr != (net | ~mask);
}

/* Defaults as QEMU derives them from net=, and the checks it makes */
static enum cli_result user_finish(struct netdev_parse *p)
{
	struct netdev_user *u = &p->nd->user;
	struct cli *c = p->c;

	if (!u->ipv4 && !u->ipv6)
		return cli_fail(c, "ipv4=off and ipv6=off leave no network");
	u->net &= u->mask;
	if (!p->host_given)
		u->host = u->net | (0x0202 & ~u->mask);
	if (!p->dhcp_given)
		u->dhcp_start = u->net | (0x020f & ~u->mask);
	if (!p->dns_given)
		u->dns = u->net | (0x0203 & ~u->mask);
	if (!in_net(u->host, u->net, u->mask))
		return cli_fail(c, "host= is not an address of the network (net=)");
	if (!in_net(u->dns, u->net, u->mask))
		return cli_fail(c, "dns= is not an address of the network (net=)");
	if (!in_net(u->dhcp_start, u->net, u->mask))
		return cli_fail(c, "dhcpstart= is not an address of the network (net=)");
	if (u->dns == u->host)
		return cli_fail(c, "dns= and host= must differ");
	if (u->dhcp_start == u->host || u->dhcp_start == u->dns)
		return cli_fail(c, "dhcpstart= must differ from host= and dns=");
	for (unsigned i = 0; i < u->nr_hostfwd; i++) {
		uint32_t g = u->hostfwd[i].guest_addr;
		if (g && !in_net(g, u->net, u->mask))
			return cli_fail(c, "hostfwd: guest address %u.%u.%u.%u is not in the network",
					g >> 24, (g >> 16) & 0xff, (g >> 8) & 0xff, g & 0xff);
	}
	for (unsigned i = 0; i < u->nr_guestfwd; i++) {
		uint32_t g = u->guestfwd[i].addr;
		if (g && (!in_net(g, u->net, u->mask) || g == u->host || g == u->dns))
			return cli_fail(c, "guestfwd: %u.%u.%u.%u is not a free address of the "
					   "network",
					g >> 24, (g >> 16) & 0xff, (g >> 8) & 0xff, g & 0xff);
		for (unsigned j = 0; j < i; j++)
			if (u->guestfwd[j].port == u->guestfwd[i].port &&
			    u->guestfwd[j].addr == g)
				return cli_fail(c, "guestfwd: port %u is forwarded twice",
						u->guestfwd[i].port);
	}
	if (!p->ipv6_net_given) {
		static const uint8_t fec0[16] = { 0xfe, 0xc0 };
		memcpy(u->ipv6_prefix, fec0, 16);
		u->ipv6_prefix_len = 64;
	}
	/* host ::2 and DNS ::3 in the prefix, unless given */
	if (!p->ipv6_host_given) {
		memcpy(u->ipv6_host, u->ipv6_prefix, 16);
		u->ipv6_host[15] |= 2;
	}
	if (!p->ipv6_dns_given) {
		memcpy(u->ipv6_dns, u->ipv6_prefix, 16);
		u->ipv6_dns[15] |= 3;
	}
	return CLI_RUN;
}

/* ---- tap ---- */

/* "a:b:c": descriptors, one per queue */
static enum cli_result parse_fd_list(struct netdev_parse *p, const struct kv *kv, int *fds,
				     unsigned *nr)
{
	const char *s = kv->val, *end = kv->val + kv->val_len;
	char key[16];
	snprintf(key, sizeof(key), "%.*s", (int)kv->key_len, kv->key);
	*nr = 0;
	while (s <= end) {
		const char *colon = memchr(s, ':', (size_t)(end - s));
		size_t len = (size_t)((colon ? colon : end) - s);
		if (*nr == NETDEV_MAX_QUEUES)
			return cli_fail(p->c, "%s: at most %d descriptors", key, NETDEV_MAX_QUEUES);
		if (parse_fd(p, key, s, len, &fds[*nr]) != CLI_RUN)
			return CLI_ERROR;
		(*nr)++;
		s += len + 1;
	}
	return CLI_RUN;
}

static enum key_result tap_key(struct netdev_parse *p, const struct kv *kv)
{
	struct netdev_tap *t = &p->nd->tap;
	struct cli *c = p->c;

	if (kv_key_is(kv, "ifname")) {
		if (kv->val_len == 0 || kv->val_len >= 16 || memchr(kv->val, '/', kv->val_len))
			return key_done(cli_fail(c, "ifname=%.*s: an interface name of 1 to 15 "
						    "characters",
						 (int)kv->val_len, kv->val));
		p->ifname_given = true;
		return kv_text(p, kv, &t->ifname) ? KEY_OK : KEY_ERROR;
	}
	if (kv_key_is(kv, "fd") || kv_key_is(kv, "fds")) {
		if (t->nr_fds)
			return key_done(cli_fail(c, "give fd= or fds= once"));
		if (kv_key_is(kv, "fd"))
			return key_done(parse_fd(p, "fd", kv->val, kv->val_len, &t->fds[t->nr_fds++]));
		return key_done(parse_fd_list(p, kv, t->fds, &t->nr_fds));
	}
	if (kv_key_is(kv, "vhostfd") || kv_key_is(kv, "vhostfds")) {
		if (t->nr_vhostfds)
			return key_done(cli_fail(c, "give vhostfd= or vhostfds= once"));
		t->vhost = true;
		if (kv_key_is(kv, "vhostfd"))
			return key_done(parse_fd(p, "vhostfd", kv->val, kv->val_len,
						 &t->vhostfds[t->nr_vhostfds++]));
		return key_done(parse_fd_list(p, kv, t->vhostfds, &t->nr_vhostfds));
	}
	if (kv_key_is(kv, "script") || kv_key_is(kv, "downscript")) {
		bool up = kv_key_is(kv, "script");
		const char **field = up ? &t->script : &t->downscript;
		*(up ? &p->script_given : &p->downscript_given) = true;
		if (kv->val_len == 0 || kv_val_is(kv, "no")) {
			*field = NULL;
			return KEY_OK;
		}
		return kv_text(p, kv, field) ? KEY_OK : KEY_ERROR;
	}
	if (kv_key_is(kv, "vnet_hdr")) {
		bool on;
		if (kv_bool(c, kv, &on) != CLI_RUN)
			return KEY_ERROR;
		t->vnet_hdr = on ? NETDEV_VNET_HDR_ON : NETDEV_VNET_HDR_OFF;
		p->vnet_hdr_given = true;
		return KEY_OK;
	}
	if (kv_key_is(kv, "queues")) {
		uint64_t n;
		if (kv_number(c, kv, &n) != CLI_RUN)
			return KEY_ERROR;
		if (n < 1 || n > NETDEV_MAX_QUEUES)
			return key_done(cli_fail(c, "queues=%.*s is outside 1..%d", (int)kv->val_len,
						 kv->val, NETDEV_MAX_QUEUES));
		t->queues = (unsigned)n;
		p->queues_given = true;
		return KEY_OK;
	}
	if (kv_key_is(kv, "vhost") || kv_key_is(kv, "vhostforce")) {
		bool on;
		if (kv_bool(c, kv, &on) != CLI_RUN)
			return KEY_ERROR;
		t->vhost |= on;
		return KEY_OK;
	}
	if (kv_key_is(kv, "helper") || kv_key_is(kv, "br"))
		return key_done(cli_fail(c, "%.*s= is not supported (qemu-bridge-helper is not used)",
					 (int)kv->key_len, kv->key));
	return KEY_UNKNOWN;
}

static enum cli_result tap_finish(struct netdev_parse *p)
{
	struct netdev_tap *t = &p->nd->tap;
	struct cli *c = p->c;

	if (t->nr_fds) {
		if (p->ifname_given || p->script_given || p->downscript_given ||
		    p->vnet_hdr_given || p->queues_given)
			return cli_fail(c, "ifname=, script=, downscript=, vnet_hdr= and queues= "
					   "do not go with fd=/fds= (the taps are already set up)");
		t->queues = t->nr_fds;
	} else if (!p->script_given) {
		return cli_fail(c, "minivmm does not run /etc/qemu-ifup implicitly: give "
				   "script=no, or script=/etc/qemu-ifup to run it");
	}
	if (t->nr_vhostfds && t->nr_vhostfds != t->queues)
		return cli_fail(c, "%u vhost descriptors for %u queues", t->nr_vhostfds, t->queues);
	return CLI_RUN;
}

/* ---- stream, socket, dgram ---- */

static enum key_result stream_key(struct netdev_parse *p, const struct kv *kv)
{
	struct netdev_stream *s = &p->nd->stream;
	if (kv_key_is(kv, "server"))
		return key_done(kv_bool(p->c, kv, &s->server));
	if (kv_key_is(kv, "reconnect")) {
		if (!kv_val_is(kv, "0"))
			return key_done(cli_fail(p->c, "reconnect= is not supported (a client "
						       "stays down once its server goes)"));
		return KEY_OK;
	}
	return addr_key(p, kv, "addr", &s->addr);
}

static enum cli_result stream_finish(struct netdev_parse *p)
{
	const struct netdev_stream *s = &p->nd->stream;
	return addr_check(p, "addr", &s->addr, s->server);
}

static enum key_result dgram_key(struct netdev_parse *p, const struct kv *kv)
{
	struct netdev_dgram *d = &p->nd->dgram;
	enum key_result r = addr_key(p, kv, "local", &d->local);
	return r == KEY_UNKNOWN ? addr_key(p, kv, "remote", &d->remote) : r;
}

static bool addr_is_multicast(const struct netdev_addr *a)
{
	uint32_t v4;
	return a->type == NETDEV_ADDR_INET && a->host &&
	       parse_ipv4(a->host, strlen(a->host), &v4) && is_ipv4_multicast(v4);
}

static enum cli_result dgram_finish(struct netdev_parse *p)
{
	const struct netdev_dgram *d = &p->nd->dgram;
	struct cli *c = p->c;

	if (d->local.type == NETDEV_ADDR_FD) {
		if (addr_check(p, "local", &d->local, true) != CLI_RUN)
			return CLI_ERROR;
		return d->remote.type == NETDEV_ADDR_NONE ?
			       CLI_RUN :
			       addr_check(p, "remote", &d->remote, false);
	}
	if (d->remote.type == NETDEV_ADDR_NONE)
		return cli_fail(c, "missing remote.type (where frames go)");
	if (addr_check(p, "remote", &d->remote, false) != CLI_RUN)
		return CLI_ERROR;
	if (d->remote.type == NETDEV_ADDR_FD)
		return cli_fail(c, "remote.type=fd: give the descriptor as local.str");
	if (addr_is_multicast(&d->remote)) {
		/* local only names the interface the group is joined on */
		if (d->local.type != NETDEV_ADDR_NONE &&
		    (d->local.type != NETDEV_ADDR_INET || d->local.port || d->local.path))
			return cli_fail(c, "with a multicast remote, local= is only "
					   "local.type=inet,local.host=ADDR (the interface)");
		return CLI_RUN;
	}
	if (d->local.type == NETDEV_ADDR_NONE)
		return cli_fail(c, "missing local.type (where frames come in)");
	if (d->local.type != d->remote.type)
		return cli_fail(c, "local and remote are of different types");
	return addr_check(p, "local", &d->local, true);
}

/* -netdev socket: the older spelling of stream and dgram, collected first
 * and turned into one of them at the end */
static enum key_result socket_key(struct netdev_parse *p, const struct kv *kv)
{
	struct cli *c = p->c;
	static const char *const modes[] = { "listen", "connect", "udp", "mcast", "fd" };
	const char *mode = NULL;

	if (kv_key_is(kv, "localaddr")) {
		/* udp=: HOST:PORT to bind; mcast=: the interface's address */
		struct netdev_addr *local = &p->sock_local;
		if (local->type != NETDEV_ADDR_NONE)
			return key_done(cli_fail(c, "localaddr= given twice"));
		if (memchr(kv->val, ':', kv->val_len))
			return key_done(parse_host_port(p, "localaddr", kv->val, kv->val_len, true,
							local));
		uint32_t v4;
		if (!parse_ipv4(kv->val, kv->val_len, &v4))
			return key_done(cli_fail(c, "localaddr=%.*s: expected an IPv4 address or "
						    "HOST:PORT",
						 (int)kv->val_len, kv->val));
		local->type = NETDEV_ADDR_INET;
		return kv_text(p, kv, &local->host) ? KEY_OK : KEY_ERROR;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (kv_key_is(kv, modes[i]))
			mode = modes[i];
	if (!mode)
		return KEY_UNKNOWN;
	if (p->socket_mode)
		return key_done(cli_fail(c, "%s= and %s= do not go together", p->socket_mode, mode));
	p->socket_mode = mode;
	if (!strcmp(mode, "fd"))
		return key_done(parse_fd(p, "fd", kv->val, kv->val_len, &p->sock_addr.fd));
	return key_done(parse_host_port(p, mode, kv->val, kv->val_len, !strcmp(mode, "listen"),
					&p->sock_addr));
}

static enum cli_result socket_finish(struct netdev_parse *p)
{
	struct netdev_config *nd = p->nd;
	const char *mode = p->socket_mode;
	const struct netdev_addr *local = &p->sock_local;
	bool udp = mode && !strcmp(mode, "udp"), mcast = mode && !strcmp(mode, "mcast");

	if (!mode)
		return cli_fail(p->c, "give one of listen=, connect=, udp=, mcast= or fd=");
	if (local->type != NETDEV_ADDR_NONE && !udp && !mcast)
		return cli_fail(p->c, "localaddr= goes with udp= or mcast=");
	if (!strcmp(mode, "fd")) {
		/* stream or datagram, as the socket is */
		int type;
		socklen_t len = sizeof(type);
		int fd = p->sock_addr.fd;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
			return cli_fail(p->c, "fd=%d is not a socket", fd);
		struct netdev_addr a = { .type = NETDEV_ADDR_FD, .fd = fd };
		if (type == SOCK_DGRAM) {
			nd->type = NETDEV_DGRAM;
			nd->dgram.local = a;
			nd->dgram.remote = (struct netdev_addr){ .fd = -1 };
		} else {
			nd->type = NETDEV_STREAM;
			nd->stream = (struct netdev_stream){ .addr = a };
		}
		return CLI_RUN;
	}
	if (!udp && !mcast) {
		nd->type = NETDEV_STREAM;
		nd->stream = (struct netdev_stream){ .server = !strcmp(mode, "listen"),
						     .addr = p->sock_addr };
		return CLI_RUN;
	}
	if (mcast != addr_is_multicast(&p->sock_addr))
		return cli_fail(p->c, mcast ? "mcast=%s:%u: not an IPv4 multicast group" :
					      "udp=%s:%u: a multicast group needs mcast=",
				p->sock_addr.host, p->sock_addr.port);
	if (udp && (local->type == NETDEV_ADDR_NONE || !local->port))
		return cli_fail(p->c, "udp= needs localaddr=HOST:PORT");
	if (mcast && local->port)
		return cli_fail(p->c, "with mcast=, localaddr= is the interface's address, no port");
	nd->type = NETDEV_DGRAM;
	nd->dgram.local = *local;
	nd->dgram.remote = p->sock_addr;
	return CLI_RUN;
}

/* ---- -netdev and -nic ---- */

static const struct netdev_kind {
	const char *name;
	enum netdev_type type;
	enum key_result (*key)(struct netdev_parse *p, const struct kv *kv);
	enum cli_result (*finish)(struct netdev_parse *p);
	const char *help;
} netdev_kinds[] = {
	{ "user", NETDEV_USER, user_key, user_finish,
	  "user-mode network (libslirp), no privileges: 10.0.2.0/24, host 10.0.2.2 (the\n"
	  "      host's loopback), DNS 10.0.2.3, DHCP from 10.0.2.15\n"
	  "      [,restrict=on|off][,net=ADDR[/MASK]][,host=ADDR][,dhcpstart=ADDR][,dns=ADDR]\n"
	  "      [,ipv4=on|off][,ipv6=on|off][,ipv6-net=ADDR/LEN][,ipv6-host=][,ipv6-dns=]\n"
	  "      [,hostname=][,domainname=][,dnssearch=DOMAIN]...[,tftp=DIR][,bootfile=]\n"
	  "      [,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...\n"
	  "      [,guestfwd=tcp:[ADDR]:PORT-cmd:COMMAND|unix:PATH]..." },
	{ "tap", NETDEV_TAP, tap_key, tap_finish,
	  "a tap interface (needs CAP_NET_ADMIN, or an open one with fd=)\n"
	  "      [,ifname=NAME],script=no|FILE[,downscript=no|FILE][,vnet_hdr=on|off]\n"
	  "      [,queues=N][,vhost=on|off][,vhostfd=N|vhostfds=N:N...]  or  fd=N|fds=N:N...\n"
	  "      scripts run only when named; /etc/qemu-ifup is never run implicitly" },
	{ "stream", NETDEV_STREAM, stream_key, stream_finish,
	  "frames over a stream socket, each after its 4-byte big-endian length\n"
	  "      [,server=on|off],addr.type=inet,addr.host=HOST,addr.port=PORT\n"
	  "      | addr.type=unix,addr.path=PATH | addr.type=fd,addr.str=N" },
	{ "socket", NETDEV_STREAM /* or dgram: socket_finish decides */, socket_key, socket_finish,
	  "the older socket spelling: listen=[HOST]:PORT | connect=HOST:PORT (stream),\n"
	  "      udp=HOST:PORT,localaddr=HOST:PORT | mcast=GROUP:PORT[,localaddr=ADDR]\n"
	  "      (datagrams) | fd=N" },
	{ "dgram", NETDEV_DGRAM, dgram_key, dgram_finish,
	  "one frame per datagram\n"
	  "      remote.type=inet,remote.host=,remote.port=[,local.type=inet,local.host=,\n"
	  "      local.port=] (a multicast remote is joined) | local/remote.type=unix,\n"
	  "      local/remote.path= | local.type=fd,local.str=N" },
};

#define NR_NETDEV_KINDS (sizeof(netdev_kinds) / sizeof(netdev_kinds[0]))

static void netdev_help(struct cli *c)
{
	fprintf(c->out, "Available netdev back-end types (-netdev TYPE,id=ID,...):\n");
	for (size_t i = 0; i < NR_NETDEV_KINDS; i++)
		fprintf(c->out, "  %s: %s\n", netdev_kinds[i].name, netdev_kinds[i].help);
}

/* QEMU's identifiers: a letter, then letters, digits, '-', '.', '_' */
static bool valid_id(const char *s, size_t len)
{
	if (len == 0 || len > 127 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* "52:54:00:12:34:56" (or with '-') */
bool cli_parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static enum cli_result nic_key(struct netdev_parse *p, const struct kv *kv, bool *handled)
{
	struct nic_config *nic = p->nic;
	*handled = true;
	if (kv_key_is(kv, "model")) {
		if (kv_val_is(kv, "help")) {
			fprintf(p->c->out, "Available NIC models:\nvirtio-net-pci\n");
			return CLI_DONE;
		}
		if (!kv_val_is(kv, "virtio-net-pci") && !kv_val_is(kv, "virtio"))
			return cli_fail(p->c, "model=%.*s is not supported (virtio-net-pci)",
					(int)kv->val_len, kv->val);
		nic->model = "virtio-net-pci";
		return CLI_RUN;
	}
	if (kv_key_is(kv, "mac")) {
		if (!cli_parse_mac(kv->val, kv->val_len, nic->mac))
			return cli_fail(p->c, "mac=%.*s: expected six hex bytes, e.g. "
					      "52:54:00:12:34:56",
					(int)kv->val_len, kv->val);
		if (nic->mac[0] & 1)
			return cli_fail(p->c, "mac=%.*s is a multicast address", (int)kv->val_len,
					kv->val);
		nic->has_mac = true;
		return CLI_RUN;
	}
	*handled = false;
	return CLI_RUN;
}

static enum cli_result netdev_parse(struct cli *c, const char *arg, bool is_nic)
{
	struct vm_config *cfg = c->cfg;
	struct kv_iter it = { .p = arg, .implied = "type" };
	struct kv kv;

	cfg->net_configured = true;
	if (!kv_next(&it, &kv) || !kv_key_is(&kv, "type") || kv.val_len == 0)
		return cli_fail(c, "missing back-end type (%s)", NETDEV_TYPES);
	if (kv_val_is(&kv, "help")) {
		netdev_help(c);
		return CLI_DONE;
	}
	if (is_nic && kv_val_is(&kv, "none")) {
		if (kv_next(&it, &kv))
			return cli_fail(c, "none takes no parameters");
		return CLI_RUN;
	}
	const struct netdev_kind *kind = NULL;
	for (size_t i = 0; i < NR_NETDEV_KINDS; i++)
		if (kv_val_is(&kv, netdev_kinds[i].name))
			kind = &netdev_kinds[i];
	if (!kind)
		return cli_fail(c, "unsupported back-end type '%.*s' (%s)", (int)kv.val_len, kv.val,
				NETDEV_TYPES);
	if (cfg->nr_netdevs == VM_MAX_NETDEVS)
		return cli_fail(c, "at most %d network back-ends", VM_MAX_NETDEVS);

	struct netdev_config *nd = &cfg->netdevs[cfg->nr_netdevs];
	memset(nd, 0, sizeof(*nd));
	nd->type = kind->type;
	nd->type_name = kind->name;
	switch (nd->type) {
	case NETDEV_USER:
		nd->user.ipv4 = nd->user.ipv6 = true;
		nd->user.net = 0x0a000200;	/* 10.0.2.0/24 */
		nd->user.mask = 0xffffff00;
		break;
	case NETDEV_TAP:
		nd->tap.queues = 1;
		break;
	case NETDEV_STREAM:
		nd->stream.addr.fd = -1;
		break;
	case NETDEV_DGRAM:
		nd->dgram.local.fd = nd->dgram.remote.fd = -1;
		break;
	}

	struct nic_config nic = { .model = "virtio-net-pci" };
	struct netdev_parse p = { .c = c, .nd = nd, .nic = is_nic ? &nic : NULL,
				  .sock_addr.fd = -1, .sock_local.fd = -1 };
	while (kv_next(&it, &kv)) {
		if (kv_key_is(&kv, "id")) {
			if (!valid_id(kv.val, kv.val_len))
				return cli_fail(c, "id=%.*s: an id starts with a letter and has "
						   "only letters, digits, '-', '.' and '_'",
						(int)kv.val_len, kv.val);
			for (unsigned i = 0; i < cfg->nr_netdevs; i++)
				if (strlen(cfg->netdevs[i].id) == kv.val_len &&
				    !memcmp(cfg->netdevs[i].id, kv.val, kv.val_len))
					return cli_fail(c, "duplicate id '%.*s'", (int)kv.val_len,
							kv.val);
			if (!kv_text(&p, &kv, &nd->id))
				return CLI_ERROR;
			continue;
		}
		if (is_nic) {
			bool handled;
			enum cli_result r = nic_key(&p, &kv, &handled);
			if (r != CLI_RUN)
				return r;
			if (handled)
				continue;
		}
		if (!kv.key)
			return kv_unknown(c, &kv);
		switch (kind->key(&p, &kv)) {
		case KEY_OK:
			continue;
		case KEY_ERROR:
			return CLI_ERROR;
		case KEY_UNKNOWN:
			return kv_unknown(c, &kv);
		}
	}
	if (!nd->id) {
		if (!is_nic)
			return cli_fail(c, "missing id= (what a network card's netdev= names)");
		char gen[16];
		snprintf(gen, sizeof(gen), "#nic%u", cfg->nr_nics);
		if (!(nd->id = nd_text(&p, gen, strlen(gen))))
			return CLI_ERROR;
	}
	if (kind->finish(&p) != CLI_RUN)
		return CLI_ERROR;
	cfg->nr_netdevs++;
	if (is_nic) {
		nic.netdev = nd->id;
		cfg->nics[cfg->nr_nics++] = nic;
	}
	return CLI_RUN;
}

enum cli_result cli_opt_netdev(struct cli *c, const char *arg)
{
	return netdev_parse(c, arg, false);
}

enum cli_result cli_opt_nic(struct cli *c, const char *arg)
{
	return netdev_parse(c, arg, true);
}

/* -net none: no network.  The older -net nic / -net user pairs (hubs) are
 * not supported. */
enum cli_result cli_opt_net(struct cli *c, const char *arg)
{
	c->cfg->net_configured = true;
	if (strcmp(arg, "none"))
		return cli_fail(c, "'%s' is not supported (only none): use -nic, or -netdev with "
				   "a network card",
				arg);
	return CLI_RUN;
}
