/* The 64-bit guests' GDT (lib/boot64.S), laid out for SYSCALL/SYSRET:
 * STAR[47:32] = 0x08 gives kernel CS 0x08, SS 0x10; STAR[63:48] = 0x18
 * gives 64-bit user CS 0x28 and SS 0x20 (with RPL 3). */
#ifndef GUEST_GDT_H
#define GUEST_GDT_H
#define SEL_KCODE64 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA 0x20
#define SEL_UCODE64 0x28
#define SEL_TSS 0x30
#define SEL_KCODE32 0x40
#endif
