/* Conversion between struct x86_regs/x86_sregs and KVM's kvm_regs/kvm_sregs.
 * Both sides keep segment limits byte granular: KVM hands the limit to the
 * VMCS/VMCB as is, so a flat 4 GiB segment has g = 1 and limit 0xffffffff. */
#include "accel/kvm/kvm_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Where each x86_regs.gpr[] lives in kvm_regs: the one mapping both
 * directions use, so they cannot disagree */
static const size_t kvm_gpr_offset[16] = {
	[X86_RAX] = offsetof(struct kvm_regs, rax),
	[X86_RCX] = offsetof(struct kvm_regs, rcx),
	[X86_RDX] = offsetof(struct kvm_regs, rdx),
	[X86_RBX] = offsetof(struct kvm_regs, rbx),
	[X86_RSP] = offsetof(struct kvm_regs, rsp),
	[X86_RBP] = offsetof(struct kvm_regs, rbp),
	[X86_RSI] = offsetof(struct kvm_regs, rsi),
	[X86_RDI] = offsetof(struct kvm_regs, rdi),
	[X86_R8] = offsetof(struct kvm_regs, r8),
	[X86_R9] = offsetof(struct kvm_regs, r9),
	[X86_R10] = offsetof(struct kvm_regs, r10),
	[X86_R11] = offsetof(struct kvm_regs, r11),
	[X86_R12] = offsetof(struct kvm_regs, r12),
	[X86_R13] = offsetof(struct kvm_regs, r13),
	[X86_R14] = offsetof(struct kvm_regs, r14),
	[X86_R15] = offsetof(struct kvm_regs, r15),
};

void kvm_regs_from_x86(struct kvm_regs *out, const struct x86_regs *in)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 16; i++)
		memcpy((char *)out + kvm_gpr_offset[i], &in->gpr[i], sizeof(uint64_t));
	out->rip = in->rip;
	out->rflags = in->rflags;
}

void kvm_regs_to_x86(struct x86_regs *out, const struct kvm_regs *in)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 16; i++)
		memcpy(&out->gpr[i], (const char *)in + kvm_gpr_offset[i], sizeof(uint64_t));
	out->rip = in->rip;
	out->rflags = in->rflags;
}

/* kvm_segment and x86_segment name their fields alike; both directions
 * copy the same fields with the same masks */
#define KVM_COPY_SEGMENT(out, in)			\
	do {						\
		memset(out, 0, sizeof(*(out)));		\
		(out)->base = (in)->base;		\
		(out)->limit = (in)->limit;		\
		(out)->selector = (in)->selector;	\
		(out)->type = (in)->type & 0xf;		\
		(out)->present = (in)->present;		\
		(out)->dpl = (in)->dpl & 3;		\
		(out)->db = (in)->db;			\
		(out)->s = (in)->s;			\
		(out)->l = (in)->l;			\
		(out)->g = (in)->g;			\
		(out)->avl = (in)->avl;			\
		(out)->unusable = (in)->unusable;	\
	} while (0)

void kvm_segment_from_x86(struct kvm_segment *out, const struct x86_segment *in)
{
	KVM_COPY_SEGMENT(out, in);
}

void kvm_segment_to_x86(struct x86_segment *out, const struct kvm_segment *in)
{
	KVM_COPY_SEGMENT(out, in);
}

/* kvm_sregs names its segments; x86_sregs indexes them by enum x86_seg */
static struct kvm_segment *kvm_sregs_seg(struct kvm_sregs *s, enum x86_seg seg)
{
	switch (seg) {
	case X86_ES:
		return &s->es;
	case X86_CS:
		return &s->cs;
	case X86_SS:
		return &s->ss;
	case X86_DS:
		return &s->ds;
	case X86_FS:
		return &s->fs;
	case X86_GS:
		return &s->gs;
	case X86_LDTR:
		return &s->ldt;
	case X86_TR:
	case X86_NR_SEGS:
		break;
	}
	return &s->tr;
}

