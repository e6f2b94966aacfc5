/* virtio-console through its rings, as a driver uses it: the multiport
 * handshake (DEVICE_READY, DEVICE_ADD, PORT_READY, CONSOLE_PORT,
 * PORT_NAME, PORT_OPEN), guest output held while the back-end (a pipe the
 * test reads) has no room and given back when a reset waits for it, host
 * input only once the guest opened the port and only as far as there is
 * room, and bad control messages ignored without breaking the device. */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "test.h"

#include "core/chardev.h"
#include "core/config.h"
#include "platform_vm.h"
#include "virtio/virtio_console.h"
#include "virtio_test.h"

#define NQ 6		/* max_ports=2: port 0, control, port 1 */
#define RING(q) (0x10000u + 0x3000u * (q))
#define BUF 0x40000u
#define BIG (128u * 1024)

enum { DEVICE_READY, DEVICE_ADD, DEVICE_REMOVE, PORT_READY, CONSOLE_PORT, RESIZE, PORT_OPEN,
       PORT_NAME };

static struct vm *vm;
static struct virtio_dev *vdev;
static struct test_ring rings[NQ];
static uint64_t next_buf;
static uint16_t next_desc[NQ];
static uint16_t seen_used[NQ];
static int pipe_fd[2];
static char pipe_path[64];

static void console_up(void)
{
	vm = test_vm_new();
	CHECK_EQ(pipe(pipe_fd), 0);
	fcntl(pipe_fd[1], F_SETPIPE_SZ, 4096);
	fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK);
	snprintf(pipe_path, sizeof(pipe_path), "/proc/self/fd/%d", pipe_fd[1]);
	struct vm_config *cfg = &vm->cfg;
	cfg->chardevs[0] = (struct chardev_config){ .kind = CHARDEV_FILE, .id = "c",
						    .path = pipe_path };
	cfg->nr_chardevs = 1;
	cfg->virtio[0] = (struct virtio_device_config){ .type = VIRTIO_DEVICE_SERIAL,
							.serial = { .max_ports = 2 } };
	cfg->nr_virtio = 1;
	cfg->serial_ports[0] = (struct virtio_serial_port_config){ .nr = 0, .console = true,
								   .chardev = 0 };
	cfg->serial_ports[1] = (struct virtio_serial_port_config){ .nr = 1, .chardev = -1,
								   .name = "org.test" };
	cfg->nr_serial_ports = 2;
	CHECK_EQ(virtio_console_new(vm, &cfg->virtio[0], &vdev), 0);
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	CHECK(vdev->host_features & VIRTIO_FEATURE(1));	/* multiport */
	CHECK_EQ(vdev->nr_queues, NQ);
	for (unsigned q = 0; q < NQ; q++) {
		rings[q] = (struct test_ring){ .desc = RING(q), .driver = RING(q) + 0x1000,
					       .device = RING(q) + 0x2000, .size = 16 };
		next_desc[q] = seen_used[q] = 0;
	}
	next_buf = BUF;
	test_driver_setup(vdev, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(1), rings, NQ);
}

static void console_down(void)
{
	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	test_vm_free(vm);
	close(pipe_fd[0]);
	close(pipe_fd[1]);
}

/* A one-descriptor buffer on queue q; returns its address */
static uint64_t offer(unsigned q, uint32_t len, bool write, bool kick)
{
	uint64_t addr = next_buf;
	next_buf += (len + 0xfff) & ~0xfffu;
	uint16_t d = next_desc[q]++ % 16;
	split_desc(vm, &rings[q], d, addr, len, write ? VRING_F_WRITE : 0, 0);
	split_offer(vm, &rings[q], d);
	if (kick)
		virtq_kick(vdev, q);
	return addr;
}

static uint16_t used_idx(unsigned q)
{
	return gget16(vm, rings[q].device + 2);
}

