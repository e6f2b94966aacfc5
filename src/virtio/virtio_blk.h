/* virtio-blk (virtio 1.2 §5.2): a -drive as a virtio disk. */
#ifndef MINIVMM_VIRTIO_BLK_H
#define MINIVMM_VIRTIO_BLK_H

struct vm;
struct blk;
struct virtio_dev;
struct virtio_device_config;

#define PCI_CLASS_STORAGE_SCSI 0x010000

/* The device alone on an open disk, which it owns from then on (closed by
 * its destroy); serial may be NULL.  0 or -errno. */
int virtio_blk_new(struct vm *vm, const struct virtio_device_config *cfg, struct blk *blk,
		   const char *serial, struct virtio_dev **out);
/* virtio-blk-pci on the drive cfg->blk.drive names: opens it, prints what
 * went wrong */
int virtio_blk_pci_create(struct vm *vm, const struct virtio_device_config *cfg);
/* ... and virtio-blk-device, on the next virtio-mmio transport */
int virtio_blk_mmio_create(struct vm *vm, const struct virtio_device_config *cfg);

#endif
