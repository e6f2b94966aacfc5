/* -netdev, -nic and -net: each back-end type's parameters parsed into
 * struct netdev_config, QEMU's defaults derived, and every malformed
 * parameter refused with one line that names the option. */
#include <fcntl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_run.h"

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define OK(...) CHECK(parses_ok(ARGS(__VA_ARGS__)))
#define FAILS(opt, what, ...) CHECK(fails_with(opt, what, ARGS(__VA_ARGS__)))
#define NETDEV_FAILS(what, arg) FAILS("-netdev", what, "-netdev", arg)

static uint32_t ipv4_addr(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)(a << 24 | b << 16 | c << 8 | d);
}

static const struct netdev_config *nd0(void)
{
	return &run.cfg.netdevs[0];
}

TEST(no_network_by_default)
{
	OK("-m", "64");
	CHECK_EQ(run.cfg.nr_netdevs, 0);
	CHECK_EQ(run.cfg.nr_nics, 0);
	CHECK(!run.cfg.net_configured);
	OK("-net", "none");
	CHECK(run.cfg.net_configured);
	CHECK_EQ(run.cfg.nr_netdevs, 0);
	OK("-nic", "none");
	CHECK(run.cfg.net_configured);
	CHECK_EQ(run.cfg.nr_nics, 0);
	FAILS("-net", "'user' is not supported (only none)", "-net", "user");
	FAILS("-net", "use -nic", "-net", "nic,model=virtio");
	FAILS("-nic", "none takes no parameters", "-nic", "none,model=virtio");
}

TEST(user_defaults)
{
	OK("-netdev", "user,id=n0");
	CHECK_EQ(run.cfg.nr_netdevs, 1);
	CHECK(run.cfg.net_configured);
	const struct netdev_config *nd = nd0();
	CHECK_EQ(nd->type, NETDEV_USER);
	CHECK_STR(nd->id, "n0");
	CHECK_STR(nd->type_name, "user");
	CHECK(nd->user.ipv4 && nd->user.ipv6 && !nd->user.restricted);
	CHECK_EQ(nd->user.net, ipv4_addr(10, 0, 2, 0));
	CHECK_EQ(nd->user.mask, 0xffffff00);
	CHECK_EQ(nd->user.host, ipv4_addr(10, 0, 2, 2));
	CHECK_EQ(nd->user.dhcp_start, ipv4_addr(10, 0, 2, 15));
	CHECK_EQ(nd->user.dns, ipv4_addr(10, 0, 2, 3));
	static const uint8_t fec0[16] = { 0xfe, 0xc0 };
	CHECK(!memcmp(nd->user.ipv6_prefix, fec0, 16));
	CHECK_EQ(nd->user.ipv6_prefix_len, 64);
	CHECK_EQ(nd->user.ipv6_host[15], 2);
	CHECK_EQ(nd->user.ipv6_dns[15], 3);
	CHECK(nd->user.hostname == NULL && nd->user.dnssearch[0] == NULL);
	CHECK_EQ(nd->user.nr_hostfwd, 0);
	CHECK_EQ(nd->user.nr_guestfwd, 0);
	CHECK_EQ(run.cfg.nr_nics, 0);
}

