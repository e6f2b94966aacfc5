/* -chardev: QEMU's character back-ends (stdio, file, socket, pty, null)
 * that a device names by id (-serial chardev:ID, -device virtconsole,
 * chardev=ID, vhost-user's socket), and the checks that need the whole
 * command line: every id named exists, a back-end has one user, and stdio
 * has one reader. */
#include "cli/cli_internal.h"

#include <string.h>

enum chardev_key_group { CK_ANY, CK_FILE, CK_SOCKET, CK_STDIO };

static const struct {
	const char *name;
	enum chardev_kind kind;
	enum chardev_key_group group;
} backends[] = {
	{ "null", CHARDEV_NULL, CK_ANY },
	{ "stdio", CHARDEV_STDIO, CK_STDIO },
	{ "file", CHARDEV_FILE, CK_FILE },
	{ "socket", CHARDEV_SOCKET, CK_SOCKET },
	{ "pty", CHARDEV_PTY, CK_ANY },
};

#define NR_BACKENDS (sizeof(backends) / sizeof(backends[0]))

static void chardev_help(struct cli *c)
{
	fprintf(c->out,
		"Available chardev backend types:\n"
		"  null,id=ID\n"
		"  stdio,id=ID[,signal=on|off]\n"
		"  file,id=ID,path=PATH[,append=on|off]\n"
		"  socket,id=ID,path=PATH[,server=on|off][,wait=on|off]\n"
		"  socket,id=ID,host=HOST,port=PORT[,server=on|off][,wait=on|off][,nodelay=on|off]\n"
		"  pty,id=ID\n");
}

/* A bare "server" or "nowait" (QEMU's old spelling of server=on, wait=off) */
static bool socket_flag(struct chardev_config *cd, const struct kv *kv)
{
	if (kv->key)
		return false;
	if (kv_val_is(kv, "server"))
		cd->server = true;
	else if (kv_val_is(kv, "nowait"))
		cd->wait = false;
	else
		return false;
	return true;
}

static enum cli_result socket_param(struct cli *c, struct chardev_config *cd, const struct kv *kv,
				    bool *handled)
{
	*handled = true;
	if (socket_flag(cd, kv))
		return CLI_RUN;
	if (kv_key_is(kv, "path"))
		return kv_string(c, kv, &cd->path);
	if (kv_key_is(kv, "host")) {
		cd->tcp = true;
		return kv_string(c, kv, &cd->host);
	}
	if (kv_key_is(kv, "port")) {
		uint64_t port;
		if (kv_number(c, kv, &port) != CLI_RUN)
			return CLI_ERROR;
		if (port > 65535)
			return cli_fail(c, "port=%.*s is above 65535", (int)kv->val_len, kv->val);
		cd->tcp = true;
		cd->port = (uint16_t)port;
		return CLI_RUN;
	}
	if (kv_key_is(kv, "server"))
		return kv_bool(c, kv, &cd->server);
	if (kv_key_is(kv, "wait"))
		return kv_bool(c, kv, &cd->wait);
	if (kv_key_is(kv, "nodelay"))
		return kv_bool(c, kv, &cd->nodelay);
	if (kv_key_is(kv, "telnet") || kv_key_is(kv, "tn3270") || kv_key_is(kv, "websocket") ||
	    kv_key_is(kv, "tls-creds") || kv_key_is(kv, "reconnect") || kv_key_is(kv, "fd"))
		return cli_fail(c, "socket: %.*s= is not supported", (int)kv->key_len, kv->key);
	*handled = false;
	return CLI_RUN;
}

static enum cli_result socket_check(struct cli *c, struct chardev_config *cd)
{
	if (cd->tcp && cd->path)
		return cli_fail(c, "socket: give path= (unix) or host= and port= (tcp), not both");
	if (!cd->tcp && !cd->path)
		return cli_fail(c, "socket: needs path= (unix) or host= and port= (tcp)");
	if (cd->tcp) {
		if (!cd->host)
			cd->host = "";
		if (!cd->port && !cd->server)
			return cli_fail(c, "socket: port= is required to connect");
		if (!*cd->host && !cd->server)
			return cli_fail(c, "socket: host= is required to connect");
	} else if (!*cd->path) {
		return cli_fail(c, "socket: empty path=");
	}
	if (!cd->server)
		cd->wait = false;	/* only a server waits */
	return CLI_RUN;
}

enum cli_result cli_opt_chardev(struct cli *c, const char *arg)
{
	struct vm_config *cfg = c->cfg;
	struct kv_iter it = { .p = arg, .implied = "backend" };
	struct kv kv;
	int backend = -1;

	if (cfg->nr_chardevs == VM_MAX_CHARDEV_CONFIGS)
		return cli_fail(c, "more than %d character devices", VM_MAX_CHARDEV_CONFIGS);
	struct chardev_config *cd = &cfg->chardevs[cfg->nr_chardevs];
	/* QEMU's defaults: a server waits for its first client, Ctrl-C on
	 * stdio is a signal */
	*cd = (struct chardev_config){ .wait = true, .signal = true };

