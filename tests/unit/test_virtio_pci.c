/* virtio-pci driven as a guest driver drives it, through PCI config space
 * (0xCF8/0xCFC) and the BARs on the MMIO bus: the IDs and capability list
 * Linux's virtio_pci_modern looks for, BAR sizing, the common
 * configuration with its feature and queue registers, MSI-X (table,
 * masking, the pending bit, function mask), INTx with ISR read-to-clear,
 * the PCI configuration access capability, a broken chain giving
 * DEVICE_NEEDS_RESET and a configuration interrupt, and a reset bringing
 * the device back.  On an engine with irqfds (a fake that keeps MSI
 * routes and irqfds as KVM does, and injects when the test says), each
 * queue's call eventfd follows its MSI-X vector: an irqfd on a route with
 * the vector's message while it may be sent, read by the transport's
 * thread into the pending bit or INTx otherwise.  The device is
 * virtio-rng, served on the notifying thread. */
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "hw/pci.h"
#include "platform_vm.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rng.h"
#include "virtio_test.h"

#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define BUF 0x20000
#define DEVFN 8		/* slot 1, the first free one */
#define GSI 10		/* INTA# of slot 1 */

static struct { uint64_t addr; uint32_t data; } msis[64];
static int nr_msis;

static int rec_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	(void)vm;
	if (nr_msis < 64)
		msis[nr_msis] = (typeof(msis[0])){ addr, data };
	nr_msis++;
	return 0;
}

/* The fake engine's irqfds, kept as KVM keeps them: MSI routes at GSIs
 * from 24, irqfds that name an eventfd and a GSI with a route */
#define ROUTES 16
static struct { bool live; uint64_t addr; uint32_t data; } routes[ROUTES];
static struct { int fd; unsigned gsi; } irqfds[ROUTES];
static int nr_irqfds, route_changes, nr_injected;
static bool refuse_irqfds;

static int fake_msi_route(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	(void)vm;
	if (gsi < 0) {
		for (gsi = 24; gsi < 24 + ROUTES && routes[gsi - 24].live; gsi++)
			;
		if (gsi == 24 + ROUTES)
			return -ENOSPC;
	} else if (gsi < 24 || gsi >= 24 + ROUTES || !routes[gsi - 24].live) {
		return -ENOENT;
	}
	routes[gsi - 24] = (typeof(routes[0])){ true, addr, data };
	route_changes++;
	return gsi;
}

static void fake_msi_route_release(struct vm *vm, int gsi)
{
	(void)vm;
	CHECK(gsi >= 24 && gsi < 24 + ROUTES && routes[gsi - 24].live);
	for (int i = 0; i < nr_irqfds; i++)
		CHECK(irqfds[i].gsi != (unsigned)gsi);	/* no irqfd left on it */
	routes[gsi - 24].live = false;
}

static int fake_irqfd(struct vm *vm, unsigned gsi, int fd, bool assign)
{
	(void)vm;
	for (int i = 0; i < nr_irqfds; i++) {
		if (irqfds[i].fd != fd)
			continue;
		if (assign)
			return -EBUSY;
		if (irqfds[i].gsi != gsi)
			return -ENOENT;
		irqfds[i] = irqfds[--nr_irqfds];
		return 0;
	}
	if (!assign)
		return -ENOENT;
	if (refuse_irqfds)
		return -EINVAL;
	if (gsi < 24 || gsi >= 24 + ROUTES || !routes[gsi - 24].live || nr_irqfds == ROUTES)
		return -EINVAL;
	irqfds[nr_irqfds++] = (typeof(irqfds[0])){ fd, gsi };
	return 0;
}

/* What KVM does when an irqfd's eventfd is written: the route's MSI */
static int fake_kvm_inject(void)
{
	int n = 0;
	for (int i = 0; i < nr_irqfds; i++) {
		uint64_t v;
		if (read(irqfds[i].fd, &v, sizeof(v)) != sizeof(v))
			continue;
		const typeof(routes[0]) *r = &routes[irqfds[i].gsi - 24];
		rec_signal_msi(NULL, r->addr, r->data);
		n++;
	}
	nr_injected += n;
	return n;
}

