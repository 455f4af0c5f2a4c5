/* gen.c — TX and RX ring helpers shared with traffic.c (generateTraffic/sinkTraffic).
 *
 * now_ns() is the monotonic clock; gen_wait_tx_free() and gen_flush_tx() wait for the
 * kernel to take TX ring frames and take back the ones it left; gen_rx_peek() and
 * gen_rx_release() walk the RX ring. (This file also held the first-generation benchmark
 * generator and sink, generate()/sink(), removed once traffic.c replaced them.)
 */
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include "layout.h"

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct tpacket2_hdr *tx_frame(port_t *p, uint32_t i) {
  return (struct tpacket2_hdr *)(p->tx_ring + (size_t)i * RING_FRAME_SIZE);
}

/* Wait until the frame at our TX head is free again (completions), kicking the kernel. */
void gen_wait_tx_free(port_t *p) {
  struct tpacket2_hdr *h = tx_frame(p, p->tx_head);
  for (int spins = 0; __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE &&
                      !(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_WRONG_FORMAT);
       spins++) {
    if (spins % 64 == 0) afp_kick(p);
    if (spins < 256) {
      sched_yield();
    } else {
      struct pollfd pf = {p->tx_fd, POLLOUT, 0};
      poll(&pf, 1, 1);
    }
  }
}

/* SEND_REQUEST frames the kernel did not take within ~1 s are taken back from the head; their
 * bytes are added to *bytes_back if it is not NULL. */
uint64_t gen_flush_tx(port_t *p, uint64_t *bytes_back) {
  uint64_t deadline = now_ns() + 1000000000u, back = 0;
  for (;;) {
    uint32_t pending = 0;
    for (uint32_t i = 0; i < p->tx_frames; i++)
      if (__atomic_load_n(&tx_frame(p, i)->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST)
        pending++;
    if (!pending) return 0;
    if (now_ns() > deadline) break;
    afp_kick(p);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  for (;;) {
    uint32_t i = (p->tx_head - 1) & (p->tx_frames - 1);
    struct tpacket2_hdr *h = tx_frame(p, i);
    if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_SEND_REQUEST) break;
    __atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
    p->tx_head = i;
    back++;
    if (bytes_back) *bytes_back += h->tp_len;
  }
  return back;
}

/* The frame at the RX head if the kernel has handed it over (when the whole frame was also
 * queued on the socket, TP_STATUS_COPY, that copy is dropped), else NULL. */
struct tpacket2_hdr *gen_rx_peek(port_t *p) {
  struct tpacket2_hdr *h = (struct tpacket2_hdr *)(p->rx_ring + (size_t)p->rx_head * RING_FRAME_SIZE);
  uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
  if (!(st & TP_STATUS_USER)) return NULL;
  if (st & TP_STATUS_COPY) {
    uint8_t b;
    recv(p->rx_fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC);
  }
  return h;
}

/* Give the frame at the RX head back to the kernel and move on. */
void gen_rx_release(port_t *p) {
  afp_release_rx(p->rx_ring + (size_t)p->rx_head * RING_FRAME_SIZE);
  p->rx_head = (p->rx_head + 1) & (p->rx_frames - 1);
}
