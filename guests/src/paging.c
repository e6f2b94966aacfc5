/* paging: 32-bit paging without PAE (4 MiB and 4 KiB pages), then PAE.
 * Checks translations through aliases, the accessed and dirty bits the
 * CPU writes into the entries, what invlpg, a CR3 reload and CR4.PGE
 * flush, and self-modifying code (same and different linear address). */
#include "io.h"
#include "libg.h"

#define P 0x1u
#define W 0x2u
#define A 0x20u
#define D 0x40u
#define PS 0x80u
#define G 0x100u

#define WIN 0x40000000u		/* a 4 KiB-page window */
#define ALIAS 0xc0000000u	/* a large-page alias of physical 0 */

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt[1024] __attribute__((aligned(4096)));
static volatile uint64_t pdpt[4] __attribute__((aligned(32)));
static volatile uint64_t pd_pae[4][512] __attribute__((aligned(4096)));
static volatile uint64_t pt_pae[512] __attribute__((aligned(4096)));
static volatile uint32_t frames[4][1024] __attribute__((aligned(4096)));
static volatile uint8_t code_page[4096] __attribute__((aligned(4096)));
static volatile uint32_t marker = 0x600dcafe, scratch;

#define win(i) ((volatile uint32_t *)(WIN + (i) * 4096))
#define alias(p) ((volatile uint32_t *)(ALIAS + (uint32_t)(p)))

static void fill_frames(void)
{
	for (int f = 0; f < 4; f++)
		for (int i = 0; i < 1024; i++)
			frames[f][i] = 0x11111111u * (f + 1);
}

static int check_word(uint32_t got, uint32_t want, const char *what)
{
	if (!check(got == want, what))
		printf("# read %x, want %x\n", got, want);
	return got == want;
}

/* mov $imm, %eax; ret */
static void emit_return(volatile uint8_t *code, uint32_t imm)
{
	code[0] = 0xb8;
	code[1] = imm;
	code[2] = imm >> 8;
	code[3] = imm >> 16;
	code[4] = imm >> 24;
	code[5] = 0xc3;
}

static void test_smc(void)
{
	uint8_t al;
	/* patch the immediate of the very next instruction */
	asm volatile("movb $0x42, 1f + 1\n1:\tmovb $0x00, %0" : "=a"(al) :: "memory");
	check(al == 0x42, "SMC: a store into the next instruction takes effect");

	uint32_t (*fn)(void) = (uint32_t (*)(void))code_page;
	emit_return(code_page, 1);
	uint32_t r1 = fn();
	emit_return(code_page, 2);
	uint32_t r2 = fn();
	check(r1 == 1 && r2 == 2, "SMC: code rewritten after it ran runs the new instruction");

	unsigned sum = 0;
	for (uint32_t i = 0; i < 50; i++) {
		code_page[1] = i;
		sum += fn();
	}
	check(sum == 49 * 50 / 2, "SMC: rewritten 50 times in a loop");

	/* the same physical code page, written through another linear address */
	pt[5] = (uint32_t)code_page | P | W;
	invlpg(win(5));
	volatile uint8_t *other = (volatile uint8_t *)win(5);
	other[1] = 0x77;
	check(fn() == 0x77, "SMC: a write through another mapping of the code is seen");
}

