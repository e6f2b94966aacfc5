/* Register conversion and power-on state of the KVM engine: pure
 * functions over KVM's structures, no /dev/kvm needed. */
#include <string.h>

#include "accel/kvm/kvm_internal.h"
#include "test.h"

static struct x86_segment seg(uint64_t base, uint32_t limit, uint16_t sel, uint8_t type,
			      uint8_t s, uint8_t dpl, uint8_t l, uint8_t db, uint8_t g)
{
	struct x86_segment r = { .base = base, .limit = limit, .selector = sel, .type = type,
				 .s = s, .dpl = dpl, .present = 1, .l = l, .db = db, .g = g };
	return r;
}

static bool seg_equal(const struct x86_segment *a, const struct x86_segment *b)
{
	return a->base == b->base && a->limit == b->limit && a->selector == b->selector &&
	       a->type == b->type && a->s == b->s && a->dpl == b->dpl && a->present == b->present &&
	       a->avl == b->avl && a->l == b->l && a->db == b->db && a->g == b->g &&
	       a->unusable == b->unusable;
}

TEST(regs_map_by_name_and_round_trip)
{
	struct x86_regs in, out;
	struct kvm_regs kr;
	for (int i = 0; i < 16; i++)
		in.gpr[i] = 0x1111111111111111ull * (uint64_t)(i + 1);
	in.rip = 0xffffffff81000000ull;
	in.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_IF | X86_RFLAGS_ZF;
	kvm_regs_from_x86(&kr, &in);
	/* kvm_regs lists rax, rbx, rcx, rdx, ... not in encoding order */
	CHECK_EQ(kr.rax, in.gpr[X86_RAX]);
	CHECK_EQ(kr.rbx, in.gpr[X86_RBX]);
	CHECK_EQ(kr.rcx, in.gpr[X86_RCX]);
	CHECK_EQ(kr.rdx, in.gpr[X86_RDX]);
	CHECK_EQ(kr.rsi, in.gpr[X86_RSI]);
	CHECK_EQ(kr.rdi, in.gpr[X86_RDI]);
	CHECK_EQ(kr.rsp, in.gpr[X86_RSP]);
	CHECK_EQ(kr.rbp, in.gpr[X86_RBP]);
	CHECK_EQ(kr.r8, in.gpr[X86_R8]);
	CHECK_EQ(kr.r15, in.gpr[X86_R15]);
	CHECK_EQ(kr.rip, in.rip);
	CHECK_EQ(kr.rflags, in.rflags);
	kvm_regs_to_x86(&out, &kr);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);
}

static void long_mode_sregs(struct x86_sregs *s)
{
	memset(s, 0, sizeof(*s));
	/* flat 4 GiB segments: g = 1 with the byte-granular limit */
	s->seg[X86_CS] = seg(0, 0xffffffff, 0x10, 0xb, 1, 0, 1, 0, 1);
	s->seg[X86_DS] = seg(0, 0xffffffff, 0x18, 0x3, 1, 0, 0, 1, 1);
	s->seg[X86_ES] = s->seg[X86_DS];
	s->seg[X86_SS] = s->seg[X86_DS];
	/* FS: a null selector loaded in 64-bit mode, with a base from the MSR */
	s->seg[X86_FS] = seg(0x7fff12345000ull, 0, 0, 0, 0, 0, 0, 0, 0);
	s->seg[X86_FS].present = 0;
	s->seg[X86_FS].unusable = 1;
	s->seg[X86_GS] = seg(0xffff888000000000ull, 0xfffff, 0x2b, 0x3, 1, 3, 0, 1, 0);
	s->seg[X86_GS].avl = 1;
	s->seg[X86_LDTR] = seg(0, 0, 0, 0, 0, 0, 0, 0, 0);
	s->seg[X86_LDTR].present = 0;
	s->seg[X86_LDTR].unusable = 1;
	s->seg[X86_TR] = seg(0xfffffe0000003000ull, 0x4087, 0x40, 0xb, 0, 0, 0, 0, 0);
	s->gdt.base = 0xfffffe0000001000ull;
	s->gdt.limit = 0x7f;
	s->idt.base = 0xfffffe0000000000ull;
	s->idt.limit = 0xfff;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_PG;
	s->cr2 = 0xdeadbeef000ull;
	s->cr3 = 0x1234000;
	s->cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_FSGSBASE;
	s->cr8 = 0xf;
	s->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	s->apic_base = 0xfee00900;
}

