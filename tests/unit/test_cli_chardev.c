/* -chardev: each back-end's parameters parsed into struct chardev_config
 * with QEMU's defaults, -serial chardev:ID resolved, one user per
 * back-end and one reader of stdin, and every malformed parameter refused
 * with one line that names the option. */
#include "cli_run.h"

#define CHARDEV_FAILS(what, arg) FAILS("-chardev", what, "-chardev", arg)

static const struct chardev_config *cd0(void)
{
	return &run.cfg.chardevs[0];
}

TEST(backends)
{
	OK("-m", "64");
	CHECK_EQ(run.cfg.nr_chardevs, 0);

	OK("-chardev", "null,id=n");
	CHECK_EQ(run.cfg.nr_chardevs, 1);
	CHECK_EQ(cd0()->kind, CHARDEV_NULL);
	CHECK_STR(cd0()->id, "n");
	CHECK(!cd0()->wait);

	OK("-chardev", "stdio,id=con", "-serial", "none");
	CHECK_EQ(cd0()->kind, CHARDEV_STDIO);
	CHECK(cd0()->signal);
	OK("-chardev", "stdio,id=con,signal=off", "-serial", "none");
	CHECK(!cd0()->signal);

	OK("-chardev", "file,id=f,path=/tmp/a,,b.log");
	CHECK_EQ(cd0()->kind, CHARDEV_FILE);
	CHECK_STR(cd0()->path, "/tmp/a,b.log");
	CHECK(!cd0()->append);
	OK("-chardev", "file,path=out.txt,id=f,append=on");
	CHECK(cd0()->append);

	OK("-chardev", "pty,id=p");
	CHECK_EQ(cd0()->kind, CHARDEV_PTY);

	/* several, found by id */
	OK("-chardev", "null,id=a", "-chardev", "pty,id=b", "-chardev", "file,id=c,path=x");
	CHECK_EQ(run.cfg.nr_chardevs, 3);
	CHECK_EQ(vm_config_find_chardev(&run.cfg, "b")->kind, CHARDEV_PTY);
	CHECK_STR(vm_config_find_chardev(&run.cfg, "c")->path, "x");
	CHECK(!vm_config_find_chardev(&run.cfg, "d"));
}

TEST(sockets)
{
	/* a unix client by default: it does not wait */
	OK("-chardev", "socket,id=vhost0,path=/run/vhost.sock");
	CHECK_EQ(cd0()->kind, CHARDEV_SOCKET);
	CHECK_STR(cd0()->id, "vhost0");
	CHECK_STR(cd0()->path, "/run/vhost.sock");
	CHECK(!cd0()->tcp);
	CHECK(!cd0()->server);
	CHECK(!cd0()->wait);
	CHECK_STR(vm_config_find_chardev(&run.cfg, "vhost0")->path, "/run/vhost.sock");

	/* a server waits for its first client unless told not to */
	OK("-chardev", "socket,id=s,path=/tmp/s,server=on");
	CHECK(cd0()->server);
	CHECK(cd0()->wait);
	OK("-chardev", "socket,id=s,path=/tmp/s,server=on,wait=off");
	CHECK(cd0()->server);
	CHECK(!cd0()->wait);
	/* QEMU's older spelling */
	OK("-chardev", "socket,id=s,path=/tmp/s,server,nowait");
	CHECK(cd0()->server);
	CHECK(!cd0()->wait);

	OK("-chardev", "socket,id=t,host=127.0.0.1,port=4555,server=on,wait=off,nodelay=on");
	CHECK(cd0()->tcp);
	CHECK_STR(cd0()->host, "127.0.0.1");
	CHECK_EQ(cd0()->port, 4555);
	CHECK(cd0()->nodelay);
	/* a server without host= listens on every address */
	OK("-chardev", "socket,id=t,port=4555,server=on");
	CHECK(cd0()->tcp);
	CHECK_STR(cd0()->host, "");
	OK("-chardev", "socket,id=t,host=::1,port=1");
	CHECK_STR(cd0()->host, "::1");
	CHECK(!cd0()->server);
}