static void test_nonpae(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pd[i] = i << 22 | P | W | PS;
	pd[WIN >> 22] = (uint32_t)pt | P | W;
	pd[ALIAS >> 22] = 0 | P | W | PS;
	for (int i = 0; i < 4; i++)
		pt[i] = (uint32_t)frames[i] | P | W;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG);
	puts("32-bit paging on (4 MiB pages)\n");

	check_word(*alias(&marker), 0x600dcafe, "4 MiB page: the alias at 3 GiB reads the variable");
	check_word(*win(2), 0x33333333, "4 KiB page in the window maps its frame");

	pt[0] = (uint32_t)frames[0] | P | W;	/* A and D clear */
	pd[WIN >> 22] &= ~A;
	invlpg(win(0));
	(void)*win(0);
	check((pt[0] & (A | D)) == A, "4 KiB PTE: a read sets A, not D");
	check(pd[WIN >> 22] & A, "  and A in the PDE");
	*win(0) = 5;
	check((pt[0] & (A | D)) == (A | D), "4 KiB PTE: a write sets D");
	check_word(frames[0][0], 5, "  the write reached the frame");

	pd[ALIAS >> 22] = 0 | P | W | PS;
	invlpg(alias(&scratch));
	(void)*alias(&scratch);
	check((pd[ALIAS >> 22] & (A | D)) == A, "4 MiB PDE: a read sets A, not D");
	*alias(&scratch) = 9;
	check((pd[ALIAS >> 22] & (A | D)) == (A | D), "4 MiB PDE: a write sets D");
	check_word(scratch, 9, "  the write reached the variable");

	fill_frames();
	pt[3] = (uint32_t)frames[0] | P | W;
	invlpg(win(3));
	check_word(*win(3), 0x11111111, "window page 3 -> frame 0");
	pt[3] = (uint32_t)frames[1] | P | W;
	invlpg(win(3));
	check_word(*win(3), 0x22222222, "after invlpg the new mapping is used");
	pt[3] = (uint32_t)frames[2] | P | W;
	write_cr3(read_cr3());
	check_word(*win(3), 0x33333333, "after a CR3 reload the new mapping is used");

	write_cr4(read_cr4() | CR4_PGE);
	pt[4] = (uint32_t)frames[0] | P | W | G;
	invlpg(win(4));
	check_word(*win(4), 0x11111111, "global page maps its frame");
	pt[4] = (uint32_t)frames[1] | P | W | G;
	invlpg(win(4));
	check_word(*win(4), 0x22222222, "invlpg flushes a global page");
	pt[4] = (uint32_t)frames[3] | P | W | G;
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	check_word(*win(4), 0x44444444, "clearing CR4.PGE flushes global pages");

	test_smc();

	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PGE | CR4_PSE));
}

static void test_pae(void)
{
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd_pae[i] | P;	/* PDPTEs: P only, R/W is reserved */
		for (int j = 0; j < 512; j++)
			pd_pae[i][j] = (uint64_t)(i * 512 + j) << 21 | P | W | PS;
	}
	pd_pae[WIN >> 30][(WIN >> 21) & 511] = (uint32_t)pt_pae | P | W;
	pd_pae[ALIAS >> 30][0] = 0 | P | W | PS;
	for (int i = 0; i < 4; i++)
		pt_pae[i] = (uint32_t)frames[i] | P | W;
	fill_frames();
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((uint32_t)pdpt);
	write_cr0(read_cr0() | CR0_PG);
	puts("PAE paging on (2 MiB pages)\n");

	check_word(*alias(&marker), 0x600dcafe, "PAE 2 MiB page: the alias at 3 GiB reads the variable");
	check_word(*win(1), 0x22222222, "PAE 4 KiB page in the window maps its frame");

	volatile uint64_t *pde = &pd_pae[WIN >> 30][(WIN >> 21) & 511];
	pt_pae[0] = (uint32_t)frames[0] | P | W;
	*pde &= ~(uint64_t)A;
	invlpg(win(0));
	(void)*win(0);
	check((pt_pae[0] & (A | D)) == A, "PAE PTE: a read sets A, not D");
	check(*pde & A, "  and A in the PDE");
	*win(0) = 0x1234;
	check((pt_pae[0] & (A | D)) == (A | D), "PAE PTE: a write sets D");
	check_word(frames[0][0], 0x1234, "  the write reached the frame");

	volatile uint64_t *big = &pd_pae[ALIAS >> 30][0];
	*big = 0 | P | W | PS;
	invlpg(alias(&scratch));
	*alias(&scratch) = 77;
	check((*big & (A | D)) == (A | D), "PAE 2 MiB PDE: a write sets A and D");
	check_word(scratch, 77, "  the write reached the variable");

	pt_pae[2] = (uint32_t)frames[3] | P | W;
	invlpg(win(2));
	check_word(*win(2), 0x44444444, "PAE: after invlpg the new mapping is used");
	pt_pae[2] = (uint32_t)frames[1] | P | W;
	write_cr3(read_cr3());
	check_word(*win(2), 0x22222222, "PAE: after a CR3 reload the new mapping is used");

	write_cr0(read_cr0() & ~CR0_PG);
	check_word(marker, 0x600dcafe, "paging off again");
}

void main(void)
{
	serial_init();
	puts("paging: 32-bit\n");
	fill_frames();
	test_nonpae();
	test_pae();
	finish();
}
