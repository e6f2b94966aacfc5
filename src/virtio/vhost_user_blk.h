/* vhost-user-blk-pci: a virtio disk served by a vhost-user back-end. */
#ifndef MINIVMM_VHOST_USER_BLK_H
#define MINIVMM_VHOST_USER_BLK_H

struct vm;
struct virtio_device_config;

/* Connect to the back-end at cfg->vhost_user_blk.path, read the disk's
 * configuration and put the device on the PCI bus.  Guest RAM must be a
 * shared memfd.  Prints what went wrong; 0 or -errno. */
int vhost_user_blk_pci_create(struct vm *vm, const struct virtio_device_config *cfg);

#endif
