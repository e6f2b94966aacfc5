/* KVM exit dispatch, with fabricated kvm_run pages: no /dev/kvm needed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accel/kvm/kvm_internal.h"
#include "core/vm.h"
#include "test.h"

#define RUN_SIZE 8192	/* struct kvm_run page + the PIO data page */
#define PIO_DATA 4096

/* A device that records what reaches it and answers reads from a list */
struct rec_dev {
	int nr_writes, nr_reads;
	uint64_t w_offset[32], w_value[32];
	unsigned w_size[32], r_size[32];
	uint64_t r_offset[32];
	uint64_t answers[32];
};

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rec_dev *d = opaque;
	int i = d->nr_reads++;
	if (i >= 32)
		return 0;
	d->r_offset[i] = offset;
	d->r_size[i] = size;
	return d->answers[i];
}

static void rec_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct rec_dev *d = opaque;
	int i = d->nr_writes++;
	if (i >= 32)
		return;
	d->w_offset[i] = offset;
	d->w_size[i] = size;
	d->w_value[i] = value;
}

static const struct io_ops rec_ops = { rec_read, rec_write };

struct fixture {
	struct vm vm;
	struct rec_dev port_dev, mmio_dev;
	struct kvm_run *run;	/* exactly RUN_SIZE bytes, so ASan sees any overrun */
};

#define PORT_BASE 0x3f8
#define MMIO_BASE 0xd0000000ull

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	io_bus_init(&f->vm.pio, "pio", NULL);
	io_bus_init(&f->vm.mmio, "mmio", NULL);
	if (io_bus_register(&f->vm.pio, PORT_BASE, 8, &rec_ops, &f->port_dev, "rec") < 0 ||
	    io_bus_register(&f->vm.mmio, MMIO_BASE, 0x1000, &rec_ops, &f->mmio_dev, "rec") < 0)
		abort();
	f->run = calloc(1, RUN_SIZE);
	return f;
}

static void fixture_free(struct fixture *f)
{
	io_bus_destroy(&f->vm.pio);
	io_bus_destroy(&f->vm.mmio);
	free(f->run);
	free(f);
}

static uint8_t *pio_data(struct fixture *f)
{
	return (uint8_t *)f->run + PIO_DATA;
}

static void set_io(struct fixture *f, uint8_t dir, uint8_t size, uint16_t port, uint32_t count)
{
	f->run->exit_reason = KVM_EXIT_IO;
	f->run->io.direction = dir;
	f->run->io.size = size;
	f->run->io.port = port;
	f->run->io.count = count;
	f->run->io.data_offset = PIO_DATA;
}

TEST(pio_out_each_size)
{
	static const uint32_t values[] = { 0x41, 0xbeef, 0xcafe1234 };
	for (unsigned k = 0; k < 3; k++) {
		struct fixture *f = fixture_new();
		unsigned size = 1u << k;
		set_io(f, KVM_EXIT_IO_OUT, (uint8_t)size, PORT_BASE + 2, 1);
		memcpy(pio_data(f), &values[k], size);
		CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
		CHECK_EQ(f->port_dev.nr_writes, 1);
		CHECK_EQ(f->port_dev.w_offset[0], 2);
		CHECK_EQ(f->port_dev.w_size[0], size);
		CHECK_EQ(f->port_dev.w_value[0], values[k]);
		fixture_free(f);
	}
}

TEST(pio_in_each_size)
{
	for (unsigned k = 0; k < 3; k++) {
		struct fixture *f = fixture_new();
		unsigned size = 1u << k;
		f->port_dev.answers[0] = 0x89abcdef;
		memset(pio_data(f), 0x55, 8);
		set_io(f, KVM_EXIT_IO_IN, (uint8_t)size, PORT_BASE + 1, 1);
		CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
		CHECK_EQ(f->port_dev.nr_reads, 1);
		CHECK_EQ(f->port_dev.r_offset[0], 1);
		CHECK_EQ(f->port_dev.r_size[0], size);
		uint32_t got = 0;
		memcpy(&got, pio_data(f), size);
		CHECK_EQ(got, 0x89abcdefu & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1));
		/* nothing beyond the element was touched */
		CHECK_EQ(pio_data(f)[size], 0x55);
		fixture_free(f);
	}
}

