/* virtio-console (virtio 1.2 §5.3) with VIRTIO_CONSOLE_F_MULTIPORT: QEMU's
 * virtio-serial bus with its virtconsole and virtserialport ports, each on
 * a character back-end (core/chardev.h). */
#ifndef MINIVMM_VIRTIO_CONSOLE_H
#define MINIVMM_VIRTIO_CONSOLE_H

struct vm;
struct virtio_device_config;
struct virtio_dev;

/* The device alone (a transport puts it on a bus), with the ports of
 * vm->cfg.serial_ports whose bus is cfg (their back-ends opened): 0 or
 * -errno after a message */
int virtio_console_new(struct vm *vm, const struct virtio_device_config *cfg,
		       struct virtio_dev **out);

/* virtio-serial-pci */
int virtio_console_pci_create(struct vm *vm, const struct virtio_device_config *cfg);
int virtio_console_mmio_create(struct vm *vm, const struct virtio_device_config *cfg);

#endif
