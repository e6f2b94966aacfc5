/* Character sinks: stdout and files, and above all that a reader who
 * stops reading never makes a write wait (the writer holds dev_lock). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"

#include "core/chardev.h"
#include "platform_vm.h"

static char path[64];

static size_t read_file(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

/* A FIFO at path with its read end open, non-blocking, and as small as a
 * pipe gets (one page): the test is the reader, and it can stall */
static int fifo_reader(void)
{
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int fd = mkstemp(path);
	if (fd >= 0)
		close(fd);
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return -1;
	int r = open(path, O_RDONLY | O_NONBLOCK);
	if (r >= 0)
		fcntl(r, F_SETPIPE_SZ, 4096);
	return r;
}

/* Read what the pipe holds now, appending to buf[*got..cap) */
static void drain_reader(int r, uint8_t *buf, size_t *got, size_t cap)
{
	while (*got < cap) {
		ssize_t n = read(r, buf + *got, cap - *got);
		if (n <= 0)
			break;
		*got += (size_t)n;
	}
}

static int room_calls;
static void count_room(void *opaque)
{
	(void)opaque;
	room_calls++;
}

TEST(sinks)
{
	struct chardev cd;
	struct chardev_config cfg = { .kind = CHARDEV_NONE };
	/* none: writes vanish, and there is always room */
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK_EQ(cd.fd, -1);
	chardev_write(&cd, (const uint8_t *)"x", 1);
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	chardev_close(&cd);
	/* a file is created afresh (truncated) and closed on exec */
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int fd = mkstemp(path);
	CHECK_EQ(write(fd, "old contents", 12), 12);
	close(fd);
	cfg.kind = CHARDEV_FILE;
	cfg.path = path;
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK(fcntl(cd.fd, F_GETFD) & FD_CLOEXEC);
	chardev_write(&cd, (const uint8_t *)"new", 3);
	CHECK_EQ(chardev_pending(&cd), 0);
	chardev_close(&cd);
	CHECK_EQ(cd.fd, -1);
	char buf[32];
	read_file(path, buf, sizeof(buf));
	CHECK_STR(buf, "new");
	unlink(path);
	cfg.path = NULL;
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), -EINVAL);
}

/* stdout is shared with the shell and stderr: never closed, and its flags
 * are left alone; a pipe or terminal there gets a non-blocking
 * description of our own */
TEST(stdout_keeps_its_flags)
{
	int saved = dup(STDOUT_FILENO);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	fflush(stdout);
	dup2(p[1], STDOUT_FILENO);
	struct chardev cd;
	struct chardev_config cfg = { .kind = CHARDEV_STDIO };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK(cd.fd != STDOUT_FILENO);
	CHECK(fcntl(cd.fd, F_GETFL) & O_NONBLOCK);
	CHECK(!(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK));
	chardev_write(&cd, (const uint8_t *)"via stdout", 10);
	chardev_close(&cd);
	CHECK(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	char buf[32] = { 0 };
	CHECK_EQ(read(p[0], buf, sizeof(buf) - 1), 10);
	CHECK_STR(buf, "via stdout");
	close(p[0]);
	/* a regular file is written through the shared description, so that
	 * its offset (and O_APPEND) stay everybody's */
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int f = mkstemp(path);
	saved = dup(STDOUT_FILENO);
	dup2(f, STDOUT_FILENO);
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK_EQ(cd.fd, STDOUT_FILENO);
	CHECK(!cd.owned);
	chardev_close(&cd);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(f);
	unlink(path);
}

TEST(reader_gone)
{
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	chardev_write(&cd, (const uint8_t *)"ok", 2);
	char buf[4];
	CHECK_EQ(read(r, buf, sizeof(buf)), 2);
	close(r);
	/* SIGPIPE is ignored, as minivmm does: a closed pipe is EPIPE */
	chardev_write(&cd, (const uint8_t *)"lost", 4);
	CHECK(cd.broken);
	/* from now on quietly dropped, and never in the way */
	chardev_write(&cd, (const uint8_t *)"lost", 4);
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	chardev_close(&cd);
	unlink(path);
}

TEST(stalled_reader_never_blocks)
{
	static uint8_t out[4 * CHARDEV_BUF_SIZE], in[4 * CHARDEV_BUF_SIZE];
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	chardev_set_room_ready(&cd, count_room, NULL);
	room_calls = 0;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	alarm(20);	/* a write that waited for the reader would hang here */
	/* byte by byte, as a UART writes, until the buffer is full */
	size_t sent = 0;
	while (chardev_room(&cd) > 0 && sent < sizeof(out))
		chardev_write(&cd, out + sent++, 1);
	CHECK_EQ(chardev_room(&cd), 0);
	CHECK_EQ(chardev_pending(&cd), CHARDEV_BUF_SIZE);
	/* more than the buffer holds is dropped, and counted */
	chardev_write(&cd, out + sent, 100);
	CHECK_EQ(cd.dropped, 100);
	/* the reader takes some: a flush hands over more and says so */
	size_t got = 0;
	while (got < sent) {
		size_t before = got;
		drain_reader(r, in, &got, sizeof(in));
		chardev_flush(&cd);
		if (got == before && chardev_pending(&cd) == 0)
			break;
	}
	alarm(0);
	CHECK(room_calls > 0);
	CHECK_EQ(got, sent);
	CHECK(!memcmp(in, out, sent));
	CHECK_EQ(chardev_pending(&cd), 0);
	CHECK_EQ(chardev_room(&cd), CHARDEV_BUF_SIZE);
	chardev_close(&cd);
	close(r);
	unlink(path);
}

/* The main loop polls only sinks with bytes queued, and flushes those
 * that became writable */
TEST(main_loop_drains)
{
	struct vm *vm = test_vm_new();
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, vm, &cfg), 0);
	CHECK_EQ(vm->nr_chardevs, 1);
	struct pollfd pfd[VM_MAX_CHARDEVS];
	CHECK_EQ(chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS), 0);
	static uint8_t data[8192];
	memset(data, 'q', sizeof(data));
	chardev_write(&cd, data, sizeof(data));
	CHECK(chardev_pending(&cd) > 0);
	CHECK_EQ(chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS), 1);
	CHECK_EQ(pfd[0].fd, cd.fd);
	CHECK_EQ(pfd[0].events, POLLOUT);
	static uint8_t in[8192];
	size_t got = 0;
	while (got < sizeof(data)) {
		size_t before = got;
		drain_reader(r, in, &got, sizeof(in));
		unsigned n = chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS);
		CHECK_EQ(poll(pfd, n, 1000), (int)n);
		chardevs_poll_done(vm, pfd, n);
		if (got == before && !n)
			break;
	}
	CHECK_EQ(got, sizeof(data));
	CHECK_EQ(chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS), 0);
	chardev_close(&cd);
	CHECK_EQ(vm->nr_chardevs, 0);
	close(r);
	unlink(path);
	test_vm_free(vm);
}