/* Wait (at most 5 s) for the transport's thread to make cond true */
#define WAIT_FOR(cond)                                                                   \
	do {                                                                             \
		for (int w_ = 0; w_ < 5000 && !(cond); w_++)                            \
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);       \
		CHECK(cond);                                                             \
	} while (0)

static struct accel_ops msi_accel;
static struct vm vmstore;
static struct virtio_dev *rng;

static struct vm *machine_on(unsigned vectors, bool irqfd)
{
	struct vm *vm = &vmstore;
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.ram_size = 16ull << 20;
	msi_accel = fake_accel;
	msi_accel.signal_msi = rec_signal_msi;
	if (irqfd) {
		msi_accel.msi_route = fake_msi_route;
		msi_accel.msi_route_release = fake_msi_route_release;
		msi_accel.irqfd = fake_irqfd;
	}
	memset(fake_irq_level, 0, sizeof(fake_irq_level));
	memset(routes, 0, sizeof(routes));
	nr_msis = nr_irqfds = route_changes = nr_injected = 0;
	refuse_irqfds = false;
	if (vm_init(vm, &cfg, &msi_accel) < 0 || pci_host_create(vm, &vm->pci) < 0)
		abort();
	struct virtio_device_config dc = { .type = VIRTIO_DEVICE_RNG,
					   .common = { .packed = true, .event_idx = true,
						       .indirect_desc = true, .vectors = (int)vectors },
					   .rng = { .max_bytes = UINT64_MAX, .period_ms = 1000 } };
	struct virtio_dev *vdev;
	CHECK_EQ(virtio_rng_new(vm, &dc, &vdev), 0);
	struct virtio_pci_params p = { .type = "virtio-rng-pci", .class_code = PCI_CLASS_OTHER,
				       .vectors = vectors, .no_queue_thread = true };
	CHECK_EQ(virtio_pci_create(vm, vdev, &p), 0);
	pci_bus_assign_bars(vm->pci);
	rng = vdev;
	return vm;
}

static struct vm *machine(unsigned vectors)
{
	return machine_on(vectors, false);
}

static uint32_t cfg_read(struct vm *vm, unsigned reg, unsigned size)
{
	outl(vm, 0xcf8, 0x80000000u | DEVFN << 8 | (reg & 0xfc));
	uint64_t v;
	io_bus_read(&vm->pio, 0xcfc + (reg & 3), size, &v);
	return (uint32_t)v;
}

static void cfg_write(struct vm *vm, unsigned reg, unsigned size, uint32_t v)
{
	outl(vm, 0xcf8, 0x80000000u | DEVFN << 8 | (reg & 0xfc));
	io_bus_write(&vm->pio, 0xcfc + (reg & 3), size, v);
}

static uint64_t bar4(struct vm *vm)
{
	return (cfg_read(vm, 0x10 + 16, 4) & ~0xfull) | (uint64_t)cfg_read(vm, 0x14 + 16, 4) << 32;
}

static uint64_t mr(struct vm *vm, uint64_t addr, unsigned size)
{
	uint64_t v;
	io_bus_read(&vm->mmio, addr, size, &v);
	return v;
}

static void mw(struct vm *vm, uint64_t addr, unsigned size, uint64_t v)
{
	io_bus_write(&vm->mmio, addr, size, v);
}

/* The vendor capability of cfg_type type, or 0 */
static unsigned find_cap(struct vm *vm, unsigned type)
{
	unsigned at = cfg_read(vm, PCI_CAPABILITY_LIST, 1), n = 0;
	while (at && n++ < 48) {
		if (cfg_read(vm, at, 1) == PCI_CAP_ID_VNDR && cfg_read(vm, at + 3, 1) == type)
			return at;
		at = cfg_read(vm, at + 1, 1);
	}
	return 0;
}

static unsigned find_msix(struct vm *vm)
{
	unsigned at = cfg_read(vm, PCI_CAPABILITY_LIST, 1), n = 0;
	while (at && n++ < 48) {
		if (cfg_read(vm, at, 1) == PCI_CAP_ID_MSIX)
			return at;
		at = cfg_read(vm, at + 1, 1);
	}
	return 0;
}

