/* The vhost-net ioctls, strictly as <linux/vhost.h> has them, each argument
 * checked before the kernel sees it. */
#include "net/vhost_net.h"

#include <errno.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <sys/ioctl.h>

static int vhost_ioctl(int fd, unsigned long request, void *arg)
{
	if (fd < 0)
		return -EBADF;
	return ioctl(fd, request, arg) < 0 ? -errno : 0;
}

int vhost_net_set_owner(int vhost_fd)
{
	return vhost_ioctl(vhost_fd, VHOST_SET_OWNER, NULL);
}

int vhost_net_get_features(int vhost_fd, uint64_t *features)
{
	return vhost_ioctl(vhost_fd, VHOST_GET_FEATURES, features);
}

uint64_t vhost_net_features(uint64_t vhost_features, uint64_t guest_features,
			    bool tap_vnet_hdr)
{
	/* bits 26 and 27 are vhost's own (logging, and the header it adds);
	 * 27 is also the legacy ANY_LAYOUT, which VERSION_1 implies */
	const uint64_t vhost_only = 1ull << VHOST_F_LOG_ALL | 1ull << VHOST_NET_F_VIRTIO_NET_HDR;
	uint64_t f = guest_features & vhost_features & ~vhost_only;
	if (!tap_vnet_hdr)
		f |= vhost_features & (1ull << VHOST_NET_F_VIRTIO_NET_HDR);
	return f;
}

int vhost_net_set_features(int vhost_fd, uint64_t features)
{
	return vhost_ioctl(vhost_fd, VHOST_SET_FEATURES, &features);
}

int vhost_net_set_mem_table(int vhost_fd, const struct vhost_net_region *regions, unsigned nr)
{
	if (nr == 0 || nr > VHOST_NET_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < nr; i++) {
		const struct vhost_net_region *r = &regions[i];
		if (!r->size || !r->hva || r->gpa + r->size < r->gpa ||
		    (uintptr_t)r->hva + r->size < (uintptr_t)r->hva)
			return -EINVAL;
	}
	struct vhost_memory *mem = calloc(1, sizeof(*mem) + nr * sizeof(mem->regions[0]));
	if (!mem)
		return -ENOMEM;
	mem->nregions = nr;
	for (unsigned i = 0; i < nr; i++) {
		mem->regions[i].guest_phys_addr = regions[i].gpa;
		mem->regions[i].memory_size = regions[i].size;
		mem->regions[i].userspace_addr = (uintptr_t)regions[i].hva;
	}
	int ret = vhost_ioctl(vhost_fd, VHOST_SET_MEM_TABLE, mem);
	free(mem);
	return ret;
}

static bool vring_valid(const struct vhost_net_vring *v)
{
	return v->num && v->num <= 32768 && !(v->num & (v->num - 1)) && v->desc && v->avail &&
	       v->used && !((uintptr_t)v->desc & 15) && !((uintptr_t)v->avail & 1) &&
	       !((uintptr_t)v->used & 3) && v->kick_fd >= 0 && v->call_fd >= 0;
}

int vhost_net_set_vring(int vhost_fd, unsigned index, const struct vhost_net_vring *v)
{
	if (index >= VHOST_NET_VQS || !vring_valid(v))
		return -EINVAL;
	struct vhost_vring_state num = { .index = index, .num = v->num };
	struct vhost_vring_state base = { .index = index, .num = v->next_avail };
	struct vhost_vring_addr addr = {
		.index = index,
		.desc_user_addr = (uintptr_t)v->desc,
		.avail_user_addr = (uintptr_t)v->avail,
		.used_user_addr = (uintptr_t)v->used,
	};
	struct vhost_vring_file kick = { .index = index, .fd = v->kick_fd };
	struct vhost_vring_file call = { .index = index, .fd = v->call_fd };
	int ret;
	if ((ret = vhost_ioctl(vhost_fd, VHOST_SET_VRING_NUM, &num)) < 0 ||
	    (ret = vhost_ioctl(vhost_fd, VHOST_SET_VRING_BASE, &base)) < 0 ||
	    (ret = vhost_ioctl(vhost_fd, VHOST_SET_VRING_ADDR, &addr)) < 0 ||
	    (ret = vhost_ioctl(vhost_fd, VHOST_SET_VRING_KICK, &kick)) < 0 ||
	    (ret = vhost_ioctl(vhost_fd, VHOST_SET_VRING_CALL, &call)) < 0)
		return ret;
	return 0;
}

int vhost_net_set_backend(int vhost_fd, unsigned index, int tap_fd)
{
	if (index >= VHOST_NET_VQS || tap_fd < -1)
		return -EINVAL;
	struct vhost_vring_file backend = { .index = index, .fd = tap_fd };
	return vhost_ioctl(vhost_fd, VHOST_NET_SET_BACKEND, &backend);
}

int vhost_net_get_vring_base(int vhost_fd, unsigned index, uint16_t *next_avail)
{
	if (index >= VHOST_NET_VQS)
		return -EINVAL;
	struct vhost_vring_state state = { .index = index };
	int ret = vhost_ioctl(vhost_fd, VHOST_GET_VRING_BASE, &state);
	if (ret == 0)
		*next_avail = (uint16_t)state.num;
	return ret;
}

int vhost_net_start(int vhost_fd, uint64_t features, const struct vhost_net_region *regions,
		    unsigned nr_regions, const struct vhost_net_vring vrings[VHOST_NET_VQS],
		    int tap_fd)
{
	int ret;
	if (tap_fd < 0)
		return -EBADF;
	if ((ret = vhost_net_set_features(vhost_fd, features)) < 0 ||
	    (ret = vhost_net_set_mem_table(vhost_fd, regions, nr_regions)) < 0)
		return ret;
	for (unsigned i = 0; i < VHOST_NET_VQS; i++)
		if ((ret = vhost_net_set_vring(vhost_fd, i, &vrings[i])) < 0)
			return ret;
	for (unsigned i = 0; i < VHOST_NET_VQS; i++) {
		if ((ret = vhost_net_set_backend(vhost_fd, i, tap_fd)) < 0) {
			while (i--)
				vhost_net_set_backend(vhost_fd, i, -1);
			return ret;
		}
	}
	return 0;
}

int vhost_net_stop(int vhost_fd, uint16_t next_avail[VHOST_NET_VQS])
{
	int ret = 0;
	for (unsigned i = 0; i < VHOST_NET_VQS; i++) {
		int r = vhost_net_set_backend(vhost_fd, i, -1);
		if (r < 0 && ret == 0)
			ret = r;
	}
	for (unsigned i = 0; i < VHOST_NET_VQS; i++) {
		int r = vhost_net_get_vring_base(vhost_fd, i, &next_avail[i]);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}
