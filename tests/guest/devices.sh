#!/usr/bin/env bash
# devices: the legacy PC devices from a 64-bit guest with an IDT: PIC pair
# (ICW1-4 to vectors 0x20/0x28, IMR, IRR/ISR, EOI, priority, poll, auto-EOI,
# ELCR level lines), PIT channel 0 at 1 kHz and channel 2 through port 0x61
# (one-shot, read-back, mode 3), the CMOS RTC (registers A-D, BCD, binary,
# 12-hour, UIP, SET and a leap-day rollover, UIE, AIE, periodic interrupt on
# IRQ8 through the slave), CMOS memory sizes, pc-testdev (scratch ports,
# MMIO, interrupt line 5), fw_cfg (signature, RAM size, CPU count), PCI
# mechanism #1 (i440FX at 00:00.0, empty slots), port 0x92 and the i8042;
# and, as interrupts go, that STI's shadow lasts one instruction only (a
# tick pending across "sti; nop; cli" is taken).
# The guest is guests/src/devices.c; its expected serial output follows.
. "$(dirname "$0")/common.bash"

cat >"$WORK/expected" <<'EOF'
devices: PIC, PIT, RTC, CMOS, pc-testdev, fw_cfg, PCI
ok 1 - PIC: IMRs read back as written
ok 2 - PIC: nothing in service after ICW1-4
ok 3 - PIT: hlt wakes up on the IRQ0 tick (vector 0x20)
ok 4 - PIT: channel 0 latched count is within the divisor
ok 5 - PIT: read-back status of channel 2: OUT low, lobyte/hibyte, mode 0
ok 6 - PIT: channel 2 counts down (counter latch)
ok 7 - PIT: port 0x61 bit 5 (channel 2 OUT) low while counting
ok 8 - PIT: channel 2 OUT rises at terminal count
ok 9 - PIT: about 50 IRQ0 ticks while channel 2 counts 50 ms
ok 10 - PIT: about 200 IRQ0 ticks in 200 ms of channel 2
ok 11 - PIC: without EOI no further IRQ0 arrives
ok 12 - PIC: ISR bit 0 stays set until the EOI
ok 13 - PIC: the next tick waits in IRR
ok 14 - PIC: IRQ5 waits while IRQ0 (higher priority) is in service
ok 15 - PIC: specific EOI for IRQ0 lets IRQ5 through
ok 16 - PIC: ticks resume after the EOI (about 50 in 50 ms)
ok 17 - PIC: ISR clear again
ok 18 - PIC: masked IRQ0 is not delivered
ok 19 - PIC: masked IRQ0 shows in IRR
ok 20 - PIC: unmasking delivers it
ok 21 - pc-testdev: scratch port 0xe0 byte read-back
ok 22 - pc-testdev: scratch port 0xe0 word read-back
ok 23 - pc-testdev: scratch port 0xe0 dword read-back
ok 24 - pc-testdev: byte write at 0xe1 merges; 0xe2 word, 0xea byte read parts
ok 25 - pc-testdev: MMIO at 0xff000000 reads back sizes 1, 2, 4, 8
ok 26 - pc-testdev: raising line 5 (port 0x2005) interrupts at vector 0x25
ok 27 - pc-testdev: the line held high gives no second edge
ok 28 - pc-testdev: low then high again: one more
ok 29 - pc-testdev: masked line 5 waits in IRR
ok 30 - pc-testdev: and arrives when unmasked
ok 31 - PIC: with IF clear the tick waits in IRR
ok 32 - PIC: poll command reads 0x80 | IRQ0
ok 33 - PIC: the poll read acknowledged it (ISR bit 0)
ok 34 - PIC: EOI after poll clears ISR
ok 35 - CPU: a pending IRQ0 is taken in a sti; nop; cli window
ok 36 - PIC: auto-EOI mode: ticks go on without EOI (about 50 in 50 ms)
ok 37 - PIC: auto-EOI mode: ISR stays clear
ok 38 - PIC: ELCR (0x4d0) makes IRQ5 level triggered
ok 39 - PIC: a level line held high interrupts again after each EOI (3 until dropped)
ok 40 - PIC: masked level line shows in IRR while high
ok 41 - PIC: and leaves IRR when it drops
ok 42 - PIC: unmasking then delivers nothing
ok 43 - PIT: mode 3 at 100 Hz: about 10 rising edges of OUT in 100 ticks
ok 44 - PIT: mode 3: OUT high about half the time (percent)
ok 45 - RTC: register A reads back (UIP aside)
ok 46 - RTC: register B reads back
ok 47 - RTC: register D has VRT (valid RAM and time)
ok 48 - RTC: register C: no IRQF with every interrupt disabled
ok 49 - RTC: BCD date and time fields are valid, century 20
ok 50 - RTC: binary mode (B.DM) gives the same time
ok 51 - RTC: 12-hour mode: hour 1-12 with bit 7 for PM
ok 52 - RTC: UIP set before the update, then the seconds advance by one
ok 53 - RTC: about 1000 IRQ0 ticks in one RTC second
ok 54 - RTC: register C has UF after a second went by
ok 55 - RTC: SET holds the time as written
ok 56 - RTC: 2028-02-28 23:59:59 goes on to Tuesday 2028-02-29 00:00
ok 57 - RTC: update-ended interrupt (UIE) on IRQ8 with C = IRQF | UF
ok 58 - RTC: alarm interrupt (AIE) at the alarm second, C = IRQF | AF
ok 59 - RTC: about 205 periodic interrupts (rate 6, 1024 Hz) in 200 ms
ok 60 - RTC: register C in the handler has IRQF and PF
ok 61 - PIC: nothing left in service after IRQ8 EOIs
ok 62 - RTC: about 13 periodic interrupts (rate 10, 64 Hz) in 200 ms
ok 63 - RTC: none once PIE is cleared
ok 64 - CMOS: 0x15/0x16 base memory 640 KiB
ok 65 - CMOS: 0x17/0x18 and 0x30/0x31 extended memory capped at 0xffff KiB
ok 66 - CMOS: 0x34/0x35 = (128 MiB - 16 MiB) / 64 KiB
ok 67 - CMOS: RAM byte 0x7f reads back
ok 68 - fw_cfg: signature (0x0000) reads QEMU
ok 69 - fw_cfg: reading past the end gives 0
ok 70 - fw_cfg: ID (0x0001) has the traditional interface bit
ok 71 - fw_cfg: RAM size (0x0003) is 128 MiB
ok 72 - fw_cfg: CPU count (0x0005) is 2, as -smp 2 says
ok 73 - CMOS: 0x5f holds the CPU count - 1
ok 74 - fw_cfg: max CPUs (0x000f) is the same
ok 75 - fw_cfg: an unused key reads 0
ok 76 - PCI: 00:00.0 is the i440FX host bridge (8086:1237)
ok 77 - PCI: 0xcf8 reads back
ok 78 - PCI: word at 0xcfe and byte at 0xcfd pick parts of the dword
ok 79 - PCI: 00:00.0 class is host bridge (06 00 00)
ok 80 - PCI: 00:00.0 header type 0
ok 81 - PCI: empty slot 00:1f.0 reads all ones
ok 82 - PCI: its vendor ID reads 0xffff
ok 83 - PCI: function 5 of 00:00 reads all ones
ok 84 - PCI: bus 7 reads all ones
ok 85 - port 0x92: A20 bit reads set
ok 86 - i8042: self test (0xaa) answers 0x55
summary: 86 passed, 0 failed
EOF
guest_test devices "$WORK/expected" -m 128M -smp 2 -device pc-testdev