TEST(user_network)
{
	OK("-netdev", "user,id=n0,net=192.168.76.0/24");
	CHECK_EQ(nd0()->user.net, ipv4_addr(192, 168, 76, 0));
	CHECK_EQ(nd0()->user.host, ipv4_addr(192, 168, 76, 2));
	CHECK_EQ(nd0()->user.dhcp_start, ipv4_addr(192, 168, 76, 15));
	CHECK_EQ(nd0()->user.dns, ipv4_addr(192, 168, 76, 3));
	OK("-netdev", "user,id=n0,net=10.1.0.0/255.255.0.0");
	CHECK_EQ(nd0()->user.mask, 0xffff0000);
	CHECK_EQ(nd0()->user.host, ipv4_addr(10, 1, 2, 2));
	CHECK_EQ(nd0()->user.dhcp_start, ipv4_addr(10, 1, 2, 15));
	/* the address is masked, and a bare address keeps /24 */
	OK("-netdev", "user,id=n0,net=10.0.9.77/24");
	CHECK_EQ(nd0()->user.net, ipv4_addr(10, 0, 9, 0));
	OK("-netdev", "user,id=n0,net=172.16.5.0");
	CHECK_EQ(nd0()->user.net, ipv4_addr(172, 16, 5, 0));
	CHECK_EQ(nd0()->user.mask, 0xffffff00);
	/* order does not matter: host= before net= */
	OK("-netdev", "user,id=n0,host=10.5.0.1,dns=10.5.0.53,dhcpstart=10.5.0.100,net=10.5.0.0/16,"
		      "restrict=on,hostname=vm1,domainname=example.org,dnssearch=a.example,"
		      "dnssearch=b.example,tftp=/srv/tftp,bootfile=pxelinux.0,ipv6=off");
	const struct netdev_user *u = &nd0()->user;
	CHECK_EQ(u->net, ipv4_addr(10, 5, 0, 0));
	CHECK_EQ(u->host, ipv4_addr(10, 5, 0, 1));
	CHECK_EQ(u->dns, ipv4_addr(10, 5, 0, 53));
	CHECK_EQ(u->dhcp_start, ipv4_addr(10, 5, 0, 100));
	CHECK(u->restricted && u->ipv4 && !u->ipv6);
	CHECK_STR(u->hostname, "vm1");
	CHECK_STR(u->domainname, "example.org");
	CHECK_STR(u->dnssearch[0], "a.example");
	CHECK_STR(u->dnssearch[1], "b.example");
	CHECK(u->dnssearch[2] == NULL);
	CHECK_STR(u->tftp, "/srv/tftp");
	CHECK_STR(u->bootfile, "pxelinux.0");
	OK("-netdev", "user,id=n0,restrict=yes,ipv4=off");
	CHECK(nd0()->user.restricted && !nd0()->user.ipv4 && nd0()->user.ipv6);
	OK("-netdev", "user,id=n0,ipv6-net=fd00:1::/48,ipv6-host=fd00:1::1");
	CHECK_EQ(nd0()->user.ipv6_prefix_len, 48);
	CHECK_EQ(nd0()->user.ipv6_prefix[1], 0);
	CHECK_EQ(nd0()->user.ipv6_host[15], 1);
	CHECK_EQ(nd0()->user.ipv6_dns[15], 3);	/* ::3 of the given prefix */
	CHECK_EQ(nd0()->user.ipv6_dns[0], 0xfd);
}

TEST(user_errors)
{
	NETDEV_FAILS("missing id=", "user");
	NETDEV_FAILS("net=10.0.2.0/33", "user,id=n0,net=10.0.2.0/33");
	NETDEV_FAILS("net=10.0.2.0/3", "user,id=n0,net=10.0.2.0/3");
	NETDEV_FAILS("net=300.0.0.0", "user,id=n0,net=300.0.0.0");
	NETDEV_FAILS("net=10.0.2.0/255.0.255.0", "user,id=n0,net=10.0.2.0/255.0.255.0");
	NETDEV_FAILS("net=10.0.2/24", "user,id=n0,net=10.0.2/24");
	NETDEV_FAILS("host= is not an address of the network", "user,id=n0,host=10.0.3.2");
	NETDEV_FAILS("host= is not an address of the network", "user,id=n0,host=10.0.2.255");
	NETDEV_FAILS("host= is not an address of the network", "user,id=n0,host=10.0.2.0");
	NETDEV_FAILS("dns= and host= must differ", "user,id=n0,dns=10.0.2.2");
	NETDEV_FAILS("dns= is not an address", "user,id=n0,dns=8.8.8.8");
	NETDEV_FAILS("dhcpstart= must differ", "user,id=n0,dhcpstart=10.0.2.3");
	NETDEV_FAILS("dhcpstart= is not an address", "user,id=n0,dhcpstart=10.0.3.15");
	NETDEV_FAILS("host=1.2.3: invalid IPv4 address", "user,id=n0,host=1.2.3");
	NETDEV_FAILS("leave no network", "user,id=n0,ipv4=off,ipv6=off");
	NETDEV_FAILS("restrict=maybe: expected on or off", "user,id=n0,restrict=maybe");
	NETDEV_FAILS("ipv6-net=fec0::/200", "user,id=n0,ipv6-net=fec0::/200");
	NETDEV_FAILS("ipv6-host=zz: invalid IPv6", "user,id=n0,ipv6-host=zz");
	NETDEV_FAILS("smb= is not supported", "user,id=n0,smb=/srv");
	NETDEV_FAILS("dnssearch=a..b..!: invalid domain", "user,id=n0,dnssearch=a..b..!");
	NETDEV_FAILS("unknown parameter 'foo'", "user,id=n0,foo=1");
	NETDEV_FAILS("unexpected 'bare'", "user,id=n0,bare");
	/* model= and mac= belong to -nic's card */
	NETDEV_FAILS("unknown parameter 'model'", "user,id=n0,model=virtio-net-pci");
}