TEST(pio_in_unassigned_reads_all_ones)
{
	struct fixture *f = fixture_new();
	set_io(f, KVM_EXIT_IO_IN, 2, 0x1234, 1);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	CHECK_EQ(pio_data(f)[0], 0xff);
	CHECK_EQ(pio_data(f)[1], 0xff);
	CHECK_EQ(f->port_dev.nr_reads, 0);
	fixture_free(f);
}

TEST(string_out_reaches_device_in_order)
{
	struct fixture *f = fixture_new();
	uint16_t elems[5] = { 0x1111, 0x2222, 0x3333, 0x4444, 0x5555 };
	set_io(f, KVM_EXIT_IO_OUT, 2, PORT_BASE, 5);
	memcpy(pio_data(f), elems, sizeof(elems));
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	CHECK_EQ(f->port_dev.nr_writes, 5);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(f->port_dev.w_value[i], elems[i]);
		CHECK_EQ(f->port_dev.w_size[i], 2);
		CHECK_EQ(f->port_dev.w_offset[i], 0);
	}
	fixture_free(f);
}

TEST(string_in_fills_elements_in_order)
{
	struct fixture *f = fixture_new();
	for (int i = 0; i < 4; i++)
		f->port_dev.answers[i] = 0xa0000000u + (uint32_t)i;
	set_io(f, KVM_EXIT_IO_IN, 4, PORT_BASE + 4, 4);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	CHECK_EQ(f->port_dev.nr_reads, 4);
	uint32_t got[4];
	memcpy(got, pio_data(f), sizeof(got));
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(got[i], 0xa0000000u + (uint32_t)i);
		CHECK_EQ(f->port_dev.r_offset[i], 4);
	}
	fixture_free(f);
}

TEST(string_io_exactly_filling_the_mapping)
{
	struct fixture *f = fixture_new();
	set_io(f, KVM_EXIT_IO_IN, 1, PORT_BASE, 16);
	f->run->io.data_offset = RUN_SIZE - 16;
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	CHECK_EQ(f->port_dev.nr_reads, 16);
	fixture_free(f);
}

/* Each hostile exit is refused before any device sees it */
static void check_refused(struct fixture *f)
{
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_ERROR);
	CHECK_EQ(f->port_dev.nr_reads, 0);
	CHECK_EQ(f->port_dev.nr_writes, 0);
}

TEST(hostile_io_exits_are_refused)
{
	struct fixture *f = fixture_new();

	set_io(f, KVM_EXIT_IO_IN, 2, PORT_BASE, 1);
	f->run->io.data_offset = RUN_SIZE - 1;	/* one byte short */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_OUT, 4, PORT_BASE, 2);
	f->run->io.data_offset = RUN_SIZE - 4;	/* the second element is outside */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_IN, 4, PORT_BASE, 1);
	f->run->io.data_offset = UINT64_MAX - 1;	/* would wrap */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_IN, 4, PORT_BASE, 0xffffffffu);	/* count * size overflows 32 bits */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_IN, 4, PORT_BASE, 0x40000001u);
	check_refused(f);

	set_io(f, KVM_EXIT_IO_OUT, 1, PORT_BASE, 1);
	f->run->io.data_offset = 0;	/* over struct kvm_run itself */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_OUT, 1, PORT_BASE, 1);
	f->run->io.data_offset = RUN_SIZE;	/* just past the end */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_OUT, 3, PORT_BASE, 1);	/* no such access size */
	check_refused(f);

	set_io(f, KVM_EXIT_IO_OUT, 8, PORT_BASE, 1);
	check_refused(f);

	set_io(f, KVM_EXIT_IO_OUT, 1, PORT_BASE, 0);
	check_refused(f);

	/* a mapping smaller than struct kvm_run is refused whatever the exit */
	set_io(f, KVM_EXIT_IO_OUT, 1, PORT_BASE, 1);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, sizeof(struct kvm_run) - 1), KVM_ACTION_ERROR);
	CHECK_EQ(f->port_dev.nr_writes, 0);
	fixture_free(f);
}

