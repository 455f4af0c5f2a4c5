/* gen.c — benchmark helpers: a blocking traffic generator and a blocking sink.
 *
 * Used only by the benchmark child that runs inside a network namespace, to measure the
 * switch from outside. They bypass the pool: generate() copies the given frames straight into
 * the port's TX ring and kicks once per burst; sink() walks the RX ring and flips statuses.
 * Counts are what the kernel took (frames it left as SEND_REQUEST are taken back and not
 * counted), not what was attempted. A TAP port works too, with write()/read(). traffic.c has
 * the second generation (generateTraffic/sinkTraffic) and shares the ring helpers below.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include "layout.h"

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
  for (;;) {
    uint64_t n = now_ns();
    if (n >= t) return;
    if (t - n > 200000) { /* sleep coarse, spin the last stretch */
      struct timespec ts = {0, (long)(t - n - 100000)};
      nanosleep(&ts, NULL);
    } else {
      sched_yield();
    }
  }
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

static int gen_tap(port_t *p, const uint8_t *const *frames, const uint32_t *lens, uint32_t nf,
                   uint64_t count, double pps, gen_result_t *out) {
  uint64_t t0 = now_ns(), sent = 0;
  for (uint64_t i = 0; i < count;) {
    if (pps > 0) sleep_until(t0 + (uint64_t)((double)i * 1e9 / pps));
    uint32_t k = (uint32_t)(i % nf);
    ssize_t r = write(p->tx_fd, frames[k], lens[k]);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      struct pollfd pf = {p->tx_fd, POLLOUT, 0};
      poll(&pf, 1, 1);
      continue;
    }
    if (r >= 0) {
      sent++;
      p->st.tx_frames++;
      p->st.tx_bytes += (uint64_t)r;
    }
    i++;
  }
  out->sent = sent;
  out->ns = now_ns() - t0;
  return 0;
}

int gen_run(port_t *p, const uint8_t *const *frames, const uint32_t *lens, uint32_t nf,
            uint64_t count, double pps, gen_result_t *out) {
  if (p->kind == PORT_TAP) return gen_tap(p, frames, lens, nf, count, pps, out);
  for (uint32_t k = 0; k < nf; k++)
    if (!afp_fits(p, frames[k], lens[k])) return EMSGSIZE;
  uint32_t burst = 64;
  if (pps > 0) {
    double b = pps / 20000.0; /* ~50 us of traffic per burst */
    burst = b < 1 ? 1 : b > 32 ? 32 : (uint32_t)b;
  }
  uint64_t t0 = now_ns(), queued = 0, wrong = 0;
  while (queued < count) {
    if (pps > 0) sleep_until(t0 + (uint64_t)((double)queued * 1e9 / pps));
    uint32_t q = 0;
    while (q < burst && queued + q < count) {
      struct tpacket2_hdr *h = tx_frame(p, p->tx_head);
      uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
      if (st & TP_STATUS_WRONG_FORMAT) wrong++;
      else if (st != TP_STATUS_AVAILABLE) break;
      uint32_t k = (uint32_t)((queued + q) % nf);
      memcpy((uint8_t *)h + TX_DATA_OFFSET, frames[k], lens[k]);
      h->tp_len = lens[k];
      __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
      p->tx_head = (p->tx_head + 1) & (p->tx_frames - 1);
      q++;
    }
    if (q) {
      int e = afp_kick(p);
      if (e == ENETDOWN || e == ENXIO) { queued += q; break; }
      queued += q;
    } else {
      gen_wait_tx_free(p);
    }
  }
  uint64_t back = gen_flush_tx(p, NULL);
  out->sent = queued - back - wrong;
  out->ns = now_ns() - t0;
  uint64_t cycle = 0; /* bytes of the frames sent: frames[i % nf] for i < sent */
  for (uint32_t k = 0; k < nf; k++) cycle += lens[k];
  uint64_t bytes = out->sent / nf * cycle;
  for (uint32_t k = 0; k < out->sent % nf; k++) bytes += lens[k];
  p->st.tx_frames += out->sent;
  p->st.tx_bytes += bytes;
  return 0;
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

static int sink_tap(port_t *p, uint64_t t0, uint64_t end, uint64_t idle, sink_result_t *o) {
  uint8_t buf[65536]; /* contents are thrown away */
  uint64_t first = 0, last = 0;
  for (;;) {
    ssize_t r = read(p->rx_fd, buf, sizeof buf);
    uint64_t now = now_ns();
    if (r > 0) {
      if (!first) first = now;
      last = now;
      o->frames++;
      o->bytes += (uint64_t)r;
      continue;
    }
    if (now >= end || (idle && last && now - last >= idle)) break;
    uint64_t wait = end - now;
    if (idle && last && last + idle - now < wait) wait = last + idle - now;
    struct pollfd pf = {p->rx_fd, POLLIN, 0};
    struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
    ppoll(&pf, 1, &ts, NULL);
  }
  o->ns = last - first;
  (void)t0;
  return 0;
}

int sink_run(port_t *p, uint32_t duration_ms, uint32_t idle_ms, sink_result_t *o) {
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)duration_ms * 1000000u;
  uint64_t idle = (uint64_t)idle_ms * 1000000u, first = 0, last = 0;
  memset(o, 0, sizeof *o);
  if (p->kind == PORT_TAP) return sink_tap(p, t0, end, idle, o);
  for (;;) {
    uint32_t got = 0;
    struct tpacket2_hdr *h;
    while ((h = gen_rx_peek(p))) {
      o->bytes += h->tp_len;
      got++;
      gen_rx_release(p);
    }
    uint64_t now = now_ns();
    if (got) {
      if (!first) first = now;
      last = now;
      o->frames += got;
      continue;
    }
    if (now >= end || (idle && last && now - last >= idle)) break;
    uint64_t wait = end - now;
    if (idle && last && last + idle - now < wait) wait = last + idle - now;
    if (wait > 10000000u) wait = 10000000u;
    struct pollfd pf = {p->rx_fd, POLLIN, 0};
    struct timespec ts = {0, (long)wait};
    ppoll(&pf, 1, &ts, NULL);
  }
  o->ns = last - first;
  p->st.rx_frames += o->frames;
  p->st.rx_bytes += o->bytes;
  return 0;
}
