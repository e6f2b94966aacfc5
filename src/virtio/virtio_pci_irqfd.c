#include "virtio/virtio_pci_irqfd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"

#define NO_VECTOR 0xffff

static void signal_fd(int fd)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is full, which already means "interrupt" */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("virtio-pci: cannot write an eventfd: %s", strerror(errno));
}

/* Reads the eventfds that are not irqfds (the guest cannot take the
 * interrupt directly now) and hands them to the transport */
static void *forward_thread(void *arg)
{
	struct vp_irqfd *c = arg;
	struct pollfd pfd[1 + VIRTIO_MAX_QUEUES];
	unsigned which[VIRTIO_MAX_QUEUES];
	while (!atomic_load(&c->stopping)) {
		unsigned n = 0;
		pfd[0] = (struct pollfd){ .fd = c->ctl_fd, .events = POLLIN };
		for (unsigned q = 0; q < c->nr_queues; q++) {
			if (atomic_load(&c->gsi[q]) >= 0)
				continue;	/* KVM takes it */
			pfd[1 + n] = (struct pollfd){ .fd = c->fd[q], .events = POLLIN };
			which[n++] = q;
		}
		if (poll(pfd, 1 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: poll: %s", c->name, strerror(errno));
			return NULL;
		}
		uint64_t v;
		if ((pfd[0].revents & POLLIN) && read(c->ctl_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_warn("%s: cannot read an eventfd: %s", c->name, strerror(errno));
		for (unsigned i = 0; i < n; i++) {
			unsigned q = which[i];
			/* EAGAIN: KVM took it, as an irqfd attached meanwhile */
			if (!(pfd[1 + i].revents & POLLIN) || read(c->fd[q], &v, sizeof(v)) < 0)
				continue;
			if (atomic_load(&c->gsi[q]) >= 0) {
				/* attached after the poll: KVM's to send */
				signal_fd(c->fd[q]);
				continue;
			}
			atomic_fetch_add(&c->forwarded, 1);
			c->forward(c->opaque, q);
		}
	}
	return NULL;
}

int vp_irqfd_init(struct vp_irqfd *c, struct vm *vm, struct msix *msix, unsigned nr_queues,
		  const char *name, void (*forward)(void *opaque, unsigned q), void *opaque)
{
	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->msix = msix;
	c->name = name;
	c->nr_queues = nr_queues;
	c->forward = forward;
	c->opaque = opaque;
	c->ctl_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		c->fd[q] = -1;
		atomic_init(&c->gsi[q], -1);
	}
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++)
		c->route_gsi[v] = -1;
	pthread_mutex_init(&c->lock, NULL);
	return vm_has_irqfd(vm) && msix ? vp_irqfd_fd(c, 0) : 0;
}

static void close_fds(struct vp_irqfd *c)
{
	for (unsigned q = 0; q < c->nr_queues; q++) {
		if (c->fd[q] >= 0)
			close(c->fd[q]);
		c->fd[q] = -1;
	}
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	c->ctl_fd = -1;
}

/* Lock held: the eventfds and the thread */
static int make_ready(struct vp_irqfd *c)
{
	int ret = 0;
	for (unsigned q = 0; q < c->nr_queues && ret == 0; q++)
		if ((c->fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			ret = -errno;
	if (ret == 0 && (c->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		ret = -errno;
	if (ret == 0) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		ret = -pthread_create(&c->thread, NULL, forward_thread, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (ret < 0) {
		log_error("%s: call eventfds: %s", c->name, strerror(-ret));
		close_fds(c);
		return ret;
	}
	c->ready = true;
	return 0;
}

int vp_irqfd_fd(struct vp_irqfd *c, unsigned q)
{
	if (q >= c->nr_queues)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	int ret = c->ready ? 0 : make_ready(c);
	pthread_mutex_unlock(&c->lock);
	return ret < 0 ? ret : c->fd[q];
}

bool vp_irqfd_signal(struct vp_irqfd *c, unsigned q)
{
	/* detached after this test: the eventfd keeps the count and the
	 * thread, told of the detach, reads it */
	if (q >= c->nr_queues || atomic_load(&c->gsi[q]) < 0)
		return false;
	atomic_fetch_add(&c->signalled, 1);
	signal_fd(c->fd[q]);
	return true;
}

bool vp_irqfd_attached(struct vp_irqfd *c, unsigned q)
{
	return q < c->nr_queues && atomic_load(&c->gsi[q]) >= 0;
}

/* Lock held: vector v's route carrying (addr, data), made or changed; its
 * GSI or -1 */
static int route_for(struct vp_irqfd *c, unsigned v, uint64_t addr, uint32_t data)
{
	int gsi = c->route_gsi[v];
	if (gsi >= 0 && c->route_addr[v] == addr && c->route_data[v] == data)
		return gsi;
	int ret = vm_msi_route(c->vm, gsi, addr, data);
	if (ret < 0) {
		if (!c->warned)
			log_warn("%s: no MSI route for vector %u: %s; minivmm forwards its interrupts",
				 c->name, v, strerror(-ret));
		c->warned = true;
		return -1;
	}
	c->route_gsi[v] = ret;
	c->route_addr[v] = addr;
	c->route_data[v] = data;
	return ret;
}

static void detach(struct vp_irqfd *c, unsigned q)
{
	int gsi = atomic_load(&c->gsi[q]);
	if (gsi < 0)
		return;
	int ret = vm_irqfd(c->vm, (unsigned)gsi, c->fd[q], false);
	if (ret < 0)
		log_warn("%s: KVM_IRQFD deassign (queue %u, GSI %d): %s", c->name, q, gsi,
			 strerror(-ret));
	atomic_store(&c->gsi[q], -1);
	if (c->vm->cfg.debug_mask & DEBUG_INT)
		log_debug("%s: queue %u: irqfd off GSI %d", c->name, q, gsi);
}

/* KVM_IRQFD looks at the eventfd's count when it assigns, so a write that
 * came while detached is injected then */
static void attach(struct vp_irqfd *c, unsigned q, int gsi, unsigned v)
{
	int ret = vm_irqfd(c->vm, (unsigned)gsi, c->fd[q], true);
	if (ret < 0) {
		if (!c->warned)
			log_warn("%s: KVM_IRQFD (queue %u, GSI %d): %s; minivmm forwards its interrupts",
				 c->name, q, gsi, strerror(-ret));
		c->warned = true;
		return;
	}
	atomic_store(&c->gsi[q], gsi);
	if (c->vm->cfg.debug_mask & DEBUG_INT)
		log_debug("%s: queue %u: irqfd on GSI %d (MSI-X vector %u)", c->name, q, gsi, v);
}

void vp_irqfd_update(struct vp_irqfd *c, const uint16_t *vectors)
{
	bool used[MSIX_MAX_VECTORS] = { false };
	pthread_mutex_lock(&c->lock);
	if (!c->ready) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	bool changed = false;
	bool irqfd = vm_has_irqfd(c->vm) && c->msix;
	for (unsigned q = 0; q < c->nr_queues; q++) {
		unsigned v = vectors[q];
		uint64_t addr;
		uint32_t data;
		int target = -1;
		if (irqfd && v != NO_VECTOR && v < c->msix->nvec &&
		    msix_vector_message(c->msix, v, &addr, &data))
			target = route_for(c, v, addr, data);
		int cur = atomic_load(&c->gsi[q]);
		if (cur != target) {
			changed = true;
			detach(c, q);
			if (target >= 0)
				attach(c, q, target, v);
		}
		if (atomic_load(&c->gsi[q]) >= 0)
			used[v] = true;
	}
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++) {
		if (c->route_gsi[v] >= 0 && !used[v]) {
			vm_msi_route_release(c->vm, c->route_gsi[v]);
			c->route_gsi[v] = -1;
		}
	}
	if (changed)
		signal_fd(c->ctl_fd);	/* the thread reads the detached ones, not the others */
	pthread_mutex_unlock(&c->lock);
}

void vp_irqfd_destroy(struct vp_irqfd *c)
{
	if (c->ready) {
		uint16_t none[VIRTIO_MAX_QUEUES];
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
			none[q] = NO_VECTOR;
		vp_irqfd_update(c, none);
		atomic_store(&c->stopping, true);
		signal_fd(c->ctl_fd);
		pthread_join(c->thread, NULL);
		close_fds(c);
		c->ready = false;
	}
	pthread_mutex_destroy(&c->lock);
}
