/* virtio-rng (virtio 1.2 §5.4): entropy from getrandom(2). */
#ifndef MINIVMM_VIRTIO_RNG_H
#define MINIVMM_VIRTIO_RNG_H

struct vm;
struct virtio_device_config;
struct virtio_dev;

/* The device alone (a transport puts it on a bus): 0 or -errno */
int virtio_rng_new(struct vm *vm, const struct virtio_device_config *cfg, struct virtio_dev **out);
#define PCI_CLASS_OTHER 0xff0000

/* virtio-rng-pci */
int virtio_rng_pci_create(struct vm *vm, const struct virtio_device_config *cfg);
/* virtio-rng-device, on the next virtio-mmio transport */
int virtio_rng_mmio_create(struct vm *vm, const struct virtio_device_config *cfg);

#endif
