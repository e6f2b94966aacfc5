/* What to do when KVM_RUN returns: a pure function of the shared kvm_run
 * page, so that every exit can be tested with a fabricated page.  The page
 * is written by the kernel, but its offsets and counts are still checked
 * against the mapping's size before use: a wrong value must end the VM, not
 * let the monitor read or write beyond the mapping. */
#include "accel/kvm/kvm_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"

static const char *const exit_reason_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_S390_SIEIC] = "S390_SIEIC",
	[KVM_EXIT_S390_RESET] = "S390_RESET",
	[KVM_EXIT_DCR] = "DCR",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
	[KVM_EXIT_S390_UCONTROL] = "S390_UCONTROL",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_S390_TSCH] = "S390_TSCH",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_S390_STSI] = "S390_STSI",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_ARM_NISV] = "ARM_NISV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "XEN",
	[KVM_EXIT_RISCV_SBI] = "RISCV_SBI",
	[KVM_EXIT_RISCV_CSR] = "RISCV_CSR",
	[KVM_EXIT_NOTIFY] = "NOTIFY",
};

const char *kvm_exit_reason_name(uint32_t reason)
{
	if (reason < sizeof(exit_reason_names) / sizeof(exit_reason_names[0]) &&
	    exit_reason_names[reason])
		return exit_reason_names[reason];
	return "unknown to minivmm";
}

const char *kvm_internal_suberror_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "KVM could not emulate an instruction";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "an exception occurred while delivering another (simultaneous exceptions)";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "unexpected VM exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit reason";
	}
	return "unknown internal error";
}

/* On VMX the value is the basic exit reason with bit 31 (entry failure)
 * set, or, when VMLAUNCH/VMRESUME itself failed, the VM-instruction error
 * number; on SVM it is VMEXIT_INVALID (-1). */
const char *kvm_entry_failure_name(uint64_t reason)
{
	if (reason == UINT64_MAX)
		return "SVM: invalid VMCB state (VMEXIT_INVALID)";
	if (reason & 0x80000000u) {
		switch (reason & 0xffff) {
		case 33:
			return "VMX: invalid guest state";
		case 34:
			return "VMX: MSR loading failed";
		case 41:
			return "VMX: machine-check event";
		}
		return "VMX: entry failure";
	}
	switch (reason) {
	case 7:
		return "VMX: VM entry with invalid control fields";
	case 8:
		return "VMX: VM entry with invalid host-state fields";
	}
	return "unknown entry failure";
}

/* Where the data of a KVM_EXIT_IO lies, or NULL with *why set when the
 * exit names a size, count or offset that cannot be right. */
static uint8_t *io_data(struct kvm_run *run, size_t run_size, const char **why)
{
	uint64_t offset = run->io.data_offset;
	uint64_t size = run->io.size, count = run->io.count;

	if (size != 1 && size != 2 && size != 4) {
		*why = "an access size other than 1, 2 or 4";
		return NULL;
	}
	if (count == 0) {
		*why = "no element";
		return NULL;
	}
	/* the data page follows struct kvm_run (KVM_PIO_PAGE_OFFSET) */
	if (offset < sizeof(struct kvm_run) || offset > run_size ||
	    count > (run_size - offset) / size) {
		*why = "data outside the kvm_run mapping";
		return NULL;
	}
	return (uint8_t *)run + offset;
}

static enum kvm_exit_action handle_io(struct vm *vm, struct kvm_run *run, size_t run_size)
{
	const char *why = NULL;
	uint8_t *data = io_data(run, run_size, &why);
	unsigned size = run->io.size;

	if (!data) {
		log_error("KVM: refusing a port I/O exit with %s (port 0x%x, size %u, count %u, "
			  "data offset %llu, mapping %zu bytes)",
			  why, run->io.port, run->io.size, run->io.count,
			  (unsigned long long)run->io.data_offset, run_size);
		return KVM_ACTION_ERROR;
	}
	/* string I/O (rep ins/outs) hands over count elements at once, all
	 * for the same port, in order */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint32_t value = 0;
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&value, data, size);	/* little endian, as the guest stored it */
			vm_pio_write(vm, run->io.port, size, value);
		} else {
			vm_pio_read(vm, run->io.port, size, &value);
			memcpy(data, &value, size);
		}
	}
	return KVM_ACTION_CONTINUE;
}

static bool is_power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static enum kvm_exit_action handle_mmio(struct vm *vm, struct kvm_run *run)
{
	uint32_t len = run->mmio.len;
	uint64_t addr = run->mmio.phys_addr;
	uint8_t *data = run->mmio.data;

	if (len == 0 || len > sizeof(run->mmio.data)) {
		log_error("KVM: MMIO exit at 0x%" PRIx64 " with length %u (at most 8 is possible)",
			  addr, len);
		return KVM_ACTION_ERROR;
	}
	if (!is_power_of_two(len)) {
		/* odd sizes only come from unusual instructions: byte by byte */
		for (uint32_t i = 0; i < len; i++) {
			uint64_t b = 0;
			if (run->mmio.is_write)
				io_bus_write(&vm->mmio, addr + i, 1, data[i]);
			else {
				io_bus_read(&vm->mmio, addr + i, 1, &b);
				data[i] = (uint8_t)b;
			}
		}
		return KVM_ACTION_CONTINUE;
	}
	uint64_t value = 0;
	if (run->mmio.is_write) {
		memcpy(&value, data, len);
		io_bus_write(&vm->mmio, addr, len, value);
	} else {
		io_bus_read(&vm->mmio, addr, len, &value);
		memcpy(data, &value, len);
	}
	return KVM_ACTION_CONTINUE;
}