	while (kv_next(&it, &kv)) {
		if (kv_key_is(&kv, "backend")) {
			if (kv_val_is(&kv, "help")) {
				chardev_help(c);
				return CLI_DONE;
			}
			for (size_t i = 0; i < NR_BACKENDS && backend < 0; i++)
				if (kv_val_is(&kv, backends[i].name))
					backend = (int)i;
			if (backend < 0)
				return cli_fail(c, "unsupported backend '%.*s' (null, stdio, file, socket "
						   "or pty)",
						(int)kv.val_len, kv.val);
			cd->kind = backends[backend].kind;
			continue;
		}
		if (kv_key_is(&kv, "id")) {
			if (!kv.val_len)
				return cli_fail(c, "empty id=");
			if (kv_string(c, &kv, &cd->id) != CLI_RUN)
				return CLI_ERROR;
			continue;
		}
		if (kv_key_is(&kv, "mux")) {
			bool mux;
			if (kv_bool(c, &kv, &mux) != CLI_RUN)
				return CLI_ERROR;
			if (mux)
				return cli_fail(c, "mux=on is not supported: give each device a "
						   "character device of its own");
			continue;
		}
		if (backend < 0)
			return cli_fail(c, "missing backend (null, stdio, file, socket or pty)");
		bool handled = false;
		enum cli_result r = CLI_RUN;
		switch (backends[backend].group) {
		case CK_FILE:
			if (kv_key_is(&kv, "path")) {
				handled = true;
				r = kv_string(c, &kv, &cd->path);
			} else if (kv_key_is(&kv, "append")) {
				handled = true;
				r = kv_bool(c, &kv, &cd->append);
			}
			break;
		case CK_SOCKET:
			r = socket_param(c, cd, &kv, &handled);
			break;
		case CK_STDIO:
			if (kv_key_is(&kv, "signal")) {
				handled = true;
				r = kv_bool(c, &kv, &cd->signal);
			}
			break;
		case CK_ANY:
			break;
		}
		if (r != CLI_RUN)
			return r;
		if (!handled) {
			if (!kv.key)
				return kv_unknown(c, &kv);
			return cli_fail(c, "%s has no parameter '%.*s'", backends[backend].name,
					(int)kv.key_len, kv.key);
		}
	}
	if (backend < 0)
		return cli_fail(c, "missing backend (null, stdio, file, socket or pty)");
	if (!cd->id)
		return cli_fail(c, "%s: id= is required", backends[backend].name);
	if (vm_config_find_chardev(cfg, cd->id))
		return cli_fail(c, "duplicate id '%s'", cd->id);
	if (cd->kind == CHARDEV_FILE && (!cd->path || !*cd->path))
		return cli_fail(c, "file: path= is required");
	if (cd->kind == CHARDEV_SOCKET && socket_check(c, cd) != CLI_RUN)
		return CLI_ERROR;
	if (cd->kind != CHARDEV_SOCKET)
		cd->wait = false;
	cfg->nr_chardevs++;
	return CLI_RUN;
}

const struct chardev_config *cli_chardev_claim(struct cli *c, const char *id, const char *user)
{
	const struct chardev_config *cd = vm_config_find_chardev(c->cfg, id);
	if (!cd) {
		cli_fail(c, "%s: chardev '%s' is not defined (add -chardev ...,id=%s)", user, id, id);
		return NULL;
	}
	unsigned i = (unsigned)(cd - c->cfg->chardevs);
	if (c->chardev_users[i]) {
		cli_fail(c, "%s: chardev '%s' is already used by %s", user, id, c->chardev_users[i]);
		return NULL;
	}
	c->chardev_users[i] = user;
	return cd;
}

/* -serial/-debugcon chardev:ID: a copy of the back-end, keeping its id */
static enum cli_result resolve_reference(struct cli *c, struct chardev_config *ref,
					 const char *opt, const char *user)
{
	if (!ref->id || ref->kind != CHARDEV_NONE)
		return CLI_RUN;
	c->opt = opt;
	const struct chardev_config *cd = cli_chardev_claim(c, ref->id, user);
	if (!cd)
		return CLI_ERROR;
	*ref = *cd;
	return CLI_RUN;
}

enum cli_result cli_chardevs_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;

	if (resolve_reference(c, &cfg->serial, "-serial", "the serial port") != CLI_RUN ||
	    resolve_reference(c, &cfg->debugcon, "-debugcon", "the debug console") != CLI_RUN)
		return CLI_ERROR;
	/* stdin has one reader: a -chardev stdio takes it from the default
	 * COM1 (which then is not there), and from nothing given explicitly */
	for (unsigned i = 0; i < cfg->nr_chardevs; i++) {
		const struct chardev_config *cd = &cfg->chardevs[i];
		if (cd->kind != CHARDEV_STDIO || (cfg->serial.id && !strcmp(cfg->serial.id, cd->id)))
			continue;
		if (cfg->serial.kind != CHARDEV_STDIO)
			continue;
		if (c->serial_given) {
			c->opt = "-chardev";
			return cli_fail(c, "stdio is used by both -serial and chardev '%s' (give "
					   "-serial none, or -serial chardev:%s)",
					cd->id, cd->id);
		}
		cfg->serial = (struct chardev_config){ .kind = CHARDEV_NONE };
	}
	unsigned nr_stdio = 0;
	for (unsigned i = 0; i < cfg->nr_chardevs; i++)
		nr_stdio += cfg->chardevs[i].kind == CHARDEV_STDIO;
	if (nr_stdio > 1) {
		c->opt = "-chardev";
		return cli_fail(c, "stdio is used by more than one character device");
	}
	return CLI_RUN;
}
