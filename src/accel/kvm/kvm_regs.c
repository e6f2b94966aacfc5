/* Conversion between struct x86_regs/x86_sregs and KVM's kvm_regs/kvm_sregs.
 * Both sides keep segment limits byte granular: KVM hands the limit to the
 * VMCS/VMCB as is, so a flat 4 GiB segment has g = 1 and limit 0xffffffff. */
#include "accel/kvm/kvm_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kvm_regs_from_x86(struct kvm_regs *out, const struct x86_regs *in)
{
	memset(out, 0, sizeof(*out));
	out->rax = in->gpr[X86_RAX];
	out->rbx = in->gpr[X86_RBX];
	out->rcx = in->gpr[X86_RCX];
	out->rdx = in->gpr[X86_RDX];
	out->rsi = in->gpr[X86_RSI];
	out->rdi = in->gpr[X86_RDI];
	out->rsp = in->gpr[X86_RSP];
	out->rbp = in->gpr[X86_RBP];
	out->r8 = in->gpr[X86_R8];
	out->r9 = in->gpr[X86_R9];
	out->r10 = in->gpr[X86_R10];
	out->r11 = in->gpr[X86_R11];
	out->r12 = in->gpr[X86_R12];
	out->r13 = in->gpr[X86_R13];
	out->r14 = in->gpr[X86_R14];
	out->r15 = in->gpr[X86_R15];
	out->rip = in->rip;
	out->rflags = in->rflags;
}

void kvm_regs_to_x86(struct x86_regs *out, const struct kvm_regs *in)
{
	memset(out, 0, sizeof(*out));
	out->gpr[X86_RAX] = in->rax;
	out->gpr[X86_RBX] = in->rbx;
	out->gpr[X86_RCX] = in->rcx;
	out->gpr[X86_RDX] = in->rdx;
	out->gpr[X86_RSI] = in->rsi;
	out->gpr[X86_RDI] = in->rdi;
	out->gpr[X86_RSP] = in->rsp;
	out->gpr[X86_RBP] = in->rbp;
	out->gpr[X86_R8] = in->r8;
	out->gpr[X86_R9] = in->r9;
	out->gpr[X86_R10] = in->r10;
	out->gpr[X86_R11] = in->r11;
	out->gpr[X86_R12] = in->r12;
	out->gpr[X86_R13] = in->r13;
	out->gpr[X86_R14] = in->r14;
	out->gpr[X86_R15] = in->r15;
	out->rip = in->rip;
	out->rflags = in->rflags;
}

void kvm_segment_from_x86(struct kvm_segment *out, const struct x86_segment *in)
{
	memset(out, 0, sizeof(*out));
	out->base = in->base;
	out->limit = in->limit;
	out->selector = in->selector;
	out->type = in->type & 0xf;
	out->present = in->present;
	out->dpl = in->dpl & 3;
	out->db = in->db;
	out->s = in->s;
	out->l = in->l;
	out->g = in->g;
	out->avl = in->avl;
	out->unusable = in->unusable;
}

void kvm_segment_to_x86(struct x86_segment *out, const struct kvm_segment *in)
{
	memset(out, 0, sizeof(*out));
	out->base = in->base;
	out->limit = in->limit;
	out->selector = in->selector;
	out->type = in->type & 0xf;
	out->present = in->present;
	out->dpl = in->dpl & 3;
	out->db = in->db;
	out->s = in->s;
	out->l = in->l;
	out->g = in->g;
	out->avl = in->avl;
	out->unusable = in->unusable;
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

void kvm_sregs_from_x86(struct kvm_sregs *out, const struct x86_sregs *in)
{
	for (int i = 0; i < X86_NR_SEGS; i++)
		kvm_segment_from_x86(kvm_sregs_seg(out, (enum x86_seg)i), &in->seg[i]);
	memset(&out->gdt, 0, sizeof(out->gdt));
	memset(&out->idt, 0, sizeof(out->idt));
	out->gdt.base = in->gdt.base;
	out->gdt.limit = in->gdt.limit;
	out->idt.base = in->idt.base;
	out->idt.limit = in->idt.limit;
	out->cr0 = in->cr0;
	out->cr2 = in->cr2;
	out->cr3 = in->cr3;
	out->cr4 = in->cr4;
	out->cr8 = in->cr8;
	out->efer = in->efer;
	out->apic_base = in->apic_base;
}

void kvm_sregs_to_x86(struct x86_sregs *out, const struct kvm_sregs *in)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < X86_NR_SEGS; i++)
		kvm_segment_to_x86(&out->seg[i], kvm_sregs_seg((struct kvm_sregs *)in, (enum x86_seg)i));
	out->gdt.base = in->gdt.base;
	out->gdt.limit = in->gdt.limit;
	out->idt.base = in->idt.base;
	out->idt.limit = in->idt.limit;
	out->cr0 = in->cr0;
	out->cr2 = in->cr2;
	out->cr3 = in->cr3;
	out->cr4 = in->cr4;
	out->cr8 = in->cr8;
	out->efer = in->efer;
	out->apic_base = in->apic_base;
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