static enum kvm_exit_action handle_system_event(struct kvm_run *run)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return KVM_ACTION_POWEROFF;
	case KVM_SYSTEM_EVENT_RESET:
		return KVM_ACTION_RESET;
	case KVM_SYSTEM_EVENT_CRASH:
		log_error("KVM: the guest reported a crash (system event CRASH)");
		return KVM_ACTION_ERROR_DUMP;
	}
	log_error("KVM: system event of unknown type %u", run->system_event.type);
	return KVM_ACTION_ERROR;
}

static enum kvm_exit_action handle_internal_error(struct kvm_run *run)
{
	char extra[16 * 20 + 64] = "";
	size_t n = 0;
	uint32_t ndata = run->internal.ndata;

	if (ndata > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		ndata = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    ndata >= 3 && (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned len = run->emulation_failure.insn_size;
		if (len > sizeof(run->emulation_failure.insn_bytes))
			len = sizeof(run->emulation_failure.insn_bytes);
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, "; instruction bytes:");
		for (unsigned i = 0; i < len && n < sizeof(extra); i++)
			n += (size_t)snprintf(extra + n, sizeof(extra) - n, " %02x",
					      run->emulation_failure.insn_bytes[i]);
	} else if (ndata) {
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, "; data:");
		for (uint32_t i = 0; i < ndata && n < sizeof(extra); i++)
			n += (size_t)snprintf(extra + n, sizeof(extra) - n, " 0x%llx",
					      (unsigned long long)run->internal.data[i]);
	}
	log_error("KVM: internal error %u: %s%s", run->internal.suberror,
		  kvm_internal_suberror_name(run->internal.suberror), extra);
	return KVM_ACTION_ERROR_DUMP;
}

enum kvm_exit_action kvm_handle_exit(struct vm *vm, struct kvm_run *run, size_t run_size)
{
	if (run_size < sizeof(*run)) {
		log_error("KVM: kvm_run mapping of %zu bytes is smaller than struct kvm_run", run_size);
		return KVM_ACTION_ERROR;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vm, run, run_size);
	case KVM_EXIT_MMIO:
		return handle_mmio(vm, run);
	case KVM_EXIT_HLT:
		return KVM_ACTION_HALT;
	case KVM_EXIT_INTR:
		return KVM_ACTION_YIELD;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		/* only when asked for with request_interrupt_window; harmless */
		return KVM_ACTION_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		/* triple fault: a PC resets */
		return KVM_ACTION_RESET;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(run);
	case KVM_EXIT_FAIL_ENTRY:
		log_error("KVM: the CPU refused to enter the guest on host CPU %u: %s "
			  "(hardware entry failure reason 0x%llx)",
			  run->fail_entry.cpu,
			  kvm_entry_failure_name(run->fail_entry.hardware_entry_failure_reason),
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return KVM_ACTION_ERROR_DUMP;
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_internal_error(run);
	case KVM_EXIT_UNKNOWN:
		log_error("KVM: exit for a reason KVM does not know (hardware exit reason 0x%llx)",
			  (unsigned long long)run->hw.hardware_exit_reason);
		return KVM_ACTION_ERROR_DUMP;
	}
	log_error("KVM: unexpected exit %u (%s)", run->exit_reason,
		  kvm_exit_reason_name(run->exit_reason));
	return KVM_ACTION_ERROR_DUMP;
}

size_t kvm_describe_exit(char *buf, size_t size, const struct kvm_run *run)
{
	int n;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		n = snprintf(buf, size, "IO %s port 0x%04x size %u count %u",
			     run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port,
			     run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		n = snprintf(buf, size, "MMIO %s 0x%" PRIx64 " len %u",
			     run->mmio.is_write ? "write" : "read", (uint64_t)run->mmio.phys_addr,
			     run->mmio.len);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		n = snprintf(buf, size, "SYSTEM_EVENT type %u", run->system_event.type);
		break;
	default:
		n = snprintf(buf, size, "%s (%u)", kvm_exit_reason_name(run->exit_reason),
			     run->exit_reason);
		break;
	}
	if (n < 0 || size == 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

enum vcpu_event kvm_action_to_event(enum kvm_exit_action action)
{
	switch (action) {
	case KVM_ACTION_CONTINUE:
	case KVM_ACTION_YIELD:
		return VCPU_EVENT_YIELD;
	case KVM_ACTION_HALT:
		return VCPU_EVENT_HALT;
	case KVM_ACTION_RESET:
		return VCPU_EVENT_RESET;
	case KVM_ACTION_POWEROFF:
		return VCPU_EVENT_POWEROFF;
	case KVM_ACTION_ERROR:
	case KVM_ACTION_ERROR_DUMP:
		break;
	}
	return VCPU_EVENT_ERROR;
}