#define CC(off) (bar4(vm) + (off))

/* Reset, negotiate, one queue on the split rings at DESC/AVAIL/USED */
static struct test_ring ring = { .desc = DESC, .driver = AVAIL, .device = USED, .size = 8 };

static void driver_init(struct vm *vm, uint64_t features, uint16_t qvec, uint16_t cvec)
{
	mw(vm, CC(0x14), 1, 0);
	CHECK_EQ(mr(vm, CC(0x14), 1), 0);
	/* fresh rings, as a driver allocates them */
	memset(vm->mem.base + DESC, 0, USED + 0x1000 - DESC);
	ring.avail_idx = 0;
	mw(vm, CC(0x14), 1, 1);
	mw(vm, CC(0x14), 1, 3);
	mw(vm, CC(0x08), 4, 0);
	mw(vm, CC(0x0c), 4, (uint32_t)features);
	mw(vm, CC(0x08), 4, 1);
	mw(vm, CC(0x0c), 4, (uint32_t)(features >> 32));
	mw(vm, CC(0x14), 1, 0x0b);
	CHECK_EQ(mr(vm, CC(0x14), 1), 0x0b);
	mw(vm, CC(0x10), 2, cvec);
	mw(vm, CC(0x16), 2, 0);
	CHECK_EQ(mr(vm, CC(0x18), 2), 64);
	mw(vm, CC(0x18), 2, 8);
	mw(vm, CC(0x1a), 2, qvec);
	mw(vm, CC(0x20), 4, DESC);
	mw(vm, CC(0x24), 4, 0);
	mw(vm, CC(0x28), 8, AVAIL);
	mw(vm, CC(0x30), 4, USED);
	mw(vm, CC(0x34), 4, 0);
	mw(vm, CC(0x1c), 2, 1);
	mw(vm, CC(0x14), 1, 0x0f);
	CHECK_EQ(mr(vm, CC(0x14), 1), 0x0f);
}

/* Offer a writable buffer and notify queue 0 */
static void offer_and_notify(struct vm *vm, uint16_t head, uint32_t len, uint16_t flags)
{
	split_desc(vm, &ring, head, BUF + 0x100u * head, len, flags, 0);
	split_offer(vm, &ring, head);
	mw(vm, CC(0x3000), 2, 0);
}