/* the descriptor tables and control registers, alike in both structs */
#define KVM_COPY_SREGS_SCALARS(out, in)			\
	do {						\
		(out)->gdt.base = (in)->gdt.base;	\
		(out)->gdt.limit = (in)->gdt.limit;	\
		(out)->idt.base = (in)->idt.base;	\
		(out)->idt.limit = (in)->idt.limit;	\
		(out)->cr0 = (in)->cr0;			\
		(out)->cr2 = (in)->cr2;			\
		(out)->cr3 = (in)->cr3;			\
		(out)->cr4 = (in)->cr4;			\
		(out)->cr8 = (in)->cr8;			\
		(out)->efer = (in)->efer;		\
		(out)->apic_base = (in)->apic_base;	\
	} while (0)

void kvm_sregs_from_x86(struct kvm_sregs *out, const struct x86_sregs *in)
{
	for (int i = 0; i < X86_NR_SEGS; i++)
		kvm_segment_from_x86(kvm_sregs_seg(out, (enum x86_seg)i), &in->seg[i]);
	memset(&out->gdt, 0, sizeof(out->gdt));
	memset(&out->idt, 0, sizeof(out->idt));
	KVM_COPY_SREGS_SCALARS(out, in);
}

void kvm_sregs_to_x86(struct x86_sregs *out, const struct kvm_sregs *in)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < X86_NR_SEGS; i++)
		kvm_segment_to_x86(&out->seg[i], kvm_sregs_seg((struct kvm_sregs *)in, (enum x86_seg)i));
	KVM_COPY_SREGS_SCALARS(out, in);
}

struct out_buf {
	char *buf;
	size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct out_buf *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len < o->size ? o->size - o->len : 0;
	va_start(ap, fmt);
	int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static const char *const seg_names[X86_NR_SEGS] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR" };

size_t kvm_format_state(char *buf, size_t size, const struct x86_regs *r, const struct x86_sregs *s)
{
	struct out_buf o = { buf, size, 0 };
	const uint64_t *g = r->gpr;

	out_printf(&o, "RAX=%016" PRIx64 " RBX=%016" PRIx64 " RCX=%016" PRIx64 " RDX=%016" PRIx64 "\n",
		   g[X86_RAX], g[X86_RBX], g[X86_RCX], g[X86_RDX]);
	out_printf(&o, "RSI=%016" PRIx64 " RDI=%016" PRIx64 " RBP=%016" PRIx64 " RSP=%016" PRIx64 "\n",
		   g[X86_RSI], g[X86_RDI], g[X86_RBP], g[X86_RSP]);
	out_printf(&o, "R8 =%016" PRIx64 " R9 =%016" PRIx64 " R10=%016" PRIx64 " R11=%016" PRIx64 "\n",
		   g[X86_R8], g[X86_R9], g[X86_R10], g[X86_R11]);
	out_printf(&o, "R12=%016" PRIx64 " R13=%016" PRIx64 " R14=%016" PRIx64 " R15=%016" PRIx64 "\n",
		   g[X86_R12], g[X86_R13], g[X86_R14], g[X86_R15]);
	out_printf(&o, "RIP=%016" PRIx64 " RFL=%08" PRIx64 "\n", r->rip, r->rflags);
	for (int i = 0; i < X86_NR_SEGS; i++) {
		const struct x86_segment *sg = &s->seg[i];
		out_printf(&o,
			   "%-3s=%04x %016" PRIx64 " %08x type=%x s=%u dpl=%u p=%u db=%u l=%u g=%u avl=%u%s\n",
			   seg_names[i], sg->selector, sg->base, sg->limit, sg->type, sg->s, sg->dpl,
			   sg->present, sg->db, sg->l, sg->g, sg->avl, sg->unusable ? " unusable" : "");
	}
	out_printf(&o, "GDT=     %016" PRIx64 " %08x\n", s->gdt.base, s->gdt.limit);
	out_printf(&o, "IDT=     %016" PRIx64 " %08x\n", s->idt.base, s->idt.limit);
	out_printf(&o, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64
		   " CR8=%" PRIx64 "\n", s->cr0, s->cr2, s->cr3, s->cr4, s->cr8);
	out_printf(&o, "EFER=%016" PRIx64 " APIC_BASE=%016" PRIx64 "\n", s->efer, s->apic_base);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len < size ? o.len : (size ? size - 1 : 0);
}