static void set_mmio(struct fixture *f, uint64_t addr, uint32_t len, bool write, uint64_t value)
{
	f->run->exit_reason = KVM_EXIT_MMIO;
	f->run->mmio.phys_addr = addr;
	f->run->mmio.len = len;
	f->run->mmio.is_write = write;
	memset(f->run->mmio.data, 0, 8);
	memcpy(f->run->mmio.data, &value, len <= 8 ? len : 8);
}

TEST(mmio_write_each_size)
{
	static const uint64_t values[] = { 0x12, 0x3456, 0x789abcde, 0x0123456789abcdefull };
	for (unsigned k = 0; k < 4; k++) {
		struct fixture *f = fixture_new();
		unsigned len = 1u << k;
		set_mmio(f, MMIO_BASE + 0x10, len, true, values[k]);
		CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
		CHECK_EQ(f->mmio_dev.nr_writes, 1);
		CHECK_EQ(f->mmio_dev.w_offset[0], 0x10);
		CHECK_EQ(f->mmio_dev.w_size[0], len);
		CHECK_EQ(f->mmio_dev.w_value[0], values[k]);
		fixture_free(f);
	}
}

TEST(mmio_read_each_size)
{
	for (unsigned k = 0; k < 4; k++) {
		struct fixture *f = fixture_new();
		unsigned len = 1u << k;
		f->mmio_dev.answers[0] = 0x1122334455667788ull;
		set_mmio(f, MMIO_BASE + 0x20, len, false, 0);
		memset(f->run->mmio.data, 0xee, 8);
		CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
		CHECK_EQ(f->mmio_dev.nr_reads, 1);
		CHECK_EQ(f->mmio_dev.r_offset[0], 0x20);
		CHECK_EQ(f->mmio_dev.r_size[0], len);
		uint64_t got = 0;
		memcpy(&got, f->run->mmio.data, len);
		uint64_t mask = len == 8 ? ~0ull : (1ull << (8 * len)) - 1;
		CHECK_EQ(got, 0x1122334455667788ull & mask);
		if (len < 8)
			CHECK_EQ(f->run->mmio.data[len], 0xee);
		fixture_free(f);
	}
}

TEST(mmio_odd_length_goes_byte_by_byte)
{
	struct fixture *f = fixture_new();
	set_mmio(f, MMIO_BASE + 0x30, 3, true, 0xccbbaa);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	CHECK_EQ(f->mmio_dev.nr_writes, 3);
	CHECK_EQ(f->mmio_dev.w_value[0], 0xaa);
	CHECK_EQ(f->mmio_dev.w_value[2], 0xcc);
	CHECK_EQ(f->mmio_dev.w_offset[2], 0x32);

	f->mmio_dev.answers[0] = 1;
	f->mmio_dev.answers[1] = 2;
	f->mmio_dev.answers[2] = 3;
	set_mmio(f, MMIO_BASE + 0x40, 3, false, 0);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	CHECK_EQ(f->run->mmio.data[0], 1);
	CHECK_EQ(f->run->mmio.data[1], 2);
	CHECK_EQ(f->run->mmio.data[2], 3);
	fixture_free(f);
}

TEST(mmio_unassigned_read_is_all_ones)
{
	struct fixture *f = fixture_new();
	set_mmio(f, 0xe0000000ull, 4, false, 0);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_CONTINUE);
	uint32_t got;
	memcpy(&got, f->run->mmio.data, 4);
	CHECK_EQ(got, 0xffffffffu);
	fixture_free(f);
}