TEST(hostfwd)
{
	OK("-netdev", "user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,"
		      "hostfwd=::8080-:80,hostfwd=tcp:0.0.0.0:0-10.0.2.20:443");
	const struct netdev_user *u = &nd0()->user;
	CHECK_EQ(u->nr_hostfwd, 4);
	CHECK(!u->hostfwd[0].udp);
	CHECK_EQ(u->hostfwd[0].host_addr, 0);
	CHECK_EQ(u->hostfwd[0].host_port, 2222);
	CHECK_EQ(u->hostfwd[0].guest_addr, 0);
	CHECK_EQ(u->hostfwd[0].guest_port, 22);
	CHECK(u->hostfwd[1].udp);
	CHECK_EQ(u->hostfwd[1].host_addr, ipv4_addr(127, 0, 0, 1));
	CHECK_EQ(u->hostfwd[1].host_port, 5353);
	CHECK_EQ(u->hostfwd[1].guest_addr, ipv4_addr(10, 0, 2, 15));
	CHECK_EQ(u->hostfwd[1].guest_port, 53);
	CHECK(!u->hostfwd[2].udp);
	CHECK_EQ(u->hostfwd[2].host_port, 8080);
	CHECK_EQ(u->hostfwd[3].host_port, 0);
	CHECK_EQ(u->hostfwd[3].guest_addr, ipv4_addr(10, 0, 2, 20));

	static const struct {
		const char *arg, *what;
	} bad[] = {
		{ "tcp:2222-:22", "expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
		{ "sctp::1-:2", "the protocol is tcp or udp" },
		{ "tcp::70000-:22", "invalid host port" },
		{ "tcp::abc-:22", "invalid host port" },
		{ "tcp::-:22", "invalid host port" },
		{ "tcp::22-:0", "invalid guest port" },
		{ "tcp::22-:", "invalid guest port" },
		{ "tcp::22-:99999", "invalid guest port" },
		{ "tcp::22-:22x", "invalid guest port" },
		{ "tcp:1.2.3:22-:22", "invalid host address" },
		{ "tcp:localhost:22-:22", "invalid host address" },
		{ "tcp::22-10.0.2:22", "invalid guest address" },
		{ "tcp:[::1]:22-:22", "IPv6 addresses are not supported" },
		{ "tcp::22-[::1]:22", "IPv6 addresses are not supported" },
		{ "", "expected [tcp|udp]" },
		{ "tcp", "expected [tcp|udp]" },
		{ "tcp::22", "expected [tcp|udp]" },
		{ "tcp::22-22", "expected [tcp|udp]" },
		{ "tcp::22-10.0.3.15:22", "guest address 10.0.3.15 is not in the network" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char arg[128];
		snprintf(arg, sizeof(arg), "user,id=n0,hostfwd=%s", bad[i].arg);
		NETDEV_FAILS(bad[i].what, arg);
	}
	/* at most NETDEV_MAX_HOSTFWD rules */
	char many[2048] = "user,id=n0";
	for (int i = 0; i <= NETDEV_MAX_HOSTFWD; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",hostfwd=tcp::%d-:22",
			 1000 + i);
	NETDEV_FAILS("at most 16 hostfwd= rules", many);
}

TEST(guestfwd)
{
	OK("-netdev", "user,id=n0,guestfwd=tcp:10.0.2.100:1234-cmd:nc 127.0.0.1 80,"
		      "guestfwd=:10.0.2.101:80-unix:/tmp/web.sock,guestfwd=tcp::4321-cmd:cat -");
	const struct netdev_user *u = &nd0()->user;
	CHECK_EQ(u->nr_guestfwd, 3);
	CHECK_EQ(u->guestfwd[0].addr, ipv4_addr(10, 0, 2, 100));
	CHECK_EQ(u->guestfwd[0].port, 1234);
	CHECK_EQ(u->guestfwd[0].kind, NETDEV_GUESTFWD_CMD);
	CHECK_STR(u->guestfwd[0].target, "nc 127.0.0.1 80");
	CHECK_EQ(u->guestfwd[1].kind, NETDEV_GUESTFWD_UNIX);
	CHECK_STR(u->guestfwd[1].target, "/tmp/web.sock");
	CHECK_EQ(u->guestfwd[2].addr, 0);
	CHECK_STR(u->guestfwd[2].target, "cat -");

	NETDEV_FAILS("only tcp can be forwarded", "user,id=n0,guestfwd=udp:10.0.2.100:53-cmd:x");
	NETDEV_FAILS("invalid port", "user,id=n0,guestfwd=tcp:10.0.2.100:0-cmd:x");
	NETDEV_FAILS("invalid address", "user,id=n0,guestfwd=tcp:10.0.2:80-cmd:x");
	NETDEV_FAILS("the target is cmd:COMMAND or unix:PATH",
		     "user,id=n0,guestfwd=tcp:10.0.2.100:80-chardev0");
	NETDEV_FAILS("the target is cmd:COMMAND", "user,id=n0,guestfwd=tcp:10.0.2.100:80-cmd:");
	NETDEV_FAILS("not a free address", "user,id=n0,guestfwd=tcp:10.0.2.2:80-cmd:x");
	NETDEV_FAILS("not a free address", "user,id=n0,guestfwd=tcp:10.0.3.1:80-cmd:x");
	NETDEV_FAILS("port 80 is forwarded twice",
		     "user,id=n0,guestfwd=tcp:10.0.2.100:80-cmd:x,guestfwd=tcp:10.0.2.100:80-cmd:y");
	NETDEV_FAILS("expected tcp:", "user,id=n0,guestfwd=tcp:10.0.2.100");
	/* strings are copied into a bounded area: too much text is refused */
	static char huge[4096];
	int n = snprintf(huge, sizeof(huge), "user,id=n0,guestfwd=tcp:10.0.2.100:80-cmd:");
	memset(huge + n, 'x', 2500);
	NETDEV_FAILS("parameters too long", huge);
}

TEST(tap)
{
	OK("-netdev", "tap,id=t0,ifname=tap0,script=no,downscript=no");
	const struct netdev_tap *t = &nd0()->tap;
	CHECK_EQ(nd0()->type, NETDEV_TAP);
	CHECK_STR(t->ifname, "tap0");
	CHECK(t->script == NULL && t->downscript == NULL);
	CHECK_EQ(t->vnet_hdr, NETDEV_VNET_HDR_AUTO);
	CHECK_EQ(t->queues, 1);
	CHECK(!t->vhost);
	CHECK_EQ(t->nr_fds, 0);
	OK("-netdev", "tap,id=t0,script=/etc/qemu-ifup,downscript=/etc/qemu-ifdown,vnet_hdr=off,"
		      "queues=4,vhost=on");
	CHECK_STR(nd0()->tap.script, "/etc/qemu-ifup");
	CHECK_STR(nd0()->tap.downscript, "/etc/qemu-ifdown");
	CHECK_EQ(nd0()->tap.vnet_hdr, NETDEV_VNET_HDR_OFF);
	CHECK_EQ(nd0()->tap.queues, 4);
	CHECK(nd0()->tap.vhost);
	CHECK(nd0()->tap.ifname == NULL);
	OK("-netdev", "tap,id=t0,script=,vnet_hdr=on");
	CHECK(nd0()->tap.script == NULL);
	CHECK_EQ(nd0()->tap.vnet_hdr, NETDEV_VNET_HDR_ON);

	int fd = open("/dev/null", O_RDWR), fd2 = dup(fd);
	char arg[128];
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d", fd);
	OK("-netdev", arg);
	CHECK_EQ(nd0()->tap.nr_fds, 1);
	CHECK_EQ(nd0()->tap.fds[0], fd);
	CHECK_EQ(nd0()->tap.queues, 1);
	snprintf(arg, sizeof(arg), "tap,id=t0,fds=%d:%d,vhostfds=%d:%d", fd, fd2, fd2, fd);
	OK("-netdev", arg);
	CHECK_EQ(nd0()->tap.nr_fds, 2);
	CHECK_EQ(nd0()->tap.fds[1], fd2);
	CHECK_EQ(nd0()->tap.queues, 2);
	CHECK(nd0()->tap.vhost);
	CHECK_EQ(nd0()->tap.nr_vhostfds, 2);

	NETDEV_FAILS("does not run /etc/qemu-ifup implicitly", "tap,id=t0");
	NETDEV_FAILS("does not run /etc/qemu-ifup implicitly", "tap,id=t0,ifname=tap0,downscript=no");
	NETDEV_FAILS("an interface name of 1 to 15", "tap,id=t0,script=no,ifname=abcdefghijklmnop");
	NETDEV_FAILS("an interface name of 1 to 15", "tap,id=t0,script=no,ifname=");
	NETDEV_FAILS("an interface name of 1 to 15", "tap,id=t0,script=no,ifname=a/b");
	NETDEV_FAILS("fd=abc: expected a file descriptor number", "tap,id=t0,fd=abc");
	NETDEV_FAILS("fd=99999: not an open file descriptor", "tap,id=t0,fd=99999");
	NETDEV_FAILS("expected a file descriptor number", "tap,id=t0,fds=3::4");
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d,ifname=tap0", fd);
	NETDEV_FAILS("do not go with fd=", arg);
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d,queues=2", fd);
	NETDEV_FAILS("do not go with fd=", arg);
	snprintf(arg, sizeof(arg), "tap,id=t0,fd=%d,fds=%d", fd, fd);
	NETDEV_FAILS("give fd= or fds= once", arg);
	snprintf(arg, sizeof(arg), "tap,id=t0,fds=%d:%d,vhostfd=%d", fd, fd2, fd);
	NETDEV_FAILS("1 vhost descriptors for 2 queues", arg);
	NETDEV_FAILS("queues=0 is outside 1..16", "tap,id=t0,script=no,queues=0");
	NETDEV_FAILS("queues=17 is outside 1..16", "tap,id=t0,script=no,queues=17");
	NETDEV_FAILS("invalid number 'x' for queues", "tap,id=t0,script=no,queues=x");
	NETDEV_FAILS("vnet_hdr=auto: expected on or off", "tap,id=t0,script=no,vnet_hdr=auto");
	NETDEV_FAILS("helper= is not supported", "tap,id=t0,helper=/usr/lib/qemu/qemu-bridge-helper");
	close(fd);
	close(fd2);
}

TEST(stream)
{
	OK("-netdev", "stream,id=s0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=5555");
	const struct netdev_stream *s = &nd0()->stream;
	CHECK_EQ(nd0()->type, NETDEV_STREAM);
	CHECK(s->server);
	CHECK_EQ(s->addr.type, NETDEV_ADDR_INET);
	CHECK_STR(s->addr.host, "127.0.0.1");
	CHECK_EQ(s->addr.port, 5555);
	OK("-netdev", "stream,id=s0,addr.type=unix,addr.path=/tmp/net.sock");
	CHECK(!nd0()->stream.server);
	CHECK_EQ(nd0()->stream.addr.type, NETDEV_ADDR_UNIX);
	CHECK_STR(nd0()->stream.addr.path, "/tmp/net.sock");
	/* a server may listen on every address */
	OK("-netdev", "stream,id=s0,server=on,addr.type=inet,addr.port=5555,reconnect=0");
	CHECK(nd0()->stream.addr.host == NULL);
	OK("-netdev", "stream,id=s0,addr.type=inet,addr.host=peer.example,addr.port=1");
	OK("-netdev", "stream,id=s0,addr.type=inet,addr.host=::1,addr.port=1");

	NETDEV_FAILS("missing addr.type", "stream,id=s0");
	NETDEV_FAILS("addr.type=tcp: expected inet, unix or fd", "stream,id=s0,addr.type=tcp");
	NETDEV_FAILS("missing addr.port", "stream,id=s0,addr.type=inet,addr.host=127.0.0.1");
	NETDEV_FAILS("missing addr.host", "stream,id=s0,addr.type=inet,addr.port=5555");
	NETDEV_FAILS("addr.port=0: invalid port",
		     "stream,id=s0,addr.type=inet,addr.host=h,addr.port=0");
	NETDEV_FAILS("addr.port=65536: invalid port",
		     "stream,id=s0,addr.type=inet,addr.host=h,addr.port=65536");
	NETDEV_FAILS("addr.host=bad_host!: invalid host",
		     "stream,id=s0,addr.type=inet,addr.host=bad_host!,addr.port=1");
	NETDEV_FAILS("missing addr.path", "stream,id=s0,addr.type=unix");
	NETDEV_FAILS("are for addr.type=inet", "stream,id=s0,addr.type=unix,addr.path=/x,addr.port=1");
	NETDEV_FAILS("addr.path= is for addr.type=unix",
		     "stream,id=s0,addr.type=inet,addr.host=h,addr.port=1,addr.path=/x");
	char longpath[200];
	snprintf(longpath, sizeof(longpath), "stream,id=s0,addr.type=unix,addr.path=/%0120d", 0);
	NETDEV_FAILS("a Unix socket path of 1 to 107 bytes", longpath);
	NETDEV_FAILS("reconnect= is not supported",
		     "stream,id=s0,addr.type=unix,addr.path=/x,reconnect=5");
	NETDEV_FAILS("unknown parameter 'addr.numeric'",
		     "stream,id=s0,addr.type=inet,addr.host=h,addr.port=1,addr.numeric=on");
	NETDEV_FAILS("server=2: expected on or off", "stream,id=s0,server=2");
	NETDEV_FAILS("missing addr.str", "stream,id=s0,addr.type=fd");
	NETDEV_FAILS("addr.str=77777: not an open file descriptor",
		     "stream,id=s0,addr.type=fd,addr.str=77777");
}

TEST(socket_and_dgram)
{
	OK("-netdev", "socket,id=s0,listen=:5555");
	CHECK_EQ(nd0()->type, NETDEV_STREAM);
	CHECK_STR(nd0()->type_name, "socket");
	CHECK(nd0()->stream.server);
	CHECK_STR(nd0()->stream.addr.host, "");
	CHECK_EQ(nd0()->stream.addr.port, 5555);
	OK("-netdev", "socket,id=s0,connect=127.0.0.1:5555");
	CHECK(!nd0()->stream.server);
	CHECK_STR(nd0()->stream.addr.host, "127.0.0.1");
	OK("-netdev", "socket,id=s0,connect=[::1]:5555");
	CHECK_STR(nd0()->stream.addr.host, "::1");
	OK("-netdev", "socket,id=s0,udp=127.0.0.1:5556,localaddr=127.0.0.1:5557");
	CHECK_EQ(nd0()->type, NETDEV_DGRAM);
	CHECK_EQ(nd0()->dgram.remote.type, NETDEV_ADDR_INET);
	CHECK_EQ(nd0()->dgram.remote.port, 5556);
	CHECK_EQ(nd0()->dgram.local.port, 5557);
	OK("-netdev", "socket,id=s0,localaddr=127.0.0.1,mcast=230.0.0.1:1234");
	CHECK_EQ(nd0()->type, NETDEV_DGRAM);
	CHECK_STR(nd0()->dgram.remote.host, "230.0.0.1");
	CHECK_STR(nd0()->dgram.local.host, "127.0.0.1");
	CHECK_EQ(nd0()->dgram.local.port, 0);
	OK("-netdev", "socket,id=s0,mcast=239.1.2.3:4000");
	CHECK_EQ(nd0()->dgram.local.type, NETDEV_ADDR_NONE);

	int sv[2];
	char arg[128];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(arg, sizeof(arg), "socket,id=s0,fd=%d", sv[0]);
	OK("-netdev", arg);
	CHECK_EQ(nd0()->type, NETDEV_STREAM);
	CHECK_EQ(nd0()->stream.addr.type, NETDEV_ADDR_FD);
	CHECK_EQ(nd0()->stream.addr.fd, sv[0]);
	close(sv[0]);
	close(sv[1]);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	snprintf(arg, sizeof(arg), "socket,id=s0,fd=%d", sv[0]);
	OK("-netdev", arg);
	CHECK_EQ(nd0()->type, NETDEV_DGRAM);
	CHECK_EQ(nd0()->dgram.local.type, NETDEV_ADDR_FD);
	CHECK_EQ(nd0()->dgram.local.fd, sv[0]);
	CHECK_EQ(nd0()->dgram.remote.type, NETDEV_ADDR_NONE);
	close(sv[0]);
	close(sv[1]);
	int file = open("/dev/null", O_RDONLY);
	snprintf(arg, sizeof(arg), "socket,id=s0,fd=%d", file);
	NETDEV_FAILS("is not a socket", arg);
	close(file);

	NETDEV_FAILS("give one of listen=, connect=", "socket,id=s0");
	NETDEV_FAILS("listen= and connect= do not go together",
		     "socket,id=s0,listen=:1,connect=127.0.0.1:1");
	NETDEV_FAILS("connect=:5555: missing host", "socket,id=s0,connect=:5555");
	NETDEV_FAILS("connect=127.0.0.1: expected HOST:PORT", "socket,id=s0,connect=127.0.0.1");
	NETDEV_FAILS("invalid port '0'", "socket,id=s0,connect=127.0.0.1:0");
	NETDEV_FAILS("invalid port 'x'", "socket,id=s0,connect=127.0.0.1:x");
	NETDEV_FAILS("write an IPv6 address in brackets", "socket,id=s0,connect=::1:5555");
	NETDEV_FAILS("invalid IPv6 address", "socket,id=s0,connect=[zz]:5555");
	NETDEV_FAILS("expected HOST:PORT", "socket,id=s0,connect=[::1]5555");
	NETDEV_FAILS("invalid host 'a b'", "socket,id=s0,connect=a b:1");
	NETDEV_FAILS("udp= needs localaddr=HOST:PORT", "socket,id=s0,udp=127.0.0.1:1");
	NETDEV_FAILS("udp= needs localaddr=HOST:PORT",
		     "socket,id=s0,udp=127.0.0.1:1,localaddr=127.0.0.1");
	NETDEV_FAILS("not an IPv4 multicast group", "socket,id=s0,mcast=127.0.0.1:1234");
	NETDEV_FAILS("a multicast group needs mcast=",
		     "socket,id=s0,udp=230.0.0.1:1,localaddr=127.0.0.1:2");
	NETDEV_FAILS("localaddr= goes with udp= or mcast=",
		     "socket,id=s0,listen=:1,localaddr=127.0.0.1");
	NETDEV_FAILS("localaddr= is the interface's address, no port",
		     "socket,id=s0,mcast=230.0.0.1:1,localaddr=127.0.0.1:5");
	NETDEV_FAILS("localaddr= given twice",
		     "socket,id=s0,localaddr=127.0.0.1,localaddr=127.0.0.1");

	OK("-netdev", "dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=7001,"
		      "remote.type=inet,remote.host=127.0.0.1,remote.port=7002");
	CHECK_EQ(nd0()->type, NETDEV_DGRAM);
	CHECK_EQ(nd0()->dgram.local.port, 7001);
	CHECK_EQ(nd0()->dgram.remote.port, 7002);
	OK("-netdev", "dgram,id=d0,local.type=unix,local.path=/tmp/a,remote.type=unix,"
		      "remote.path=/tmp/b");
	CHECK_STR(nd0()->dgram.local.path, "/tmp/a");
	CHECK_STR(nd0()->dgram.remote.path, "/tmp/b");
	OK("-netdev", "dgram,id=d0,remote.type=inet,remote.host=224.0.0.251,remote.port=5353");
	OK("-netdev", "dgram,id=d0,remote.type=inet,remote.host=224.0.0.251,remote.port=5353,"
		      "local.type=inet,local.host=127.0.0.1");
	NETDEV_FAILS("missing remote.type", "dgram,id=d0");
	NETDEV_FAILS("missing remote.type",
		     "dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=1");
	NETDEV_FAILS("missing local.type",
		     "dgram,id=d0,remote.type=inet,remote.host=127.0.0.1,remote.port=1");
	NETDEV_FAILS("different types", "dgram,id=d0,remote.type=inet,remote.host=127.0.0.1,"
					"remote.port=1,local.type=unix,local.path=/x");
	NETDEV_FAILS("local= is only local.type=inet,local.host=ADDR",
		     "dgram,id=d0,remote.type=inet,remote.host=230.0.0.1,remote.port=1,"
		     "local.type=inet,local.host=127.0.0.1,local.port=9");
	NETDEV_FAILS("unknown parameter 'remote.colour'", "dgram,id=d0,remote.colour=red");
}

TEST(nic)
{
	OK("-nic", "user,model=virtio-net-pci,mac=52:54:00:12:34:57,hostfwd=tcp::2222-:22");
	CHECK_EQ(run.cfg.nr_nics, 1);
	CHECK_EQ(run.cfg.nr_netdevs, 1);
	CHECK(run.cfg.net_configured);
	const struct nic_config *nic = &run.cfg.nics[0];
	CHECK_STR(nic->netdev, "#nic0");
	CHECK_STR(nic->model, "virtio-net-pci");
	CHECK(nic->has_mac);
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
	CHECK(!memcmp(nic->mac, mac, 6));
	CHECK_STR(nd0()->id, "#nic0");
	CHECK_EQ(nd0()->user.nr_hostfwd, 1);
	CHECK(vm_config_find_netdev(&run.cfg, "#nic0") == nd0());
	OK("-nic", "user");
	CHECK(!run.cfg.nics[0].has_mac);
	CHECK_STR(run.cfg.nics[0].model, "virtio-net-pci");
	OK("-nic", "user,model=virtio,mac=52-54-00-AB-cd-EF");
	CHECK_EQ(run.cfg.nics[0].mac[3], 0xab);
	CHECK_EQ(run.cfg.nics[0].mac[5], 0xef);
	/* -nic's id names its netdev; several -nic and -netdev mix */
	OK("-netdev", "user,id=n0", "-nic", "tap,id=t1,script=no", "-nic", "user", "-netdev",
	   "socket,id=s1,listen=:5000");
	CHECK_EQ(run.cfg.nr_netdevs, 4);
	CHECK_EQ(run.cfg.nr_nics, 2);
	CHECK_STR(run.cfg.nics[0].netdev, "t1");
	CHECK_STR(run.cfg.nics[1].netdev, "#nic1");
	CHECK(vm_config_find_netdev(&run.cfg, "n0") == &run.cfg.netdevs[0]);
	CHECK(vm_config_find_netdev(&run.cfg, "t1") == &run.cfg.netdevs[1]);
	CHECK(vm_config_find_netdev(&run.cfg, "s1") == &run.cfg.netdevs[3]);
	CHECK(vm_config_find_netdev(&run.cfg, "nope") == NULL);

	FAILS("-nic", "missing back-end type", "-nic", "model=virtio-net-pci");
	FAILS("-nic", "missing back-end type", "-nic", "");
	FAILS("-nic", "model=e1000 is not supported", "-nic", "user,model=e1000");
	FAILS("-nic", "mac=52:54:00:12:34: expected six hex bytes", "-nic", "user,mac=52:54:00:12:34");
	FAILS("-nic", "expected six hex bytes", "-nic", "user,mac=52:54:00:12:34:zz");
	FAILS("-nic", "expected six hex bytes", "-nic", "user,mac=52:54:00:12:34:567");
	FAILS("-nic", "expected six hex bytes", "-nic", "user,mac=52;54:00:12:34:56");
	FAILS("-nic", "is a multicast address", "-nic", "user,mac=01:00:5e:00:00:01");
	FAILS("-nic", "does not run /etc/qemu-ifup implicitly", "-nic", "tap");
	FAILS("-nic", "duplicate id 'n0'", "-netdev", "user,id=n0", "-nic", "user,id=n0");
	FAILS("-nic", "unknown parameter 'bogus'", "-nic", "user,bogus=1");
}

TEST(ids_and_types)
{
	NETDEV_FAILS("missing back-end type", "");
	NETDEV_FAILS("missing back-end type", "id=n0");
	NETDEV_FAILS("unsupported back-end type 'bogus'", "bogus,id=x");
	NETDEV_FAILS("unsupported back-end type 'none'", "none");
	NETDEV_FAILS("unsupported back-end type 'l2tpv3'", "l2tpv3,id=x");
	NETDEV_FAILS("an id starts with a letter", "user,id=0abc");
	NETDEV_FAILS("an id starts with a letter", "user,id=");
	NETDEV_FAILS("an id starts with a letter", "user,id=#nic0");
	NETDEV_FAILS("an id starts with a letter", "user,id=a b");
	OK("-netdev", "user,id=a-b.c_d9");
	FAILS("-netdev", "duplicate id 'n0'", "-netdev", "user,id=n0", "-netdev", "tap,id=n0,script=no");
	/* a limit on the number, with a message */
	const char *args[2 * VM_MAX_NETDEVS + 3];
	char ids[VM_MAX_NETDEVS + 1][32];
	int n = 0;
	for (int i = 0; i <= VM_MAX_NETDEVS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "user,id=n%d", i);
		args[n++] = "-netdev";
		args[n++] = ids[i];
	}
	args[n] = NULL;
	CHECK(fails_with("-netdev", "at most 8 network back-ends", args));

	CHECK_EQ(parse_argv(ARGS("-netdev", "help")), CLI_DONE);
	CHECK_STR(run.err, "");
	static const char *const listed[] = { "user", "tap", "stream", "socket", "dgram",
					      "hostfwd=", "guestfwd=", "vnet_hdr=", "queues=",
					      "addr.type=", "mcast=", "/etc/qemu-ifup" };
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
		CHECK(strstr(run.out, listed[i]) != NULL);
	CHECK_EQ(parse_argv(ARGS("-nic", "user,model=help")), CLI_DONE);
	CHECK(strstr(run.out, "virtio-net-pci") != NULL);
	CHECK_EQ(parse_argv(ARGS("-help")), CLI_DONE);
	CHECK(strstr(run.out, "-netdev") && strstr(run.out, "-nic"));
}

/* the cards: -device virtio-net-pci names a -netdev, -nic adds one; MACs
 * count up from QEMU's 52:54:00:12:34:56 */
TEST(virtio_net_cards)
{
	OK("-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mq=on,rx_queue_size=1024,csum=off",
	   "-nic", "user", "-nic", "user,mac=52:54:00:00:00:01");
	CHECK_EQ(run.cfg.nr_virtio, 3);
	const struct virtio_device_config *v = run.cfg.virtio;
	CHECK(v[0].type == VIRTIO_DEVICE_NET && v[1].type == VIRTIO_DEVICE_NET &&
	      v[2].type == VIRTIO_DEVICE_NET);
	CHECK_EQ(v[0].net.netdev, 0);
	CHECK(v[0].net.mq);
	CHECK_EQ(v[0].net.rx_queue_size, 1024);
	CHECK_EQ(v[0].net.tx_queue_size, 256);
	CHECK_EQ(v[0].net.features_off, 1);	/* VIRTIO_NET_F_CSUM */
	CHECK_EQ(v[0].net.mac[5], 0x56);
	CHECK_EQ(v[1].net.netdev, 1);
	CHECK(!v[1].net.mq);
	CHECK_EQ(v[1].net.mac[5], 0x57);
	CHECK_EQ(v[2].net.netdev, 2);
	CHECK_EQ(v[2].net.mac[5], 0x01);
	OK("-device", "virtio-net-pci,netdev=n0,mrg_rxbuf=off,mrg_rxbuf=on,ctrl_vq=off", "-netdev",
	   "user,id=n0");
	CHECK_EQ(run.cfg.virtio[0].net.features_off, 1ull << 17);

	FAILS("-device", "needs netdev=ID", "-device", "virtio-net-pci");
	FAILS("-device", "netdev=n1 names no -netdev", "-netdev", "user,id=n0", "-device",
	      "virtio-net-pci,netdev=n1");
	FAILS("-device", "netdev 'n0' is used by two network cards", "-netdev", "user,id=n0",
	      "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-net-pci,netdev=n0");
	FAILS("-device", "rx_queue_size=100: expected a power of two", "-device",
	      "virtio-net-pci,netdev=n0,rx_queue_size=100");
	FAILS("-device", "tx_queue_size=2048", "-device", "virtio-net-pci,netdev=n0,tx_queue_size=2048");
	FAILS("-device", "expected a unicast address", "-device",
	      "virtio-net-pci,netdev=n0,mac=01:00:5e:00:00:01");
	FAILS("-device", "host_tso4=maybe: expected on or off", "-device",
	      "virtio-net-pci,netdev=n0,host_tso4=maybe");
	FAILS("-device", "virtio-net-pci has no parameter 'speed'", "-device",
	      "virtio-net-pci,netdev=n0,speed=10");
}

RUN_TESTS(T(no_network_by_default), T(user_defaults), T(user_network), T(user_errors),
	  T(hostfwd), T(guestfwd), T(tap), T(stream), T(socket_and_dgram), T(nic),
	  T(ids_and_types), T(virtio_net_cards))