TEST(sregs_round_trip)
{
	struct x86_sregs in, out;
	struct kvm_sregs ks;
	long_mode_sregs(&in);
	memset(&ks, 0xa5, sizeof(ks));
	kvm_sregs_from_x86(&ks, &in);
	kvm_sregs_to_x86(&out, &ks);
	for (int i = 0; i < X86_NR_SEGS; i++)
		CHECK(seg_equal(&in.seg[i], &out.seg[i]));
	CHECK_EQ(out.gdt.base, in.gdt.base);
	CHECK_EQ(out.gdt.limit, in.gdt.limit);
	CHECK_EQ(out.idt.base, in.idt.base);
	CHECK_EQ(out.idt.limit, in.idt.limit);
	CHECK_EQ(out.cr0, in.cr0);
	CHECK_EQ(out.cr2, in.cr2);
	CHECK_EQ(out.cr3, in.cr3);
	CHECK_EQ(out.cr4, in.cr4);
	CHECK_EQ(out.cr8, in.cr8);
	CHECK_EQ(out.efer, in.efer);
	CHECK_EQ(out.apic_base, in.apic_base);
}

TEST(sregs_fields_land_where_kvm_reads_them)
{
	struct x86_sregs in;
	struct kvm_sregs ks;
	long_mode_sregs(&in);
	memset(&ks, 0, sizeof(ks));
	ks.interrupt_bitmap[1] = 1ull << 3;	/* a pending vector 67, KVM's business */
	kvm_sregs_from_x86(&ks, &in);
	CHECK_EQ(ks.interrupt_bitmap[1], 1ull << 3);
	/* KVM expects the byte-granular limit with g = 1 */
	CHECK_EQ(ks.cs.limit, 0xffffffffu);
	CHECK_EQ(ks.cs.g, 1);
	CHECK_EQ(ks.cs.l, 1);
	CHECK_EQ(ks.cs.db, 0);
	CHECK_EQ(ks.cs.selector, 0x10);
	CHECK_EQ(ks.cs.type, 0xb);
	CHECK_EQ(ks.cs.present, 1);
	CHECK_EQ(ks.ds.db, 1);
	CHECK_EQ(ks.fs.unusable, 1);
	CHECK_EQ(ks.fs.present, 0);
	CHECK_EQ(ks.fs.base, 0x7fff12345000ull);
	CHECK_EQ(ks.gs.dpl, 3);
	CHECK_EQ(ks.gs.avl, 1);
	CHECK_EQ(ks.gs.limit, 0xfffff);
	CHECK_EQ(ks.gs.g, 0);
	CHECK_EQ(ks.ldt.unusable, 1);
	CHECK_EQ(ks.tr.base, 0xfffffe0000003000ull);
	CHECK_EQ(ks.tr.limit, 0x4087);
	CHECK_EQ(ks.tr.type, 0xb);
	CHECK_EQ(ks.tr.s, 0);
	CHECK_EQ(ks.gdt.limit, 0x7f);
	CHECK_EQ(ks.gdt.padding[0], 0);
	CHECK_EQ(ks.idt.base, 0xfffffe0000000000ull);
	CHECK_EQ(ks.efer, X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE);
	CHECK_EQ(ks.cr8, 0xf);
	CHECK_EQ(ks.apic_base, 0xfee00900);
}

TEST(segment_conversion_keeps_every_attribute)
{
	struct x86_segment in = seg(0x12345678, 0xabcde, 0x1234, 0x7, 1, 2, 0, 1, 0), out;
	struct kvm_segment ks;
	in.avl = 1;
	kvm_segment_from_x86(&ks, &in);
	CHECK_EQ(ks.base, 0x12345678);
	CHECK_EQ(ks.limit, 0xabcde);
	CHECK_EQ(ks.selector, 0x1234);
	CHECK_EQ(ks.type, 7);
	CHECK_EQ(ks.dpl, 2);
	CHECK_EQ(ks.avl, 1);
	CHECK_EQ(ks.padding, 0);
	kvm_segment_to_x86(&out, &ks);
	CHECK(seg_equal(&in, &out));
}