/* At close a stalled reader gets a moment, not forever */
TEST(close_gives_up_on_a_stalled_reader)
{
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	static uint8_t data[16384];
	memset(data, 's', sizeof(data));
	chardev_write(&cd, data, sizeof(data));
	CHECK(chardev_pending(&cd) > 0);
	alarm(20);
	chardev_close(&cd);
	alarm(0);
	CHECK_EQ(cd.fd, -1);
	close(r);
	unlink(path);
}

/* ---- back-ends with a peer: sockets and ptys ---- */

/* A device's input side that takes at most `room` bytes at a time */
struct test_rx {
	size_t room;
	char got[256];
	size_t len;
	int connects, disconnects;
};

static size_t test_can_receive(void *opaque)
{
	struct test_rx *t = opaque;
	size_t left = sizeof(t->got) - 1 - t->len;
	return t->room < left ? t->room : left;
}

static void test_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct test_rx *t = opaque;
	CHECK(len <= test_can_receive(t));
	memcpy(t->got + t->len, buf, len);
	t->len += len;
	t->got[t->len] = 0;
}

static void test_event(void *opaque, bool connected)
{
	struct test_rx *t = opaque;
	if (connected)
		t->connects++;
	else
		t->disconnects++;
}

static void hook_receiver(struct chardev *cd, struct test_rx *t)
{
	*t = (struct test_rx){ .room = 4096 };
	chardev_set_receiver(cd, &(struct chardev_receiver){
		.can_receive = test_can_receive, .receive = test_receive,
		.event = test_event, .opaque = t });
}

/* One turn of the main loop's part for the back-ends */
static unsigned pump(struct vm *vm, int timeout_ms)
{
	struct pollfd pfd[VM_MAX_CHARDEVS];
	unsigned n = chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS);
	if (poll(pfd, n, timeout_ms) > 0)
		chardevs_poll_done(vm, pfd, n);
	return n;
}

/* Pump until cond holds, for at most ~5 s */
#define PUMP_UNTIL(vm, cond)                                      \
	do {                                                      \
		for (int _i = 0; _i < 500 && !(cond); _i++)       \
			pump(vm, 10);                             \
	} while (0)