TEST(mmio_bad_length_is_refused)
{
	struct fixture *f = fixture_new();
	set_mmio(f, MMIO_BASE, 0, true, 0);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_ERROR);
	set_mmio(f, MMIO_BASE, 9, false, 0);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_ERROR);
	set_mmio(f, MMIO_BASE, 0xffffffffu, false, 0);
	CHECK_EQ(kvm_handle_exit(&f->vm, f->run, RUN_SIZE), KVM_ACTION_ERROR);
	CHECK_EQ(f->mmio_dev.nr_writes + f->mmio_dev.nr_reads, 0);
	fixture_free(f);
}

static enum kvm_exit_action run_exit(struct fixture *f, uint32_t reason)
{
	f->run->exit_reason = reason;
	return kvm_handle_exit(&f->vm, f->run, RUN_SIZE);
}

TEST(simple_exits)
{
	struct fixture *f = fixture_new();
	CHECK_EQ(run_exit(f, KVM_EXIT_HLT), KVM_ACTION_HALT);
	CHECK_EQ(run_exit(f, KVM_EXIT_INTR), KVM_ACTION_YIELD);
	CHECK_EQ(run_exit(f, KVM_EXIT_SHUTDOWN), KVM_ACTION_RESET);
	CHECK_EQ(run_exit(f, KVM_EXIT_IRQ_WINDOW_OPEN), KVM_ACTION_CONTINUE);
	fixture_free(f);
}

TEST(system_events)
{
	struct fixture *f = fixture_new();
	f->run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	CHECK_EQ(run_exit(f, KVM_EXIT_SYSTEM_EVENT), KVM_ACTION_POWEROFF);
	f->run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	CHECK_EQ(run_exit(f, KVM_EXIT_SYSTEM_EVENT), KVM_ACTION_RESET);
	f->run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
	CHECK_EQ(run_exit(f, KVM_EXIT_SYSTEM_EVENT), KVM_ACTION_ERROR_DUMP);
	f->run->system_event.type = 0x1234;
	CHECK_EQ(run_exit(f, KVM_EXIT_SYSTEM_EVENT), KVM_ACTION_ERROR);
	fixture_free(f);
}

TEST(failures_ask_for_a_register_dump)
{
	struct fixture *f = fixture_new();
	f->run->fail_entry.hardware_entry_failure_reason = 0x80000021;
	f->run->fail_entry.cpu = 1;
	CHECK_EQ(run_exit(f, KVM_EXIT_FAIL_ENTRY), KVM_ACTION_ERROR_DUMP);

	memset(&f->run->internal, 0, sizeof(f->run->internal));
	f->run->internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	f->run->internal.ndata = 2;
	f->run->internal.data[0] = 0x80000b0e;
	CHECK_EQ(run_exit(f, KVM_EXIT_INTERNAL_ERROR), KVM_ACTION_ERROR_DUMP);

	/* a count past the array is clamped, not followed */
	f->run->internal.ndata = 0xffffffffu;
	CHECK_EQ(run_exit(f, KVM_EXIT_INTERNAL_ERROR), KVM_ACTION_ERROR_DUMP);

	memset(&f->run->emulation_failure, 0, sizeof(f->run->emulation_failure));
	f->run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	f->run->emulation_failure.ndata = 3;
	f->run->emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	f->run->emulation_failure.insn_size = 200;	/* clamped to 15 */
	f->run->emulation_failure.insn_bytes[0] = 0x0f;
	f->run->emulation_failure.insn_bytes[1] = 0x0b;
	CHECK_EQ(run_exit(f, KVM_EXIT_INTERNAL_ERROR), KVM_ACTION_ERROR_DUMP);

	f->run->hw.hardware_exit_reason = 0x77;
	CHECK_EQ(run_exit(f, KVM_EXIT_UNKNOWN), KVM_ACTION_ERROR_DUMP);
	CHECK_EQ(run_exit(f, KVM_EXIT_DEBUG), KVM_ACTION_ERROR_DUMP);
	CHECK_EQ(run_exit(f, 0xdead), KVM_ACTION_ERROR_DUMP);
	fixture_free(f);
}

