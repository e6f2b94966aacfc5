/* libFuzzer target: virtio-console's queues (port 0's receive and
 * transmit queues and the two control queues) on rings, buffers and
 * control messages that come from the input, with host input delivered
 * and a back-end (a pipe nobody reads unless the input says so) that
 * fills up, so that guest output is held and a reset must take it back.
 * The device must never touch memory outside guest RAM, never loop
 * without bound, never take more host input than it said it had room
 * for, and a reset must finish with nothing in flight. */
// FUZZ_SOURCES: src/virtio/virtio.c src/virtio/virtqueue.c src/virtio/virtio_pci.c src/virtio/virtio_pci_irqfd.c src/virtio/virtio_mmio.c src/virtio/virtio_console.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c src/core/chardev*.c src/hw/pci_host.c src/hw/msix.c
#include <fcntl.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/config.h"
#include "fuzz_virtio.h"
#include "virtio/virtio_console.h"

static struct vm vm;
static int pipe_fd[2];
static char pipe_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	if (pipe(pipe_fd) < 0)
		abort();
	fcntl(pipe_fd[1], F_SETPIPE_SZ, 4096);
	fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK);
	snprintf(pipe_path, sizeof(pipe_path), "/proc/self/fd/%d", pipe_fd[1]);
	return 0;
}

static void drain_pipe(void)
{
	char buf[4096];
	while (read(pipe_fd[0], buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in = { data, size };
	uint8_t control = fz_u8(&in);
	struct vm_config *cfg = &vm.cfg;
	drain_pipe();
	cfg->chardevs[0] = (struct chardev_config){ .kind = CHARDEV_FILE, .id = "c",
						    .path = pipe_path };
	cfg->nr_chardevs = 1;
	cfg->virtio[0] = (struct virtio_device_config){
		.type = VIRTIO_DEVICE_SERIAL,
		.common = fz_common_config(control),
		.serial = { .max_ports = 1 + (control >> 4) % 3 },
	};
	cfg->nr_virtio = 1;
	cfg->serial_ports[0] = (struct virtio_serial_port_config){
		.bus = 0, .nr = 0, .console = true, .chardev = 0, .name = "p0" };
	cfg->serial_ports[1] = (struct virtio_serial_port_config){
		.bus = 0, .nr = 1, .chardev = -1, .name = "p1" };
	cfg->nr_serial_ports = 2;
	struct virtio_dev *vdev;
	if (virtio_console_new(&vm, &cfg->virtio[0], &vdev) < 0)
		abort();
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	fz_driver_setup(vdev, &in);
	/* chains a driver would offer, each on a queue the input picks */
	uint8_t plan[12][4];
	unsigned nplan = fz_u8(&in) % 13;
	for (unsigned i = 0; i < nplan; i++)
		for (unsigned k = 0; k < 4; k++)
			plan[i][k] = fz_u8(&in);
	uint8_t steps[16];
	unsigned nsteps = fz_u8(&in) % 17;
	for (unsigned i = 0; i < nsteps; i++)
		steps[i] = fz_u8(&in);
	fz_fill_ram(&vm, &in);
	struct fz_queue fq[4] = { 0 };
	for (unsigned i = 0; i < nplan; i++) {
		unsigned q = plan[i][3] % 4;
		struct fz_piece pc[3];
		unsigned n = 1 + plan[i][0] % 3;
		for (unsigned k = 0; k < n; k++) {
			/* usually what the queue wants: writable for receiving
			 * queues (0, 2), readable for transmitting ones */
			bool write = plan[i][2] & 0x40 ? (plan[i][2] >> k) & 1 : !(q & 1);
			pc[k] = (struct fz_piece){ q == 3 && !(plan[i][2] & 0x20) ? 8 : 1 + plan[i][1] * (k + 1),
						   write };
		}
		uint64_t first;
		fz_plant(&vm, vdev, q, &fq[q], pc, n, plan[i][2] & 0x80, &first);
	}
	struct chardev *cd = vm.nr_chardevs ? vm.chardevs[vm.nr_chardevs - 1] : NULL;
	for (unsigned i = 0; i < nsteps; i++) {
		uint8_t s = steps[i];
		switch (s & 3) {
		case 0:
			virtq_kick(vdev, (s >> 2) % 4);
			break;
		case 1: {
			/* host input, as the main loop hands it over */
			uint8_t buf[320];
			size_t n = (s >> 2) * 5u;
			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)(k + s);
			pthread_mutex_lock(&vm.dev_lock);
			if (cd) {
				size_t room = cd->rx.can_receive ? cd->rx.can_receive(cd->rx.opaque) : 0;
				size_t took = chardev_deliver(cd, buf, n);
				if (took > room)
					abort();
			}
			pthread_mutex_unlock(&vm.dev_lock);
			break;
		}
		case 2:
			/* the reader takes what waits: the held output goes on */
			drain_pipe();
			pthread_mutex_lock(&vm.dev_lock);
			if (cd)
				chardev_flush(cd);
			pthread_mutex_unlock(&vm.dev_lock);
			break;
		case 3:
			if (cd) {
				pthread_mutex_lock(&vm.dev_lock);
				chardev_connected(cd, (s >> 2) & 1);
				pthread_mutex_unlock(&vm.dev_lock);
			}
			break;
		}
	}
	/* a reset must finish: nothing may be left in flight */
	virtio_set_status(vdev, 0);
	if (virtio_status(vdev) != 0)
		abort();
	virtio_dev_cleanup(vdev);
	/* the bytes still queued would be waited for at close */
	if (cd) {
		pthread_mutex_lock(&vm.dev_lock);
		chardev_connected(cd, false);
		pthread_mutex_unlock(&vm.dev_lock);
	}
	vdev->ops->destroy(vdev);
	if (vm.nr_chardevs)
		abort();	/* the back-end was closed with the device */
	return 0;
}
