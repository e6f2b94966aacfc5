#include "hw/msix.h"

#include <errno.h>
#include <string.h>

#include "core/vm.h"
#include "hw/pci.h"

#define MSIX_CAP_LEN 12
#define MSIX_CTRL 2		/* message control, in the capability */
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_TABLE_REG 4
#define MSIX_PBA_REG 8
#define ENTRY_CTRL 3		/* dword of an entry: vector control */
#define ENTRY_MASKED 1u

int msix_init(struct msix *m, struct pci_device *dev, struct vm *vm, unsigned nvec, unsigned bar)
{
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS)
		return -EINVAL;
	int cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (cap < 0)
		return cap;
	memset(m, 0, sizeof(*m));
	m->dev = dev;
	m->vm = vm;
	m->nvec = nvec;
	m->cap = (unsigned)cap;
	uint8_t *c = &dev->config[cap];
	uint16_t ctrl = (uint16_t)(nvec - 1);
	c[MSIX_CTRL] = (uint8_t)ctrl;
	c[MSIX_CTRL + 1] = (uint8_t)(ctrl >> 8);
	uint32_t table = MSIX_TABLE_OFFSET | bar, pba = MSIX_PBA_OFFSET | bar;
	memcpy(&c[MSIX_TABLE_REG], &table, 4);
	memcpy(&c[MSIX_PBA_REG], &pba, 4);
	dev->wmask[cap + MSIX_CTRL + 1] = (MSIX_CTRL_MASKALL | MSIX_CTRL_ENABLE) >> 8;
	pthread_mutex_init(&m->lock, NULL);
	msix_reset(m);
	return 0;
}

void msix_destroy(struct msix *m)
{
	if (m->dev)
		pthread_mutex_destroy(&m->lock);
	m->dev = NULL;
}

void msix_reset(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	memset(m->table, 0, sizeof(m->table));
	for (unsigned v = 0; v < m->nvec; v++)
		m->table[4 * v + ENTRY_CTRL] = ENTRY_MASKED;
	memset(m->pba, 0, sizeof(m->pba));
	m->dev->config[m->cap + MSIX_CTRL + 1] &= (uint8_t)~((MSIX_CTRL_MASKALL | MSIX_CTRL_ENABLE) >> 8);
	m->enabled = m->function_masked = false;
	pthread_mutex_unlock(&m->lock);
}

static bool pending(const struct msix *m, unsigned v)
{
	return m->pba[v / 64] >> (v % 64) & 1;
}

static bool vector_masked(const struct msix *m, unsigned v)
{
	return m->function_masked || (m->table[4 * v + ENTRY_CTRL] & ENTRY_MASKED);
}

struct msi_msg {
	uint64_t addr;
	uint32_t data;
};

static struct msi_msg message(const struct msix *m, unsigned v)
{
	const uint32_t *e = &m->table[4 * v];
	return (struct msi_msg){ .addr = e[0] | (uint64_t)e[1] << 32, .data = e[2] };
}

/* Lock held: take the pending vectors that may go now into out */
static unsigned take_unmasked(struct msix *m, struct msi_msg *out)
{
	unsigned n = 0;
	if (!m->enabled)
		return 0;
	for (unsigned v = 0; v < m->nvec; v++) {
		if (pending(m, v) && !vector_masked(m, v)) {
			m->pba[v / 64] &= ~(1ull << (v % 64));
			out[n++] = message(m, v);
		}
	}
	return n;
}

static void deliver(struct msix *m, const struct msi_msg *msgs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vm_signal_msi(m->vm, msgs[i].addr, msgs[i].data);
}

bool msix_notify(struct msix *m, unsigned v)
{
	struct msi_msg msg;
	bool send = false;
	pthread_mutex_lock(&m->lock);
	bool enabled = m->enabled;
	if (enabled && v < m->nvec) {
		if (vector_masked(m, v)) {
			m->pba[v / 64] |= 1ull << (v % 64);
		} else {
			msg = message(m, v);
			send = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (send)
		deliver(m, &msg, 1);
	return enabled;
}

bool msix_enabled(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	bool e = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return e;
}

bool msix_vector_message(struct msix *m, unsigned v, uint64_t *addr, uint32_t *data)
{
	if (v >= m->nvec)
		return false;
	pthread_mutex_lock(&m->lock);
	struct msi_msg msg = message(m, v);
	bool live = m->enabled && !vector_masked(m, v);
	pthread_mutex_unlock(&m->lock);
	*addr = msg.addr;
	*data = msg.data;
	return live;
}

void msix_config_written(struct msix *m)
{
	struct msi_msg msgs[MSIX_MAX_VECTORS];
	uint8_t hi = m->dev->config[m->cap + MSIX_CTRL + 1];
	pthread_mutex_lock(&m->lock);
	m->enabled = hi & (MSIX_CTRL_ENABLE >> 8);
	m->function_masked = hi & (MSIX_CTRL_MASKALL >> 8);
	unsigned n = take_unmasked(m, msgs);
	pthread_mutex_unlock(&m->lock);
	deliver(m, msgs, n);
}

/* The table and the PBA take dword and qword accesses, naturally
 * aligned; anything else reads as zeros and writes nothing. */
static bool access_ok(uint64_t offset, unsigned size)
{
	return (size == 4 || size == 8) && !(offset & (size - 1));
}

uint64_t msix_bar_read(struct msix *m, uint64_t offset, unsigned size)
{
	uint64_t v = 0;
	if (!access_ok(offset, size))
		return 0;
	pthread_mutex_lock(&m->lock);
	if (offset < (uint64_t)m->nvec * MSIX_ENTRY_SIZE) {
		memcpy(&v, (const uint8_t *)m->table + offset, size);
	} else if (offset >= MSIX_PBA_OFFSET &&
		   offset - MSIX_PBA_OFFSET < ((m->nvec + 63) / 64) * 8) {
		memcpy(&v, (const uint8_t *)m->pba + (offset - MSIX_PBA_OFFSET), size);
	}
	pthread_mutex_unlock(&m->lock);
	return v;
}

void msix_bar_write(struct msix *m, uint64_t offset, unsigned size, uint64_t value)
{
	struct msi_msg msgs[MSIX_MAX_VECTORS];
	unsigned n = 0;
	/* the PBA is read only */
	if (!access_ok(offset, size) || offset >= (uint64_t)m->nvec * MSIX_ENTRY_SIZE)
		return;
	pthread_mutex_lock(&m->lock);
	memcpy((uint8_t *)m->table + offset, &value, size);
	/* only the mask bit of vector control is defined */
	unsigned v = (unsigned)(offset / MSIX_ENTRY_SIZE);
	m->table[4 * v + ENTRY_CTRL] &= ENTRY_MASKED;
	n = take_unmasked(m, msgs);
	pthread_mutex_unlock(&m->lock);
	deliver(m, msgs, n);
}