TEST(identity_and_capabilities)
{
	struct vm *vm = machine(2);
	CHECK_EQ(cfg_read(vm, 0, 4), 0x10441af4);
	CHECK_EQ(cfg_read(vm, PCI_REVISION_ID, 1), 1);
	CHECK_EQ(cfg_read(vm, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_read(vm, 0x08, 4) >> 8, PCI_CLASS_OTHER);
	CHECK(cfg_read(vm, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	CHECK_EQ(cfg_read(vm, PCI_INTERRUPT_PIN, 1), 1);
	unsigned common = find_cap(vm, 1), notify = find_cap(vm, 2), isr = find_cap(vm, 3),
		 pcicfg = find_cap(vm, 5);
	CHECK(common && notify && isr && pcicfg);
	CHECK_EQ(find_cap(vm, 4), 0);	/* virtio-rng has no device configuration */
	CHECK_EQ(cfg_read(vm, common + 4, 1), 4);	/* BAR 4 */
	CHECK(cfg_read(vm, common + 12, 4) >= 0x38);
	CHECK_EQ(cfg_read(vm, notify + 16, 4), 4);	/* notify_off_multiplier */
	CHECK_EQ(cfg_read(vm, notify + 2, 1), 20);
	unsigned msix = find_msix(vm);
	CHECK(msix != 0);
	CHECK_EQ(cfg_read(vm, msix + 2, 2) & 0x7ff, 1);	/* 2 vectors */
	CHECK_EQ(cfg_read(vm, msix + 4, 4), 1);	/* table: BAR 1 offset 0 */
	CHECK_EQ(cfg_read(vm, msix + 8, 4), 0x801);	/* PBA: BAR 1 offset 0x800 */
	/* BAR sizing: 64-bit prefetchable memory of 16 KiB; 4 KiB for MSI-X */
	uint32_t b4 = cfg_read(vm, 0x20, 4);
	CHECK_EQ(b4 & 0xf, 0xc);
	cfg_write(vm, 0x20, 4, 0xffffffff);
	CHECK_EQ(cfg_read(vm, 0x20, 4), 0xffffc00c);
	cfg_write(vm, 0x20, 4, b4);
	cfg_write(vm, 0x14, 4, 0xffffffff);
	CHECK_EQ(cfg_read(vm, 0x14, 4), 0xfffff000);
	/* features: VERSION_1 and the ring features */
	uint64_t at = bar4(vm);
	CHECK(at != 0);
	mw(vm, at, 4, 1);
	CHECK_EQ(mr(vm, at + 4, 4) & 1, 1);
	CHECK_EQ(mr(vm, at + 4, 4) >> 2 & 1, 1);	/* RING_PACKED is bit 34 */
	mw(vm, at, 4, 0);
	CHECK_EQ(mr(vm, at + 4, 4) >> 28 & 3, 3);
	CHECK_EQ(mr(vm, at + 0x12, 2), 1);	/* num_queues */
	test_vm_free(vm);
}

TEST(msix_delivery_masking_and_pending)
{
	struct vm *vm = machine(2);
	uint64_t table = cfg_read(vm, 0x14, 4) & ~0xfull;
	unsigned msix = find_msix(vm);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 1, 0);
	CHECK_EQ(mr(vm, CC(0x1a), 2), 1);
	CHECK_EQ(mr(vm, CC(0x10), 2), 0);
	/* a vector past the table is refused: NO_VECTOR */
	mw(vm, CC(0x16), 2, 0);
	/* MSI-X on: vector 1 to CPU 0, vector 0x41 */
	mw(vm, table + 16, 4, 0xfee00000);
	mw(vm, table + 20, 4, 0);
	mw(vm, table + 24, 4, 0x41);
	mw(vm, table + 28, 4, 0);
	CHECK_EQ(mr(vm, table + 28, 4), 0);
	CHECK_EQ(mr(vm, table + 12, 4), 1);	/* vector 0 still masked */
	cfg_write(vm, msix + 2, 2, 0x8000);
	offer_and_notify(vm, 0, 64, VRING_F_WRITE);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(gget32(vm, USED + 8), 64);
	CHECK_EQ(nr_msis, 1);
	CHECK_EQ(msis[0].addr, 0xfee00000);
	CHECK_EQ(msis[0].data, 0x41);
	CHECK_EQ(fake_irq_level[GSI], 0);	/* no INTx with MSI-X on */
	uint8_t rnd[64];
	guest_mem_read(&vm->mem, BUF, rnd, 64);
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += rnd[i] != 0;
	CHECK(nonzero > 32);
	/* masked: pending bit instead of a message, sent on unmask */
	mw(vm, table + 28, 4, 1);
	offer_and_notify(vm, 1, 16, VRING_F_WRITE);
	CHECK_EQ(nr_msis, 1);
	CHECK_EQ(mr(vm, table + 0x800, 8), 2);
	mw(vm, table + 28, 4, 0);
	CHECK_EQ(nr_msis, 2);
	CHECK_EQ(mr(vm, table + 0x800, 8), 0);
	/* the function mask holds them all */
	cfg_write(vm, msix + 2, 2, 0xc000);
	offer_and_notify(vm, 2, 16, VRING_F_WRITE);
	CHECK_EQ(nr_msis, 2);
	cfg_write(vm, msix + 2, 2, 0x8000);
	CHECK_EQ(nr_msis, 3);
	/* odd accesses to the table are ignored, not fatal */
	mw(vm, table + 17, 1, 0xff);
	mw(vm, table + 0x800, 8, ~0ull);
	CHECK_EQ(mr(vm, table + 16, 4), 0xfee00000);
	CHECK_EQ(mr(vm, table + 0x800, 8), 0);
	test_vm_free(vm);
}

TEST(intx_and_isr)
{
	struct vm *vm = machine(0);
	CHECK_EQ(find_msix(vm), 0);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 1, 0);
	/* no MSI-X: every vector reads NO_VECTOR */
	CHECK_EQ(mr(vm, CC(0x1a), 2), 0xffff);
	CHECK_EQ(mr(vm, CC(0x10), 2), 0xffff);
	offer_and_notify(vm, 0, 32, VRING_F_WRITE);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(fake_irq_level[GSI], 1);
	CHECK(cfg_read(vm, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	CHECK_EQ(mr(vm, CC(0x1000), 1), 1);	/* queue interrupt; read clears */
	CHECK_EQ(fake_irq_level[GSI], 0);
	CHECK_EQ(mr(vm, CC(0x1000), 1), 0);
	/* INTx disabled in the command register: status bit, no line */
	cfg_write(vm, PCI_COMMAND, 2, cfg_read(vm, PCI_COMMAND, 2) | PCI_COMMAND_INTX_DISABLE);
	offer_and_notify(vm, 1, 32, VRING_F_WRITE);
	CHECK_EQ(fake_irq_level[GSI], 0);
	CHECK(cfg_read(vm, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	CHECK_EQ(mr(vm, CC(0x1000), 1), 1);
	test_vm_free(vm);
}

TEST(broken_chain_needs_reset_then_reset_recovers)
{
	struct vm *vm = machine(0);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 0xffff, 0xffff);
	/* virtio-rng only fills: a device-readable buffer breaks it */
	offer_and_notify(vm, 0, 32, 0);
	CHECK(mr(vm, CC(0x14), 1) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(gget16(vm, USED + 2), 0);
	CHECK_EQ(fake_irq_level[GSI], 1);
	CHECK_EQ(mr(vm, CC(0x1000), 1), 2);	/* configuration change */
	/* further notifications do nothing */
	offer_and_notify(vm, 1, 32, VRING_F_WRITE);
	CHECK_EQ(gget16(vm, USED + 2), 0);
	/* a loop breaks it the same way after a reset */
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 0xffff, 0xffff);
	split_desc(vm, &ring, 3, BUF, 8, VRING_F_WRITE | VRING_F_NEXT, 3);
	split_offer(vm, &ring, 3);
	mw(vm, CC(0x3000), 2, 0);
	CHECK(mr(vm, CC(0x14), 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* and once more reset: it works */
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 0xffff, 0xffff);
	offer_and_notify(vm, 0, 32, VRING_F_WRITE);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(mr(vm, CC(0x14), 1), 0x0f);
	test_vm_free(vm);
}

TEST(pci_cfg_window_and_odd_accesses)
{
	struct vm *vm = machine(2);
	unsigned cap = find_cap(vm, 5);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 1, 0);
	/* read device_status through the window */
	cfg_write(vm, cap + 4, 1, 4);
	cfg_write(vm, cap + 8, 4, 0x14);
	cfg_write(vm, cap + 12, 4, 1);
	CHECK_EQ(cfg_read(vm, cap + 16, 1), 0x0f);
	/* write queue_select = 5 through it */
	cfg_write(vm, cap + 8, 4, 0x16);
	cfg_write(vm, cap + 12, 4, 2);
	cfg_write(vm, cap + 16, 2, 5);
	CHECK_EQ(mr(vm, CC(0x16), 2), 5);
	/* a queue that does not exist: zeros, writes ignored */
	CHECK_EQ(mr(vm, CC(0x18), 2), 0);
	mw(vm, CC(0x18), 2, 4);
	mw(vm, CC(0x1c), 2, 1);
	CHECK_EQ(mr(vm, CC(0x1c), 2), 0);
	/* misaligned or bad lengths through the window do nothing */
	cfg_write(vm, cap + 8, 4, 0x15);
	cfg_write(vm, cap + 12, 4, 2);
	cfg_write(vm, cap + 16, 2, 0);
	cfg_write(vm, cap + 12, 4, 3);
	cfg_write(vm, cap + 16, 4, 0);
	cfg_write(vm, cap + 4, 1, 2);	/* a BAR that does not exist */
	cfg_write(vm, cap + 12, 4, 4);
	cfg_write(vm, cap + 16, 4, 0);
	CHECK_EQ(mr(vm, CC(0x14), 1), 0x0f);
	/* reads of any width anywhere in the BAR are answered */
	for (uint64_t off = 0; off < 0x4000; off += 7)
		(void)mr(vm, CC(off), off % 3 == 0 ? 8 : off % 3 == 1 ? 2 : 1);
	/* notifying queues that do not exist */
	mw(vm, CC(0x3000 + 4 * 9), 2, 9);
	mw(vm, CC(0x3ffc), 4, 0);
	CHECK_EQ(mr(vm, CC(0x14), 1), 0x0f);
	test_vm_free(vm);
}

static void write_call_fd(int fd)
{
	uint64_t one = 1;
	CHECK_EQ(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static int live_routes(void)
{
	int n = 0;
	for (int i = 0; i < ROUTES; i++)
		n += routes[i].live;
	return n;
}

TEST(irqfd_follows_the_vector)
{
	struct vm *vm = machine_on(2, true);
	uint64_t table = cfg_read(vm, 0x14, 4) & ~0xfull;
	unsigned msix = find_msix(vm);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 1, 0);
	int fd = rng->transport->call_fd(rng, 0);
	CHECK(fd >= 0);
	CHECK(rng->transport->call_fd(rng, 1) < 0);	/* virtio-rng has one queue */
	/* the vector masked, MSI-X off: no route, no irqfd */
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
	mw(vm, table + 16, 4, 0xfee00000);
	mw(vm, table + 20, 4, 0);
	mw(vm, table + 24, 4, 0x41);
	mw(vm, table + 28, 4, 0);
	CHECK_EQ(nr_irqfds, 0);	/* MSI-X still off */
	cfg_write(vm, msix + 2, 2, 0x8000);
	/* vector 1 may be sent: queue 0's eventfd is an irqfd on its route */
	CHECK_EQ(nr_irqfds, 1);
	CHECK_EQ(irqfds[0].fd, fd);
	unsigned gsi = irqfds[0].gsi;
	CHECK(gsi >= 24);
	CHECK_EQ(live_routes(), 1);
	CHECK_EQ(routes[gsi - 24].addr, 0xfee00000);
	CHECK_EQ(routes[gsi - 24].data, 0x41);
	/* the device's interrupt goes through it: no KVM_SIGNAL_MSI (the
	 * transport's thread may still be polling the eventfd for a moment:
	 * what it reads of an irqfd it writes back) */
	offer_and_notify(vm, 0, 64, VRING_F_WRITE);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	WAIT_FOR(fake_kvm_inject() + nr_injected == 1);
	CHECK_EQ(nr_msis, 1);	/* the injected one alone */
	CHECK_EQ(msis[0].data, 0x41);
	/* a new message while unmasked: the route changes, the irqfd stays */
	int changes = route_changes;
	mw(vm, table + 24, 4, 0x42);
	CHECK_EQ(route_changes, changes + 1);
	CHECK_EQ(routes[gsi - 24].data, 0x42);
	CHECK_EQ(nr_irqfds, 1);
	CHECK_EQ(irqfds[0].gsi, gsi);
	mw(vm, table + 24, 4, 0x42);	/* the same message again: no new table */
	CHECK_EQ(route_changes, changes + 1);
	/* another writer (vhost) on the same eventfd: KVM injects it */
	write_call_fd(fd);
	WAIT_FOR(fake_kvm_inject() + nr_injected == 2);
	CHECK_EQ(msis[1].data, 0x42);
	CHECK_EQ(nr_msis, 2);

	/* masked: the irqfd and its route go; the device's interrupt and
	 * the writer's both become the pending bit */
	mw(vm, table + 28, 4, 1);
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
	offer_and_notify(vm, 1, 16, VRING_F_WRITE);
	CHECK_EQ(mr(vm, table + 0x800, 8), 2);
	CHECK_EQ(nr_msis, 2);
	mw(vm, table + 28, 4, 0);	/* unmasked: the pending one is sent */
	CHECK_EQ(nr_msis, 3);
	CHECK_EQ(mr(vm, table + 0x800, 8), 0);
	CHECK_EQ(nr_irqfds, 1);
	mw(vm, table + 28, 4, 1);
	write_call_fd(fd);
	WAIT_FOR(mr(vm, table + 0x800, 8) == 2);	/* the thread read it */
	CHECK_EQ(nr_msis, 3);
	mw(vm, table + 28, 4, 0);
	CHECK_EQ(nr_msis, 4);
	CHECK_EQ(msis[3].data, 0x42);
	CHECK_EQ(nr_irqfds, 1);
	/* a write while detached that nobody read yet reaches the guest
	 * once the irqfd is back (KVM looks at the count on assign) */
	CHECK_EQ(fake_kvm_inject(), 0);

	/* the function mask detaches too */
	cfg_write(vm, msix + 2, 2, 0xc000);
	CHECK_EQ(nr_irqfds, 0);
	cfg_write(vm, msix + 2, 2, 0x8000);
	CHECK_EQ(nr_irqfds, 1);
	/* the queue on vector 0 (masked): detached; back on 1: attached */
	mw(vm, CC(0x16), 2, 0);
	mw(vm, CC(0x1a), 2, 0);
	CHECK_EQ(nr_irqfds, 0);
	mw(vm, CC(0x1a), 2, 1);
	CHECK_EQ(nr_irqfds, 1);

	/* MSI-X off: INTx, through the thread */
	cfg_write(vm, msix + 2, 2, 0);
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
	(void)mr(vm, CC(0x1000), 1);
	write_call_fd(fd);
	WAIT_FOR(fake_irq_level[GSI] == 1);
	CHECK_EQ(mr(vm, CC(0x1000), 1), 1);
	CHECK_EQ(fake_irq_level[GSI], 0);
	CHECK_EQ(nr_msis, 4);

	/* a reset leaves nothing attached, and a new set-up attaches again */
	cfg_write(vm, msix + 2, 2, 0x8000);
	CHECK_EQ(nr_irqfds, 1);
	mw(vm, CC(0x14), 1, 0);
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 1, 0);
	CHECK_EQ(nr_irqfds, 1);
	CHECK_EQ(rng->transport->call_fd(rng, 0), fd);
	test_vm_free(vm);
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
}

TEST(irqfd_refused_falls_back)
{
	/* one route per vector a queue uses: the configuration vector is
	 * no queue's, so one route */
	struct vm *vm = machine_on(2, true);
	uint64_t table = cfg_read(vm, 0x14, 4) & ~0xfull;
	unsigned msix = find_msix(vm);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), 0, 0);
	for (unsigned v = 0; v < 2; v++) {
		mw(vm, table + 16 * v, 4, 0xfee00000);
		mw(vm, table + 16 * v + 8, 4, 0x50 + v);
		mw(vm, table + 16 * v + 12, 4, 0);
	}
	cfg_write(vm, msix + 2, 2, 0x8000);
	CHECK_EQ(nr_irqfds, 1);
	CHECK_EQ(live_routes(), 1);
	CHECK_EQ(routes[irqfds[0].gsi - 24].data, 0x50);
	/* the engine refuses irqfds: the transport falls back and says so */
	mw(vm, CC(0x1a), 2, 0xffff);
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
	refuse_irqfds = true;
	mw(vm, CC(0x1a), 2, 1);
	CHECK_EQ(nr_irqfds, 0);
	CHECK_EQ(live_routes(), 0);
	offer_and_notify(vm, 0, 16, VRING_F_WRITE);
	CHECK_EQ(nr_msis, 1);
	CHECK_EQ(msis[0].data, 0x51);
	test_vm_free(vm);
}

RUN_TESTS(T(identity_and_capabilities), T(msix_delivery_masking_and_pending), T(intx_and_isr),
	  T(broken_chain_needs_reset_then_reset_recovers), T(pci_cfg_window_and_odd_accesses),
	  T(irqfd_follows_the_vector), T(irqfd_refused_falls_back))