/* The next used entry of q: its buffer's address and length */
static bool next_used(unsigned q, uint64_t *addr, uint32_t *len)
{
	if (used_idx(q) == seen_used[q])
		return false;
	uint16_t i = seen_used[q]++ % 16;
	uint32_t id = gget32(vm, rings[q].device + 4 + 8u * i);
	*len = gget32(vm, rings[q].device + 8 + 8u * i);
	uint8_t d[16];
	guest_mem_read(&vm->mem, rings[q].desc + 16u * id, d, 16);
	memcpy(addr, d, 8);
	return true;
}

static void send_ctrl(uint32_t id, uint16_t event, uint16_t value)
{
	uint64_t a = next_buf;
	offer(3, 8, false, false);
	gput32(vm, a, id);
	gput16(vm, a + 4, event);
	gput16(vm, a + 6, value);
	virtq_kick(vdev, 3);
}

/* The next control message to the driver; false when there is none */
static bool recv_ctrl(uint32_t *id, uint16_t *event, uint16_t *value, char *name, size_t cap)
{
	uint64_t a;
	uint32_t len;
	if (!next_used(2, &a, &len))
		return false;
	*id = gget32(vm, a);
	*event = gget16(vm, a + 4);
	*value = gget16(vm, a + 6);
	if (name) {
		size_t n = len > 8 ? len - 8 : 0;
		if (n >= cap)
			n = cap - 1;
		guest_mem_read(&vm->mem, a + 8, name, n);
		name[n] = 0;
	}
	return true;
}

#define EXPECT_CTRL(pid, ev, val)                                          \
	do {                                                               \
		uint32_t _id = 99;                                         \
		uint16_t _ev = 99, _val = 99;                              \
		CHECK(recv_ctrl(&_id, &_ev, &_val, NULL, 0));              \
		CHECK_EQ(_id, pid);                                        \
		CHECK_EQ(_ev, ev);                                         \
		CHECK_EQ(_val, val);                                       \
	} while (0)

static struct chardev *backend(void)
{
	return vm->chardevs[0];
}

/* Host input as the main loop hands it over: the bytes the port took */
static size_t host_input(const char *s, size_t len)
{
	pthread_mutex_lock(&vm->dev_lock);
	size_t n = chardev_deliver(backend(), (const uint8_t *)s, len);
	pthread_mutex_unlock(&vm->dev_lock);
	return n;
}

static void handshake(void)
{
	for (int i = 0; i < 8; i++)
		offer(2, 64, true, true);
	send_ctrl(0, DEVICE_READY, 1);
	EXPECT_CTRL(0, DEVICE_ADD, 1);
	EXPECT_CTRL(1, DEVICE_ADD, 1);
	send_ctrl(0, PORT_READY, 1);
	EXPECT_CTRL(0, CONSOLE_PORT, 1);
	EXPECT_CTRL(0, PORT_OPEN, 1);	/* a file is always there */
	send_ctrl(1, PORT_READY, 1);
	uint32_t id;
	uint16_t ev, val;
	char name[32];
	CHECK(recv_ctrl(&id, &ev, &val, name, sizeof(name)));
	CHECK_EQ(id, 1);
	CHECK_EQ(ev, PORT_NAME);
	CHECK_STR(name, "org.test");
	/* no back-end: the host side is not open */
	CHECK(!recv_ctrl(&id, &ev, &val, NULL, 0));
}

TEST(multiport_handshake)
{
	console_up();
	CHECK_EQ(virtio_config_read(vdev, 4, 4), 2);	/* max_nr_ports */
	handshake();
	CHECK(!(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET));
	console_down();
}

