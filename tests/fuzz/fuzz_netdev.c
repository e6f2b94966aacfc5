/* libFuzzer target: arbitrary text as the arguments of -netdev and -nic
 * (hostfwd=, guestfwd=, addresses, ports, ids...).  The parser must never
 * crash or read out of bounds, and what it accepts must be consistent: ids
 * present and unique, every string inside the netdev's own text, counts
 * within their arrays, ports and queue counts in range, each -nic's netdev
 * findable. */
// FUZZ_SOURCES: src/cli/*.c src/block/*.c src/core/log.c src/core/vm.c src/mem/*.c
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fuzz_no_tcg.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	return devnull ? 0 : 1;
}

static void check_text(const struct netdev_config *nd, const char *s)
{
	if (s && (s < nd->text || s >= nd->text + sizeof(nd->text) ||
		  s + strlen(s) >= nd->text + sizeof(nd->text)))
		abort();
}

/* port_optional: a dgram's local side may name just an address */
static void check_addr(const struct netdev_config *nd, const struct netdev_addr *a,
		       bool port_optional)
{
	check_text(nd, a->host);
	check_text(nd, a->path);
	if (a->type == NETDEV_ADDR_INET && a->port == 0 && !port_optional)
		abort();
	if (a->type == NETDEV_ADDR_UNIX && (!a->path || !a->path[0] || strlen(a->path) > 107))
		abort();
	if (a->type == NETDEV_ADDR_FD && a->fd < 0)
		abort();
}

static void check_config(const struct vm_config *cfg)
{
	if (cfg->nr_netdevs > VM_MAX_NETDEVS || cfg->nr_nics > VM_MAX_NICS)
		abort();
	for (unsigned i = 0; i < cfg->nr_netdevs; i++) {
		const struct netdev_config *nd = &cfg->netdevs[i];
		if (!nd->id || !nd->id[0] || nd->text_used > sizeof(nd->text))
			abort();
		check_text(nd, nd->id);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(cfg->netdevs[j].id, nd->id))
				abort();
		switch (nd->type) {
		case NETDEV_USER: {
			const struct netdev_user *u = &nd->user;
			if (u->nr_hostfwd > NETDEV_MAX_HOSTFWD || u->nr_guestfwd > NETDEV_MAX_GUESTFWD)
				abort();
			if ((u->host & u->mask) != u->net || (u->dns & u->mask) != u->net ||
			    (u->dhcp_start & u->mask) != u->net || u->host == u->dns)
				abort();
			for (unsigned k = 0; k < u->nr_hostfwd; k++)
				if (!u->hostfwd[k].guest_port)
					abort();
			for (unsigned k = 0; k < u->nr_guestfwd; k++) {
				if (!u->guestfwd[k].port || !u->guestfwd[k].target)
					abort();
				check_text(nd, u->guestfwd[k].target);
			}
			check_text(nd, u->hostname);
			check_text(nd, u->domainname);
			check_text(nd, u->tftp);
			check_text(nd, u->bootfile);
			for (unsigned k = 0; u->dnssearch[k]; k++) {
				if (k >= NETDEV_MAX_DNSSEARCH)
					abort();
				check_text(nd, u->dnssearch[k]);
			}
			break;
		}
		case NETDEV_TAP:
			if (nd->tap.queues < 1 || nd->tap.queues > NETDEV_MAX_QUEUES ||
			    nd->tap.nr_fds > NETDEV_MAX_QUEUES ||
			    (nd->tap.nr_vhostfds && nd->tap.nr_vhostfds != nd->tap.queues))
				abort();
			check_text(nd, nd->tap.ifname);
			check_text(nd, nd->tap.script);
			check_text(nd, nd->tap.downscript);
			break;
		case NETDEV_STREAM:
			if (nd->stream.addr.type == NETDEV_ADDR_NONE)
				abort();
			check_addr(nd, &nd->stream.addr, false);
			break;
		case NETDEV_DGRAM:
			check_addr(nd, &nd->dgram.local, true);
			check_addr(nd, &nd->dgram.remote, false);
			break;
		}
	}
	for (unsigned i = 0; i < cfg->nr_nics; i++)
		if (!vm_config_find_netdev(cfg, cfg->nics[i].netdev) || !cfg->nics[i].model ||
		    (cfg->nics[i].has_mac && (cfg->nics[i].mac[0] & 1)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_config cfg;
	if (size < 1 || size > 8192)
		return 0;
	/* the first byte picks the options; a newline splits two arguments */
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	char *second = strchr(text, '\n');
	if (second)
		*second++ = '\0';
	char *argv[8];
	int argc = 0;
	argv[argc++] = (char *)"minivmm";
	argv[argc++] = (char *)"-kernel";
	argv[argc++] = (char *)"k";
	argv[argc++] = (char *)(data[0] & 1 ? "-nic" : "-netdev");
	argv[argc++] = text;
	if (second) {
		argv[argc++] = (char *)(data[0] & 2 ? "-nic" : "-netdev");
		argv[argc++] = second;
	}
	argv[argc] = NULL;
	if (cli_parse(argc, argv, &cfg, devnull, devnull) == CLI_RUN)
		check_config(&cfg);
	free(text);
	return 0;
}
