#include "accel/select.h"

#include <stddef.h>

#include "core/log.h"

const struct accel_ops *accel_select(enum accel_choice choice)
{
	switch (choice) {
	case ACCEL_KVM:
		if (!kvm_accel_ops.available()) {
			log_error("-accel kvm: /dev/kvm cannot be opened (is KVM enabled and are you in group kvm?)");
			return NULL;
		}
		if (kvm_accel_ops.limitation())
			log_warn("-accel kvm: %s", kvm_accel_ops.limitation());
		return &kvm_accel_ops;
	case ACCEL_TCG:
		return &tcg_accel_ops;
	case ACCEL_AUTO:
		break;
	}
	if (!kvm_accel_ops.available()) {
		log_info("no /dev/kvm: using the software CPU (-accel tcg)");
		return &tcg_accel_ops;
	}
	const char *limitation = kvm_accel_ops.limitation();
	if (!limitation)
		return &kvm_accel_ops;
	log_info("%s: using the software CPU (-accel tcg; -accel kvm to use it anyway)", limitation);
	return &tcg_accel_ops;
}