TEST(errors)
{
	CHARDEV_FAILS("unsupported backend 'vc'", "vc,id=x");
	CHARDEV_FAILS("unsupported backend 'spicevmc'", "spicevmc,id=x");
	CHARDEV_FAILS("missing backend", "id=x");
	CHARDEV_FAILS("stdio: id= is required", "stdio");
	CHARDEV_FAILS("empty id=", "null,id=");
	CHARDEV_FAILS("file: path= is required", "file,id=f");
	CHARDEV_FAILS("file: path= is required", "file,id=f,path=");
	CHARDEV_FAILS("null has no parameter 'path'", "null,id=n,path=x");
	CHARDEV_FAILS("pty has no parameter 'server'", "pty,id=p,server=on");
	CHARDEV_FAILS("stdio has no parameter 'append'", "stdio,id=s,append=on");
	CHARDEV_FAILS("file has no parameter 'signal'", "file,id=f,path=x,signal=off");
	CHARDEV_FAILS("unexpected 'bogus'", "null,id=n,bogus");
	CHARDEV_FAILS("signal=maybe: expected on or off", "stdio,id=s,signal=maybe");
	CHARDEV_FAILS("mux=on is not supported", "stdio,id=s,mux=on");
	CHARDEV_FAILS("socket: needs path= (unix) or host= and port= (tcp)", "socket,id=s");
	CHARDEV_FAILS("not both", "socket,id=s,path=/x,host=a,port=1");
	CHARDEV_FAILS("port= is required to connect", "socket,id=s,host=localhost");
	CHARDEV_FAILS("host= is required to connect", "socket,id=s,port=22");
	CHARDEV_FAILS("port=65536 is above 65535", "socket,id=s,port=65536,server=on");
	CHARDEV_FAILS("invalid number 'x' for port", "socket,id=s,port=x,server=on");
	CHARDEV_FAILS("empty path=", "socket,id=s,path=");
	CHARDEV_FAILS("server=perhaps: expected on or off", "socket,id=s,path=/x,server=perhaps");
	CHARDEV_FAILS("socket: telnet= is not supported", "socket,id=s,port=1,server=on,telnet=on");
	CHARDEV_FAILS("socket: reconnect= is not supported", "socket,id=s,path=/x,reconnect=1");
	CHARDEV_FAILS("socket has no parameter 'append'", "socket,id=s,path=/x,append=on");
	FAILS("-chardev", "duplicate id 'a'", "-chardev", "null,id=a", "-chardev", "pty,id=a");

	const char *many[MAX_ARGS];
	static char ids[VM_MAX_CHARDEV_CONFIGS + 1][32];
	int n = 0;
	for (int i = 0; i <= VM_MAX_CHARDEV_CONFIGS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "null,id=c%d", i);
		many[n++] = "-chardev";
		many[n++] = ids[i];
	}
	many[n] = NULL;
	CHECK(fails_with("-chardev", "more than 8 character devices", many));
}

TEST(help)
{
	CHECK_EQ(parse_argv(ARGS("-chardev", "help")), CLI_DONE);
	CHECK(strstr(run.out, "socket,id=ID,path=PATH"));
	CHECK(strstr(run.out, "pty,id=ID"));
	CHECK(!run.err[0]);
}

/* -serial chardev:ID is a copy of the back-end; a back-end has one user */
TEST(serial_on_a_chardev)
{
	OK("-chardev", "socket,id=s,path=/tmp/com1.sock,server=on,wait=off", "-serial",
	   "chardev:s");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_SOCKET);
	CHECK_STR(run.cfg.serial.path, "/tmp/com1.sock");
	CHECK_STR(run.cfg.serial.id, "s");
	CHECK(run.cfg.serial.server);
	/* the -chardev may come after */
	OK("-serial", "chardev:p", "-chardev", "pty,id=p");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_PTY);
	OK("-debugcon", "chardev:f", "-chardev", "file,id=f,path=dbg.log");
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_FILE);
	CHECK_STR(run.cfg.debugcon.path, "dbg.log");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);
	/* stdio through a chardev: the serial port still reads stdin */
	OK("-chardev", "stdio,id=con", "-serial", "chardev:con");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_STDIO);

	FAILS("-serial", "chardev 'nope' is not defined", "-serial", "chardev:nope");
	FAILS("-serial", "chardev: needs an id", "-serial", "chardev:");
	FAILS("-debugcon", "chardev 'x' is already used by the serial port", "-chardev", "pty,id=x",
	      "-serial", "chardev:x", "-debugcon", "chardev:x");
}

/* stdin has one reader */
TEST(one_stdio)
{
	/* a -chardev stdio takes the terminal from the default COM1 */
	OK("-chardev", "stdio,id=con");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_NONE);
	OK("-chardev", "stdio,id=con", "-serial", "file:com1.log");
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_FILE);
	/* output only: the debug console may share stdout */
	OK("-chardev", "stdio,id=con", "-debugcon", "stdio");
	CHECK_EQ(run.cfg.debugcon.kind, CHARDEV_STDIO);
	FAILS("-chardev", "stdio is used by both -serial and chardev 'con'", "-chardev",
	      "stdio,id=con", "-serial", "stdio");
	FAILS("-chardev", "stdio is used by more than one character device", "-chardev",
	      "stdio,id=a", "-chardev", "stdio,id=b", "-serial", "none");
}