TEST(format_state_names_every_register)
{
	struct x86_regs r;
	struct x86_sregs s;
	char buf[4096];
	memset(&r, 0, sizeof(r));
	r.gpr[X86_RAX] = 0x1234;
	r.rip = 0xfff0;
	r.rflags = 2;
	long_mode_sregs(&s);
	size_t n = kvm_format_state(buf, sizeof(buf), &r, &s);
	CHECK_EQ(n, strlen(buf));
	CHECK(strstr(buf, "RAX=0000000000001234") != NULL);
	CHECK(strstr(buf, "RIP=000000000000fff0 RFL=00000002") != NULL);
	CHECK(strstr(buf, "CS =0010 0000000000000000 ffffffff type=b s=1 dpl=0 p=1 db=0 l=1 g=1") != NULL);
	CHECK(strstr(buf, "FS =0000 00007fff12345000 00000000 type=0 s=0 dpl=0 p=0 db=0 l=0 g=0 avl=0 unusable") != NULL);
	CHECK(strstr(buf, "TR =0040") != NULL);
	CHECK(strstr(buf, "LDT=") != NULL);
	CHECK(strstr(buf, "GDT=     fffffe0000001000 0000007f") != NULL);
	CHECK(strstr(buf, "CR3=0000000001234000") != NULL);
	CHECK(strstr(buf, "EFER=0000000000000d01") != NULL);

	/* a short buffer is cut, and still terminated */
	char small[16];
	memset(small, 'x', sizeof(small));
	CHECK_EQ(kvm_format_state(small, sizeof(small), &r, &s), sizeof(small) - 1);
	CHECK_EQ(small[sizeof(small) - 1], '\0');
	CHECK_EQ(kvm_format_state(small, 0, &r, &s), 0);
}

TEST(power_on_state_of_the_boot_cpu)
{
	struct x86_regs r;
	struct x86_sregs s;
	struct kvm_sregs ks;
	kvm_power_on_regs(&r, 0x000806ec);
	CHECK_EQ(r.rip, 0xfff0);
	CHECK_EQ(r.rflags, 2);
	CHECK_EQ(r.gpr[X86_RDX], 0x000806ec);
	CHECK_EQ(r.gpr[X86_RAX], 0);
	kvm_power_on_sregs(&s, true);
	memset(&ks, 0, sizeof(ks));
	kvm_sregs_from_x86(&ks, &s);
	/* F000:FFF0 with CS base 0xFFFF0000: the first fetch is at 0xFFFFFFF0 */
	CHECK_EQ(ks.cs.selector, 0xf000);
	CHECK_EQ(ks.cs.base, 0xffff0000);
	CHECK_EQ(ks.cs.base + r.rip, 0xfffffff0);
	CHECK_EQ(ks.cs.limit, 0xffff);
	CHECK_EQ(ks.cs.type, 0xb);
	CHECK_EQ(ks.cs.s, 1);
	CHECK_EQ(ks.cs.present, 1);
	CHECK_EQ(ks.cs.g, 0);
	CHECK_EQ(ks.ds.selector, 0);
	CHECK_EQ(ks.ds.base, 0);
	CHECK_EQ(ks.ds.limit, 0xffff);
	CHECK_EQ(ks.ds.type, 3);
	CHECK_EQ(ks.ss.type, 3);
	CHECK_EQ(ks.ldt.type, 2);
	CHECK_EQ(ks.ldt.s, 0);
	CHECK_EQ(ks.tr.type, 0xb);
	CHECK_EQ(ks.tr.s, 0);
	CHECK_EQ(ks.tr.present, 1);
	CHECK_EQ(ks.gdt.limit, 0xffff);
	CHECK_EQ(ks.idt.limit, 0xffff);
	CHECK_EQ(ks.cr0, 0x60000010);
	CHECK_EQ(ks.cr3, 0);
	CHECK_EQ(ks.cr4, 0);
	CHECK_EQ(ks.efer, 0);
	CHECK_EQ(ks.apic_base, 0xfee00900);	/* enabled, BSP */
	kvm_power_on_sregs(&s, false);
	CHECK_EQ(s.apic_base, 0xfee00800);	/* enabled, not BSP */
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;
	memcpy(&v, &l->regs[off], 4);
	return v;
}