TEST(output_waits_for_the_backend)
{
	console_up();
	static uint8_t data[BIG], got[BIG];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 509);
	uint64_t a = next_buf;
	gput(vm, a, data, sizeof(data));
	offer(1, BIG, false, true);
	/* more than the pipe and the back-end's buffer hold: the guest's
	 * buffer is kept, not dropped, and not given back */
	CHECK_EQ(used_idx(1), 0);
	CHECK_EQ(chardev_room(backend()), 0);
	size_t n = 0;
	for (int i = 0; i < 10000 && n < sizeof(got); i++) {
		ssize_t k = read(pipe_fd[0], got + n, sizeof(got) - n);
		if (k > 0)
			n += (size_t)k;
		pthread_mutex_lock(&vm->dev_lock);
		chardev_flush(backend());	/* the main loop's part: room, so the port goes on */
		pthread_mutex_unlock(&vm->dev_lock);
	}
	CHECK_EQ(n, sizeof(got));
	CHECK(!memcmp(got, data, sizeof(got)));
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(gget32(vm, rings[1].device + 8), 0);	/* used length of a transmit buffer */

	/* held again; a reset does not wait for a reader that never comes */
	offer(1, BIG, false, true);
	CHECK_EQ(used_idx(1), 1);
	virtio_set_status(vdev, 0);
	CHECK_EQ(virtio_status(vdev), 0);
	console_down();
}

TEST(input_once_the_guest_opens_the_port)
{
	console_up();
	handshake();
	/* not open yet: nothing is taken */
	CHECK_EQ(host_input("early", 5), 0);
	send_ctrl(0, PORT_OPEN, 1);
	uint64_t a = offer(0, 16, true, true);
	CHECK_EQ(host_input("hello", 5), 5);
	uint64_t ua;
	uint32_t len;
	CHECK(next_used(0, &ua, &len));
	CHECK_EQ(ua, a);
	CHECK_EQ(len, 5);
	char buf[8] = { 0 };
	guest_mem_read(&vm->mem, a, buf, 5);
	CHECK_STR(buf, "hello");
	/* no buffers: the port holds what it has room for, then takes no more */
	static char lots[5000];
	memset(lots, 'x', sizeof(lots));
	CHECK_EQ(host_input(lots, sizeof(lots)), 4096);
	CHECK_EQ(host_input(lots, 1), 0);
	/* buffers come: the held input goes in, in order, and room is back */
	offer(0, 4000, true, true);
	offer(0, 4000, true, true);
	CHECK_EQ(used_idx(0), 3);
	CHECK(host_input(lots, 1) == 1);
	/* the guest closes it: input stops again */
	send_ctrl(0, PORT_OPEN, 0);
	CHECK_EQ(host_input(lots, 1), 0);
	console_down();
}

TEST(bad_control_messages_are_ignored)
{
	console_up();
	for (int i = 0; i < 8; i++)
		offer(2, 64, true, true);
	/* before any port is ready, to ports that do not exist, events a
	 * driver never sends, a message too short */
	send_ctrl(0, PORT_OPEN, 1);
	send_ctrl(7, PORT_READY, 1);
	send_ctrl(0xffffffffu, PORT_OPEN, 1);
	send_ctrl(0, 99, 1);
	send_ctrl(0, CONSOLE_PORT, 1);
	offer(3, 4, false, true);
	uint32_t id;
	uint16_t ev, val;
	CHECK(!recv_ctrl(&id, &ev, &val, NULL, 0));
	CHECK(!(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET));
	CHECK_EQ(host_input("x", 1), 0);
	/* the device still works */
	send_ctrl(0, DEVICE_READY, 1);
	EXPECT_CTRL(0, DEVICE_ADD, 1);
	/* a receive buffer that the device would have to read breaks the
	 * rules: NEEDS_RESET */
	send_ctrl(0, PORT_READY, 1);
	send_ctrl(0, PORT_OPEN, 1);
	CHECK(!(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET));
	offer(0, 64, false, true);
	host_input("x", 1);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET);
	console_down();
}

RUN_TESTS(T(multiport_handshake), T(output_waits_for_the_backend),
	  T(input_once_the_guest_opens_the_port), T(bad_control_messages_are_ignored))