TEST(names)
{
	CHECK_STR(kvm_exit_reason_name(KVM_EXIT_IO), "IO");
	CHECK_STR(kvm_exit_reason_name(KVM_EXIT_SYSTEM_EVENT), "SYSTEM_EVENT");
	CHECK_STR(kvm_exit_reason_name(KVM_EXIT_NOTIFY), "NOTIFY");
	CHECK_STR(kvm_exit_reason_name(0xdead), "unknown to minivmm");
	CHECK_STR(kvm_entry_failure_name(0x80000021), "VMX: invalid guest state");
	CHECK_STR(kvm_entry_failure_name(0x80000022), "VMX: MSR loading failed");
	CHECK_STR(kvm_entry_failure_name(7), "VMX: VM entry with invalid control fields");
	CHECK_STR(kvm_entry_failure_name(UINT64_MAX), "SVM: invalid VMCB state (VMEXIT_INVALID)");
	CHECK_STR(kvm_internal_suberror_name(KVM_INTERNAL_ERROR_EMULATION),
		  "KVM could not emulate an instruction");
	CHECK_STR(kvm_internal_suberror_name(99), "unknown internal error");
}

TEST(describe_exit_for_debug_log)
{
	struct fixture *f = fixture_new();
	char buf[128];
	set_io(f, KVM_EXIT_IO_OUT, 1, 0x3f8, 1);
	CHECK_EQ(kvm_describe_exit(buf, sizeof(buf), f->run), strlen(buf));
	CHECK_STR(buf, "IO out port 0x03f8 size 1 count 1");
	set_mmio(f, 0xfee000b0, 4, false, 0);
	kvm_describe_exit(buf, sizeof(buf), f->run);
	CHECK_STR(buf, "MMIO read 0xfee000b0 len 4");
	f->run->exit_reason = KVM_EXIT_HLT;
	kvm_describe_exit(buf, sizeof(buf), f->run);
	CHECK_STR(buf, "HLT (5)");
	char tiny[4];
	CHECK_EQ(kvm_describe_exit(tiny, sizeof(tiny), f->run), 3);
	CHECK_STR(tiny, "HLT");
	fixture_free(f);
}

TEST(actions_map_to_monitor_events)
{
	CHECK_EQ(kvm_action_to_event(KVM_ACTION_YIELD), VCPU_EVENT_YIELD);
	CHECK_EQ(kvm_action_to_event(KVM_ACTION_HALT), VCPU_EVENT_HALT);
	CHECK_EQ(kvm_action_to_event(KVM_ACTION_RESET), VCPU_EVENT_RESET);
	CHECK_EQ(kvm_action_to_event(KVM_ACTION_POWEROFF), VCPU_EVENT_POWEROFF);
	CHECK_EQ(kvm_action_to_event(KVM_ACTION_ERROR), VCPU_EVENT_ERROR);
	CHECK_EQ(kvm_action_to_event(KVM_ACTION_ERROR_DUMP), VCPU_EVENT_ERROR);
}

RUN_TESTS(T(pio_out_each_size), T(pio_in_each_size), T(pio_in_unassigned_reads_all_ones),
	  T(string_out_reaches_device_in_order), T(string_in_fills_elements_in_order),
	  T(string_io_exactly_filling_the_mapping), T(hostile_io_exits_are_refused),
	  T(mmio_write_each_size), T(mmio_read_each_size), T(mmio_odd_length_goes_byte_by_byte),
	  T(mmio_unassigned_read_is_all_ones), T(mmio_bad_length_is_refused), T(simple_exits),
	  T(system_events), T(failures_ask_for_a_register_dump), T(names),
	  T(describe_exit_for_debug_log), T(actions_map_to_monitor_events))