static int unix_connect(const char *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void chardev_write_str(struct vm *vm, struct chardev *cd, const char *s)
{
	pthread_mutex_lock(&vm->dev_lock);
	chardev_write(cd, (const uint8_t *)s, strlen(s));
	pthread_mutex_unlock(&vm->dev_lock);
}

/* Read from fd until buf holds want bytes (or ~5 s pass) */
static size_t read_some(int fd, char *buf, size_t want)
{
	size_t got = 0;
	for (int i = 0; i < 500 && got < want; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

/* server=on,wait=off: one client at a time, data both ways, output with
 * no client dropped, the next client taken when the first leaves */
TEST(socket_server)
{
	struct vm *vm = test_vm_new();
	snprintf(path, sizeof(path), "/tmp/minivmm-chardev-%d.sock", (int)getpid());
	struct chardev_config cfg = { .kind = CHARDEV_SOCKET, .id = "s", .path = path,
				      .server = true };
	struct chardev cd;
	struct test_rx t;
	CHECK_EQ(chardev_open(&cd, vm, &cfg), 0);
	hook_receiver(&cd, &t);
	CHECK(!cd.connected);
	/* nobody there: output vanishes and never waits */
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	chardev_write_str(vm, &cd, "lost");
	CHECK_EQ(chardev_pending(&cd), 0);

	int c = unix_connect(path);
	CHECK(c >= 0);
	PUMP_UNTIL(vm, cd.connected);
	CHECK(cd.connected);
	CHECK_EQ(t.connects, 1);
	/* a second client waits in the backlog: not accepted, not read */
	int c2 = unix_connect(path);
	chardev_write_str(vm, &cd, "to the guest's peer");
	char buf[64];
	CHECK_EQ(read_some(c, buf, 19), 19);
	CHECK_STR(buf, "to the guest's peer");
	CHECK_EQ(write(c, "typed", 5), 5);
	PUMP_UNTIL(vm, t.len == 5);
	CHECK_STR(t.got, "typed");

	/* a receiver without room is not read for; its bytes wait */
	t.room = 0;
	CHECK_EQ(write(c, "later", 5), 5);
	for (int i = 0; i < 5; i++)
		pump(vm, 10);
	CHECK_EQ(t.len, 5);
	t.room = 2;
	chardev_input_ready(&cd);
	PUMP_UNTIL(vm, t.len == 10);
	CHECK_STR(t.got, "typedlater");

	/* the client leaves: the next one is taken */
	close(c);
	PUMP_UNTIL(vm, t.disconnects == 1);
	CHECK(!cd.connected);
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	PUMP_UNTIL(vm, cd.connected);
	CHECK_EQ(t.connects, 2);
	chardev_write_str(vm, &cd, "second");
	CHECK_EQ(read_some(c2, buf, 6), 6);
	CHECK_STR(buf, "second");
	close(c2);
	chardev_close(&cd);
	/* the socket minivmm made is gone */
	CHECK(access(path, F_OK) < 0);
	test_vm_free(vm);
}

struct connect_later {
	const char *path;
	int fd;
};

static void *connect_later_thread(void *arg)
{
	struct connect_later *cl = arg;
	usleep(100000);
	cl->fd = unix_connect(cl->path);
	return NULL;
}

/* wait=on: the open returns once the first client is there; a client
 * (server=off) connects at once, and fails loudly with nobody to talk to */
TEST(socket_wait_and_client)
{
	struct vm *vm = test_vm_new();
	snprintf(path, sizeof(path), "/tmp/minivmm-chardev-%d.sock", (int)getpid());
	struct chardev_config cfg = { .kind = CHARDEV_SOCKET, .id = "w", .path = path,
				      .server = true, .wait = true };
	struct chardev srv, cli;
	struct connect_later cl = { .path = path, .fd = -1 };
	pthread_t th;
	/* the socket is there before the open: the thread retries until bound */
	pthread_create(&th, NULL, connect_later_thread, &cl);
	alarm(20);
	int ret = chardev_open(&srv, vm, &cfg);
	alarm(0);
	pthread_join(th, NULL);
	CHECK_EQ(ret, 0);
	CHECK(srv.connected);
	CHECK(cl.fd >= 0);
	char buf[16];
	chardev_write_str(vm, &srv, "hello");
	CHECK_EQ(read_some(cl.fd, buf, 5), 5);
	CHECK_STR(buf, "hello");
	close(cl.fd);

	/* a client chardev on a test server */
	char path2[80];
	snprintf(path2, sizeof(path2), "%s.2", path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path2);
	unlink(path2);
	CHECK_EQ(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_EQ(listen(l, 1), 0);
	struct chardev_config ccfg = { .kind = CHARDEV_SOCKET, .id = "c", .path = path2 };
	struct test_rx t;
	CHECK_EQ(chardev_open(&cli, vm, &ccfg), 0);
	hook_receiver(&cli, &t);
	CHECK(cli.connected);
	int peer = accept(l, NULL, NULL);
	CHECK(peer >= 0);
	chardev_write_str(vm, &cli, "ping");
	CHECK_EQ(read_some(peer, buf, 4), 4);
	CHECK_STR(buf, "ping");
	CHECK_EQ(write(peer, "pong", 4), 4);
	PUMP_UNTIL(vm, t.len == 4);
	CHECK_STR(t.got, "pong");
	close(peer);
	PUMP_UNTIL(vm, !cli.connected);
	CHECK_EQ(t.disconnects, 1);
	chardev_close(&cli);
	chardev_close(&srv);
	close(l);
	unlink(path2);
	/* nobody listening: one error, -errno */
	CHECK(chardev_open(&cli, vm, &ccfg) < 0);
	test_vm_free(vm);
}

TEST(socket_tcp)
{
	struct vm *vm = test_vm_new();
	/* port 0: the kernel picks one, which getsockname tells */
	struct chardev_config cfg = { .kind = CHARDEV_SOCKET, .id = "t", .tcp = true,
				      .host = "127.0.0.1", .server = true };
	struct chardev cd;
	struct test_rx t;
	CHECK_EQ(chardev_open(&cd, vm, &cfg), 0);
	hook_receiver(&cd, &t);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	CHECK_EQ(getsockname(cd.listen_fd, (struct sockaddr *)&sin, &len), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(connect(c, (struct sockaddr *)&sin, len), 0);
	PUMP_UNTIL(vm, cd.connected);
	CHECK_EQ(write(c, "over tcp", 8), 8);
	PUMP_UNTIL(vm, t.len == 8);
	CHECK_STR(t.got, "over tcp");
	close(c);
	chardev_close(&cd);
	test_vm_free(vm);
}

/* A pty: its name is there to open; output is dropped until someone opens
 * it, then goes both ways; the reader leaving is noticed */
TEST(pty)
{
	struct vm *vm = test_vm_new();
	struct chardev_config cfg = { .kind = CHARDEV_PTY, .id = "p" };
	struct chardev cd;
	struct test_rx t;
	CHECK_EQ(chardev_open(&cd, vm, &cfg), 0);
	hook_receiver(&cd, &t);
	CHECK(!strncmp(cd.pty_name, "/dev/pts/", 9));
	pump(vm, 0);
	CHECK(!cd.connected);
	CHECK_EQ(chardevs_poll_timeout(vm), 1000);
	chardev_write_str(vm, &cd, "nobody sees this");

	int s = open(cd.pty_name, O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	/* looked at once a second: the test does not wait for that */
	cd.pty_check_ns = 0;
	pump(vm, 0);
	CHECK(cd.connected);
	CHECK_EQ(t.connects, 1);
	CHECK_EQ(chardevs_poll_timeout(vm), -1);
	/* raw: no echo, no line discipline in the way */
	chardev_write_str(vm, &cd, "out\r\n");
	char buf[16];
	CHECK_EQ(read_some(s, buf, 5), 5);
	CHECK_STR(buf, "out\r\n");
	CHECK_EQ(write(s, "in", 2), 2);
	PUMP_UNTIL(vm, t.len == 2);
	CHECK_STR(t.got, "in");
	close(s);
	PUMP_UNTIL(vm, !cd.connected);
	CHECK_EQ(t.disconnects, 1);
	chardev_close(&cd);
	test_vm_free(vm);
}

/* file,append=on keeps what the file holds; null takes everything */
TEST(file_append_and_null)
{
	struct chardev cd;
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int fd = mkstemp(path);
	CHECK_EQ(write(fd, "old ", 4), 4);
	close(fd);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path, .append = true };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	chardev_write(&cd, (const uint8_t *)"new", 3);
	chardev_close(&cd);
	char buf[32];
	read_file(path, buf, sizeof(buf));
	CHECK_STR(buf, "old new");
	unlink(path);
	cfg = (struct chardev_config){ .kind = CHARDEV_NULL, .id = "n" };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	chardev_write(&cd, (const uint8_t *)"x", 1);
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	chardev_close(&cd);
}

int main(int argc, char **argv)
{
	(void)argc;
	/* as minivmm itself runs */
	signal(SIGPIPE, SIG_IGN);
	static const struct test_case cases[] = {
		T(sinks), T(stdout_keeps_its_flags), T(reader_gone), T(stalled_reader_never_blocks),
		T(main_loop_drains), T(close_gives_up_on_a_stalled_reader), T(socket_server),
		T(socket_wait_and_client), T(socket_tcp), T(pty), T(file_append_and_null),
	};
	return test_run_all(argv[0], cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