TEST(power_on_local_apic)
{
	struct kvm_lapic_state l;
	kvm_power_on_lapic(&l, 5, false);
	CHECK_EQ((uint8_t)l.regs[0x23], 5);	/* xAPIC ID in bits 31-24 */
	CHECK_EQ(lapic_reg(&l, 0x20), 5u << 24);
	CHECK_EQ(lapic_reg(&l, 0xe0), 0xffffffffu);
	CHECK_EQ(lapic_reg(&l, 0xf0), 0xff);
	CHECK_EQ(lapic_reg(&l, 0x320), 1u << 16);
	CHECK_EQ(lapic_reg(&l, 0x350), 1u << 16);
	CHECK_EQ(lapic_reg(&l, 0x360), 1u << 16);
	CHECK_EQ(lapic_reg(&l, 0x370), 1u << 16);
	CHECK_EQ(lapic_reg(&l, 0x80), 0);	/* TPR */
	CHECK_EQ(lapic_reg(&l, 0x380), 0);	/* timer initial count */
	kvm_power_on_lapic(&l, 0, true);
	CHECK_EQ(lapic_reg(&l, 0x20), 0);
	CHECK_EQ(lapic_reg(&l, 0x350), 0x700);	/* LINT0: ExtINT, unmasked */
	CHECK_EQ(lapic_reg(&l, 0x360), 1u << 16);
}

TEST(power_on_fpu_and_interrupt_controllers)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0x5a, sizeof(fpu));
	kvm_power_on_fpu(&fpu);
	CHECK_EQ(fpu.fcw, 0x37f);
	CHECK_EQ(fpu.fsw, 0);
	CHECK_EQ(fpu.ftwx, 0);
	CHECK_EQ(fpu.mxcsr, 0x1f80);
	CHECK_EQ(fpu.xmm[15][15], 0);

	struct kvm_pic_state pic;
	memset(&pic, 0xff, sizeof(pic));
	pic.elcr = 0x0c;
	pic.elcr_mask = 0xf8;
	kvm_power_on_pic(&pic);
	CHECK_EQ(pic.elcr_mask, 0xf8);
	CHECK_EQ(pic.elcr, 0x08);
	CHECK_EQ(pic.imr, 0);
	CHECK_EQ(pic.isr, 0);
	CHECK_EQ(pic.irr, 0);
	CHECK_EQ(pic.init_state, 0);

	struct kvm_ioapic_state io;
	memset(&io, 0, sizeof(io));
	io.base_address = 0xfec00000;
	io.id = 7;
	io.irr = 0xff;
	io.redirtbl[3].fields.vector = 0x33;
	kvm_power_on_ioapic(&io);
	CHECK_EQ(io.base_address, 0xfec00000);
	CHECK_EQ(io.id, 0);
	CHECK_EQ(io.irr, 0);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		CHECK_EQ(io.redirtbl[i].bits, 1ull << 16);

	struct kvm_pit_state2 pit;
	memset(&pit, 0x11, sizeof(pit));
	pit.flags = KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	kvm_power_on_pit(&pit);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(pit.channels[i].mode, 0xff);
		CHECK_EQ(pit.channels[i].count, 0);
	}
	CHECK_EQ(pit.channels[0].gate, 1);
	CHECK_EQ(pit.channels[1].gate, 1);
	CHECK_EQ(pit.channels[2].gate, 0);
	CHECK_EQ(pit.flags, 0);
}

RUN_TESTS(T(regs_map_by_name_and_round_trip), T(sregs_round_trip),
	  T(sregs_fields_land_where_kvm_reads_them), T(segment_conversion_keeps_every_attribute),
	  T(format_state_names_every_register), T(power_on_state_of_the_boot_cpu),
	  T(power_on_local_apic), T(power_on_fpu_and_interrupt_controllers))