/* virtio-serial-pci and its ports: numbers as QEMU gives them, one user
 * per back-end */
TEST(virtio_serial_ports)
{
	OK("-chardev", "stdio,id=c", "-device", "virtio-serial-pci", "-device",
	   "virtconsole,chardev=c");
	CHECK_EQ(run.cfg.nr_virtio, 1);
	CHECK_EQ(run.cfg.virtio[0].type, VIRTIO_DEVICE_SERIAL);
	CHECK_EQ(run.cfg.virtio[0].serial.max_ports, 31);
	CHECK_EQ(run.cfg.virtio[0].common.vectors, 2);
	CHECK_EQ(run.cfg.nr_serial_ports, 1);
	CHECK(run.cfg.serial_ports[0].console);
	CHECK_EQ(run.cfg.serial_ports[0].nr, 0);
	CHECK_EQ(run.cfg.serial_ports[0].chardev, 0);
	CHECK_EQ(run.cfg.serial.kind, CHARDEV_NONE);

	/* a serial port first takes 1; a second console, the next free */
	OK("-device", "virtio-serial", "-chardev", "pty,id=p", "-device",
	   "virtserialport,chardev=p,name=org.example.0", "-device", "virtconsole", "-device",
	   "virtconsole");
	CHECK_EQ(run.cfg.nr_serial_ports, 3);
	CHECK_EQ(run.cfg.serial_ports[0].nr, 1);
	CHECK_STR(run.cfg.serial_ports[0].name, "org.example.0");
	CHECK_EQ(run.cfg.serial_ports[1].nr, 0);
	CHECK_EQ(run.cfg.serial_ports[1].chardev, -1);
	CHECK_EQ(run.cfg.serial_ports[2].nr, 2);

	/* bus= and nr=, and two buses */
	OK("-device", "virtio-serial-pci,id=a,max_ports=4", "-device", "virtio-serial-pci,id=b",
	   "-device", "virtserialport,bus=a.0,nr=3", "-device", "virtserialport,nr=3");
	CHECK_EQ(run.cfg.virtio[0].serial.max_ports, 4);
	CHECK_EQ(run.cfg.serial_ports[0].bus, 0);
	CHECK_EQ(run.cfg.serial_ports[0].nr, 3);
	CHECK_EQ(run.cfg.serial_ports[1].bus, 1);

	FAILS("-device", "virtconsole needs a virtio-serial bus", "-device", "virtconsole");
	FAILS("-device", "bus 'x.0' is not a virtio-serial-pci", "-device", "virtio-serial-pci,id=a",
	      "-device", "virtconsole,bus=x.0");
	FAILS("-device", "port number 0 is kept for virtconsole", "-device", "virtio-serial-pci",
	      "-device", "virtserialport,nr=0");
	FAILS("-device", "virtserialport: port 2 is already taken", "-device", "virtio-serial-pci",
	      "-device", "virtserialport,nr=2", "-device", "virtserialport,nr=2");
	FAILS("-device", "nr=3 is not below max_ports=2", "-device", "virtio-serial-pci,max_ports=2",
	      "-device", "virtserialport,nr=3");
	FAILS("-device", "all 2 ports of the virtio-serial bus are taken", "-device",
	      "virtio-serial-pci,max_ports=2", "-device", "virtconsole", "-device", "virtconsole",
	      "-device", "virtconsole");
	FAILS("-device", "max_ports=32 is outside 1..31", "-device", "virtio-serial-pci,max_ports=32");
	FAILS("-device", "max_ports=0 is outside 1..31", "-device", "virtio-serial-pci,max_ports=0");
	FAILS("-device", "virtconsole: chardev 'nope' is not defined", "-device", "virtio-serial-pci",
	      "-device", "virtconsole,chardev=nope");
	FAILS("-device", "chardev 'p' is already used by virtconsole", "-chardev", "pty,id=p",
	      "-device", "virtio-serial-pci", "-device", "virtconsole,chardev=p", "-device",
	      "virtserialport,chardev=p");
	FAILS("-device", "chardev 'p' is already used by the serial port", "-chardev", "pty,id=p",
	      "-serial", "chardev:p", "-device", "virtio-serial-pci", "-device",
	      "virtconsole,chardev=p");
	FAILS("-device", "virtconsole has no parameter 'drive'", "-device", "virtio-serial-pci",
	      "-device", "virtconsole,drive=x");
}

RUN_TESTS(T(backends), T(sockets), T(errors), T(help), T(serial_on_a_chardev), T(one_stdio),
	  T(virtio_serial_ports))
