/* The MC146818 real-time clock.  Its time is a line through the vm clock:
 * rtc ns = base_ns + (vm_clock_ns - base_mono), so it never steps with the
 * host's wall clock.  Nothing ticks: the time registers are worked out at
 * each read, and the flags of register C (periodic, alarm, update-ended)
 * are accounted for lazily up to "now" whenever they matter.  A timer runs
 * only while an enabled interrupt is still to come. */
#include "hw/mc146818_rtc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define RTC_PORT 0x70
#define RTC_IRQ 8
#define UIP_NS 244000		/* UIP is set this long before each update */
#define HZ32K 32768
#define RTC_MIN_SECS (-2208988800ll)	/* 1900-01-01 */
#define RTC_MAX_SECS 7258118399ll	/* 2199-12-31 23:59:59 */

enum {
	REG_SEC, REG_ALARM_SEC, REG_MIN, REG_ALARM_MIN, REG_HOUR, REG_ALARM_HOUR,
	REG_WDAY, REG_MDAY, REG_MONTH, REG_YEAR,
	REG_A, REG_B, REG_C, REG_D,
	REG_CENTURY = 0x32,
	REG_CENTURY_PS2 = 0x37,
};

#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

struct mc146818_rtc {
	struct vm *vm;
	uint8_t cmos[128];	/* 0-9 hold the time only while stopped */
	uint8_t index;
	bool nmi_masked;
	int64_t base_ns;	/* rtc time (ns since 1970) at base_mono */
	uint64_t base_mono;
	bool stopped;		/* SET or divider reset: the time registers hold */
	uint64_t flags_mono;	/* register C is accounted for up to here */
	struct vm_timer timer;
	int irq_level;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t rtc_ns(const struct mc146818_rtc *rtc, uint64_t mono)
{
	return rtc->base_ns + (int64_t)(mono - rtc->base_mono);
}

/* Ticks of the 32.768 kHz time base at rtc time ns, and back */
static int64_t ticks32(int64_t ns)
{
	int64_t s = floor_div(ns, (int64_t)NS_PER_SEC);
	return s * HZ32K + (ns - s * (int64_t)NS_PER_SEC) * HZ32K / (int64_t)NS_PER_SEC;
}

static int64_t ticks32_to_ns(int64_t t)
{
	int64_t s = floor_div(t, HZ32K), r = t - s * HZ32K;
	return s * (int64_t)NS_PER_SEC + (r * (int64_t)NS_PER_SEC + HZ32K - 1) / HZ32K;
}

static bool divider_running(const struct mc146818_rtc *rtc)
{
	return (rtc->cmos[REG_A] & 0x60) != 0x60;	/* DV = 11x holds the chain */
}

/* log2 of the periodic interrupt's period in 32 kHz ticks, or -1 */
static int periodic_shift(const struct mc146818_rtc *rtc)
{
	unsigned rs = rtc->cmos[REG_A] & 15;
	if (rs == 0 || !divider_running(rtc))
		return -1;
	return rs <= 2 ? (int)rs + 6 : (int)rs - 1;
}

static uint8_t to_reg(const struct mc146818_rtc *rtc, int v)
{
	if (rtc->cmos[REG_B] & B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static int from_reg(const struct mc146818_rtc *rtc, uint8_t v)
{
	if (rtc->cmos[REG_B] & B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 15);
}

static uint8_t hour_to_reg(const struct mc146818_rtc *rtc, int h)
{
	if (rtc->cmos[REG_B] & B_24H)
		return to_reg(rtc, h);
	return (uint8_t)(to_reg(rtc, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

/* The time registers for rtc time secs, in the format register B asks */
static void rtc_encode(const struct mc146818_rtc *rtc, int64_t secs, uint8_t out[10],
		       uint8_t *century)
{
	time_t t = (time_t)secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	int year = tm.tm_year + 1900;
	out[REG_SEC] = to_reg(rtc, tm.tm_sec);
	out[REG_MIN] = to_reg(rtc, tm.tm_min);
	out[REG_HOUR] = hour_to_reg(rtc, tm.tm_hour);
	out[REG_WDAY] = to_reg(rtc, tm.tm_wday + 1);
	out[REG_MDAY] = to_reg(rtc, tm.tm_mday);
	out[REG_MONTH] = to_reg(rtc, tm.tm_mon + 1);
	out[REG_YEAR] = to_reg(rtc, year % 100);
	*century = to_reg(rtc, year / 100 % 100);
}

static void rtc_store_time(struct mc146818_rtc *rtc, int64_t secs)
{
	uint8_t regs[10], century;
	rtc_encode(rtc, secs, regs, &century);
	static const uint8_t time_regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_WDAY,
					     REG_MDAY, REG_MONTH, REG_YEAR };
	for (unsigned i = 0; i < sizeof(time_regs); i++)
		rtc->cmos[time_regs[i]] = regs[time_regs[i]];
	rtc->cmos[REG_CENTURY] = rtc->cmos[REG_CENTURY_PS2] = century;
}

/* The time the registers hold, whatever the guest wrote into them */
static int64_t rtc_load_time(const struct mc146818_rtc *rtc)
{
	const uint8_t *c = rtc->cmos;
	struct tm tm = { 0 };
	int hour = c[REG_HOUR];
	if (rtc->cmos[REG_B] & B_24H)
		hour = from_reg(rtc, (uint8_t)hour);
	else
		hour = from_reg(rtc, hour & 0x7f) % 12 + (hour & 0x80 ? 12 : 0);
	tm.tm_sec = from_reg(rtc, c[REG_SEC]);
	tm.tm_min = from_reg(rtc, c[REG_MIN]);
	tm.tm_hour = hour;
	tm.tm_mday = from_reg(rtc, c[REG_MDAY]);
	tm.tm_mon = from_reg(rtc, c[REG_MONTH]) - 1;
	tm.tm_year = from_reg(rtc, c[REG_CENTURY]) * 100 + from_reg(rtc, c[REG_YEAR]) - 1900;
	int64_t secs = (int64_t)timegm(&tm);
	/* garbage (BCD digits above 9, century 255) must not overflow the
	 * nanosecond clock: keep to 1900-2199 */
	if (secs < RTC_MIN_SECS)
		return RTC_MIN_SECS;
	return secs > RTC_MAX_SECS ? RTC_MAX_SECS : secs;
}

static bool alarm_matches(const struct mc146818_rtc *rtc, int64_t secs)
{
	static const int alarm_regs[3][2] = {
		{ REG_ALARM_SEC, REG_SEC }, { REG_ALARM_MIN, REG_MIN }, { REG_ALARM_HOUR, REG_HOUR },
	};
	uint8_t now[10], century;
	rtc_encode(rtc, secs, now, &century);
	for (int i = 0; i < 3; i++) {
		uint8_t a = rtc->cmos[alarm_regs[i][0]];
		if ((a & 0xc0) != 0xc0 && a != now[alarm_regs[i][1]])	/* 11xxxxxx: any */
			return false;
	}
	return true;
}

static void rtc_update_irq(struct mc146818_rtc *rtc)
{
	uint8_t c = rtc->cmos[REG_C] & (C_PF | C_AF | C_UF);
	uint8_t b = rtc->cmos[REG_B];
	if (((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) ||
	    ((c & C_UF) && (b & B_UIE)))
		c |= C_IRQF;
	rtc->cmos[REG_C] = c;
	int level = (c & C_IRQF) != 0;
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		vm_set_irq(rtc->vm, RTC_IRQ, level);
	}
}

/* Set the flags of register C for what happened until now */
static void rtc_account(struct mc146818_rtc *rtc, uint64_t now)
{
	int64_t t1 = rtc_ns(rtc, rtc->flags_mono), t2 = rtc_ns(rtc, now);
	int shift = periodic_shift(rtc);

	rtc->flags_mono = now;
	if (t2 <= t1)
		return;
	if (shift >= 0 && floor_div(ticks32(t2), 1ll << shift) != floor_div(ticks32(t1), 1ll << shift))
		rtc->cmos[REG_C] |= C_PF;
	if (!rtc->stopped) {
		int64_t s1 = floor_div(t1, (int64_t)NS_PER_SEC), s2 = floor_div(t2, (int64_t)NS_PER_SEC);
		if (s2 > s1)
			rtc->cmos[REG_C] |= C_UF;
		/* the alarm pattern repeats daily: one day of updates is enough */
		if (s2 - s1 > 86400)
			s1 = s2 - 86400;
		for (int64_t s = s1 + 1; s <= s2 && !(rtc->cmos[REG_C] & C_AF); s++)
			if (alarm_matches(rtc, s))
				rtc->cmos[REG_C] |= C_AF;
	}
	rtc_update_irq(rtc);
}

/* Wake up for the next interrupt that is enabled and can still be seen */
static void rtc_schedule(struct mc146818_rtc *rtc, uint64_t now)
{
	int64_t t = rtc_ns(rtc, now), next = INT64_MAX;
	int shift = periodic_shift(rtc);
	uint8_t b = rtc->cmos[REG_B];

	if (!(rtc->cmos[REG_C] & C_IRQF)) {	/* else nothing new until C is read */
		if ((b & B_PIE) && shift >= 0)
			next = ticks32_to_ns((floor_div(ticks32(t), 1ll << shift) + 1) * (1ll << shift));
		if ((b & (B_UIE | B_AIE)) && !rtc->stopped) {
			int64_t s = (floor_div(t, (int64_t)NS_PER_SEC) + 1) * (int64_t)NS_PER_SEC;
			if (s < next)
				next = s;
		}
	}
	if (next == INT64_MAX)
		timer_del(rtc->vm, &rtc->timer);
	else
		timer_mod(rtc->vm, &rtc->timer, now + (uint64_t)(next - t));
}

static void rtc_timer_cb(void *opaque, uint64_t now)
{
	struct mc146818_rtc *rtc = opaque;
	rtc_account(rtc, now);
	rtc_schedule(rtc, now);
}

/* SET or a divider reset holds the time in the registers; clearing them
 * starts it from there, on the divider's phase (a reset divider starts
 * half a second before the first update). */
static void rtc_set_stopped(struct mc146818_rtc *rtc, bool stop, bool from_divider, uint64_t now)
{
	int64_t t = rtc_ns(rtc, now);
	if (stop == rtc->stopped)
		return;
	if (stop) {
		rtc_store_time(rtc, floor_div(t, (int64_t)NS_PER_SEC));
	} else {
		int64_t phase = from_divider ? (int64_t)NS_PER_SEC / 2
					     : t - floor_div(t, (int64_t)NS_PER_SEC) * (int64_t)NS_PER_SEC;
		rtc->base_ns = rtc_load_time(rtc) * (int64_t)NS_PER_SEC + phase;
		rtc->base_mono = now;
	}
	rtc->stopped = stop;
}

static bool is_time_reg(unsigned i)
{
	return i <= REG_YEAR || i == REG_CENTURY || i == REG_CENTURY_PS2;
}

static bool is_alarm_reg(unsigned i)
{
	return i == REG_ALARM_SEC || i == REG_ALARM_MIN || i == REG_ALARM_HOUR;
}

static uint8_t rtc_read(struct mc146818_rtc *rtc, unsigned i, uint64_t now)
{
	uint8_t v;
	if (is_time_reg(i) && !is_alarm_reg(i) && !rtc->stopped)
		rtc_store_time(rtc, floor_div(rtc_ns(rtc, now), (int64_t)NS_PER_SEC));
	switch (i) {
	case REG_A: {
		int64_t t = rtc_ns(rtc, now);
		int64_t into = t - floor_div(t, (int64_t)NS_PER_SEC) * (int64_t)NS_PER_SEC;
		v = rtc->cmos[REG_A] & ~A_UIP;
		if (!rtc->stopped && into >= (int64_t)(NS_PER_SEC - UIP_NS))
			v |= A_UIP;
		return v;
	}
	case REG_C:
		rtc_account(rtc, now);
		v = rtc->cmos[REG_C];
		rtc->cmos[REG_C] = 0;
		rtc_update_irq(rtc);
		rtc_schedule(rtc, now);
		return v;
	case REG_D:
		return 0x80;	/* valid RAM and time: the battery is good */
	default:
		return rtc->cmos[i];
	}
}

static void rtc_write(struct mc146818_rtc *rtc, unsigned i, uint8_t v, uint64_t now)
{
	rtc_account(rtc, now);
	switch (i) {
	case REG_A: {
		bool was_running = divider_running(rtc);
		rtc->cmos[REG_A] = v & ~A_UIP;
		if (divider_running(rtc) != was_running && !(rtc->cmos[REG_B] & B_SET))
			rtc_set_stopped(rtc, was_running, true, now);
		break;
	}
	case REG_B:
		if (v & B_SET)
			v &= ~B_UIE;
		rtc->cmos[REG_B] = v;
		if (divider_running(rtc))
			rtc_set_stopped(rtc, v & B_SET, false, now);
		break;
	case REG_C:
	case REG_D:	/* read-only */
		break;
	default:
		if (is_time_reg(i) && !is_alarm_reg(i) && !rtc->stopped) {
			/* the clock goes on from the new value */
			int64_t t = rtc_ns(rtc, now);
			int64_t secs = floor_div(t, (int64_t)NS_PER_SEC);
			rtc_store_time(rtc, secs);
			rtc->cmos[i] = v;
			/* same phase within the second; restart the line at now */
			rtc->base_ns = rtc_load_time(rtc) * (int64_t)NS_PER_SEC +
				       (t - secs * (int64_t)NS_PER_SEC);
			rtc->base_mono = now;
			break;
		}
		rtc->cmos[i] = v;
		break;
	}
	rtc_update_irq(rtc);
	rtc_schedule(rtc, now);
}

/* A word access at 0x70 is an index and a data byte, as on the bus */
static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct mc146818_rtc *rtc = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		uint8_t b = 0xff;	/* the index register is write-only */
		if (offset + i == 1)
			b = rtc_read(rtc, rtc->index, vm_clock_ns(rtc->vm));
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

static void rtc_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct mc146818_rtc *rtc = opaque;
	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		uint8_t b = (uint8_t)(value >> (8 * i));
		if (offset + i == 0) {
			rtc->index = b & 0x7f;
			rtc->nmi_masked = b & 0x80;
		} else {
			rtc_write(rtc, rtc->index, b, vm_clock_ns(rtc->vm));
		}
	}
}

static const struct io_ops rtc_ops = { .read = rtc_io_read, .write = rtc_io_write };

bool mc146818_rtc_nmi_masked(struct mc146818_rtc *rtc)
{
	return rtc->nmi_masked;
}

static void cmos_checksum(struct mc146818_rtc *rtc)
{
	unsigned sum = 0;
	for (int i = 0x10; i <= 0x2d; i++)
		sum += rtc->cmos[i];
	rtc->cmos[0x2e] = (uint8_t)(sum >> 8);
	rtc->cmos[0x2f] = (uint8_t)sum;
}

void mc146818_rtc_set_cmos(struct mc146818_rtc *rtc, unsigned index, uint8_t value)
{
	pthread_mutex_lock(&rtc->vm->dev_lock);
	if (index >= 0x0e && index < 128 && !is_time_reg(index)) {
		rtc->cmos[index] = value;
		if (index >= 0x10 && index <= 0x2d)
			cmos_checksum(rtc);
	}
	pthread_mutex_unlock(&rtc->vm->dev_lock);
}

/* What a PC BIOS keeps in CMOS RAM, sized from the machine */
static void cmos_init(struct mc146818_rtc *rtc)
{
	struct vm *vm = rtc->vm;
	uint64_t ram = vm->mem.ram_size ? vm->mem.ram_size : vm->cfg.ram_size;
	uint64_t low = ram < PC_LOWMEM_LIMIT ? ram : PC_LOWMEM_LIMIT, high = ram - low;
	uint64_t v;
	uint8_t *c = rtc->cmos;

	c[REG_A] = 0x26;	/* 32.768 kHz, 1024 Hz periodic rate */
	c[REG_B] = B_24H;	/* BCD, 24 hours */
	c[0x10] = 0x00;		/* no floppy drives */
	c[0x14] = 0x02;		/* no floppy, an FPU, EGA/VGA-class display */
	c[0x15] = 640 & 0xff;	/* base memory in KiB */
	c[0x16] = 640 >> 8;
	v = low > (1u << 20) ? (low >> 10) - 1024 : 0;	/* KiB above 1 MiB */
	v = v > 0xffff ? 0xffff : v;
	c[0x17] = c[0x30] = (uint8_t)v;
	c[0x18] = c[0x31] = (uint8_t)(v >> 8);
	v = low > (16u << 20) ? (low - (16u << 20)) >> 16 : 0;	/* 64 KiB above 16 MiB */
	v = v > 0xffff ? 0xffff : v;
	c[0x34] = (uint8_t)v;
	c[0x35] = (uint8_t)(v >> 8);
	v = high >> 16;	/* 64 KiB above 4 GiB */
	c[0x5b] = (uint8_t)v;
	c[0x5c] = (uint8_t)(v >> 8);
	c[0x5d] = (uint8_t)(v >> 16);
	c[0x5f] = (uint8_t)(vm->cfg.smp ? vm->cfg.smp - 1 : 0);
	/* boot order as QEMU's pc stores it for SeaBIOS: a nibble per place,
	 * 0x3d holds the first two, 0x38's upper nibble the third (1 floppy,
	 * 2 disk, 3 CD-ROM); bit 0 of 0x38 skips the floppy signature check.
	 * Without -boot: disk, then CD-ROM. */
	const char *order = vm->cfg.boot_order[0] ? vm->cfg.boot_order : "cd";
	uint8_t dev[3] = { 0 };
	for (int i = 0; i < 3 && order[i]; i++)
		dev[i] = order[i] == 'c' ? 2 : order[i] == 'd' ? 3 : 0;
	c[0x3d] = (uint8_t)(dev[1] << 4 | dev[0]);
	c[0x38] = (uint8_t)(dev[2] << 4 | 1);
	cmos_checksum(rtc);
}

/* RESET clears the interrupt enables and flags, not the time or RAM */
static void rtc_reset(void *opaque)
{
	struct mc146818_rtc *rtc = opaque;
	uint64_t now = vm_clock_ns(rtc->vm);
	rtc->cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
	rtc->cmos[REG_C] = 0;
	rtc->flags_mono = now;
	rtc_update_irq(rtc);
	rtc_schedule(rtc, now);
}

static void rtc_destroy(void *opaque)
{
	struct mc146818_rtc *rtc = opaque;
	timer_del(rtc->vm, &rtc->timer);
	free(rtc);
}

int mc146818_rtc_create(struct vm *vm, struct mc146818_rtc **out)
{
	struct mc146818_rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return -ENOMEM;
	rtc->vm = vm;
	timer_init(&rtc->timer, rtc_timer_cb, rtc);
	rtc->base_mono = rtc->flags_mono = vm_clock_ns(vm);
	rtc->base_ns = vm_clock_realtime_ns(vm);
	cmos_init(rtc);
	ret = vm_add_device(vm, "mc146818-rtc", rtc, rtc_reset, rtc_destroy);
	if (ret < 0) {
		free(rtc);
		return ret;
	}
	ret = io_bus_register(&vm->pio, RTC_PORT, 2, &rtc_ops, rtc, "rtc");
	if (ret < 0) {
		log_error("rtc: cannot register ports 0x70-0x71: %s", strerror(-ret));
		return ret;
	}
	if (out)
		*out = rtc;
	return 0;
}
