/* traffic.c — the second-generation benchmark generator and sink: generateTraffic() and
 * sinkTraffic() (the first generation, generate()/sink() in gen.c, removed; gen.c now holds the
 * ring helpers this file shares).
 *
 * Generator: builds every frame straight into the TX ring (or a scratch buffer written to a
 * TAP) from a template, varying the flow fields and stamping it, with no allocation per packet.
 * Flat out it fills the free ring frames and kicks; paced, it sends one burst per period
 * P = 64 frames' time, within [100 us, 1 ms] (1/pps below 1 kpps), and sleeps in between with clock_nanosleep(TIMER_ABSTIME) under a 1 ns
 * timer slack, so a paced run costs its wakeups and its packets, not the whole core the first
 * generation (removed) spun on. (On the 2-core VM this was written on, a timer wakeup alone
 * costs ~37 us of CPU: at pps >= 10 k, one burst per 100 us, that is ~40% of a core; at 1 kpps
 * ~4%.)
 *
 * Stamp (UDP payload, frame offset 42, all big-endian): u32 magic, u32 sequence (the packet
 * index), u64 transmit time in CLOCK_REALTIME ns, read once per burst just before the burst is
 * built and handed to the kernel. The magic is "SYBL" on the first frame of every burst and
 * "SYB1" on the others: both count as stamped (loss, rates), only SYBL frames are latency
 * samples. The later frames of a burst wait in the sender's own sendto() for the earlier ones
 * (through a veth the kernel forwards each inside that call), so sampling them measured the
 * burst (p50 ~150 us for the Linux bridge with 64-frame bursts), not the device (~30 us).
 *
 * Sink: walks the RX ring; when it is empty it naps napUs (clock_nanosleep) instead of
 * ppoll()ing for every frame or two as the first generation's sink (removed) did.
 *
 * RX timestamp: the sink takes the receive time from the tpacket2 header (tp_sec/tp_nsec:
 * CLOCK_REALTIME, written by the kernel when the frame reached the packet socket, in softirq),
 * not from its own clock, so napping does not inflate the latency and latency mode naps too;
 * the generator therefore stamps CLOCK_REALTIME. Measured when this was written (kernel 6.18
 * VM, 2 shared busy cores, veth pair inside one namespace, 20000 stamped 60-byte frames at
 * 20 kpps, two runs each; latency p50 / p90 / p99, from the histogram):
 *   kernel stamp, napUs=1000:        7.4-8.2 us / 11-12 us / 13-14 us
 *   kernel stamp, napUs=0 (ppoll):   7.7-8.2 us / 15-26 us / 32-35 us
 *   sink's own clock, napUs=1000:    557 us / ~1 ms / 1.1 ms   (the nap, uniformly spread)
 *   sink's own clock, napUs=0:       20-45 us / 31-64 us / 49-111 us
 * The kernel's stamp does not move with the nap, so it is used. (Sink CPU for 2 s at 100 kpps:
 * ~70 ms napping 1 ms, against ~330 ms for the first generation's (removed) ppoll per frame or
 * two.) A TAP has no such stamp: a TAP sink reads its own CLOCK_REALTIME and ppoll()s in
 * latency mode.
 *
 * Flat out, one clock read stamps a whole ring's worth of frames, and the kernel sends them
 * one after the other inside the one kick: latency measured flat out includes that queueing
 * in the generator (up to a ring of frames). Paced bursts are small (pps * 100 us).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include "layout.h"

#define STAMP_OFF 42u
#define STAMP_LEN 16u
#define STAMP_MAGIC 0x53594231u     /* "SYB1" */
#define STAMP_MAGIC_LAT 0x5359424cu /* "SYBL": the first frame of a burst, a latency sample */
#define MIN_PERIOD_NS 100000.0  /* paced bursts at most every 100 us ... */
#define MAX_PERIOD_NS 1000000.0 /* ... at least every 1 ms ... */
#define BURST_FRAMES 64.0       /* ... and about 64 frames each in between: every timer wakeup
                                 * costs ~37 us of CPU on this VM, so at 0.3 Mpps a 100 us period
                                 * spent a third of a core waking up, and a generator that busy
                                 * fell short of its target while the device under test and the
                                 * sink shared its cores (0.19 Mpps offered of 0.32 asked) */
#define LATE_NS 10000000u       /* paced: a stall is caught up to this much, no more */
#define TAP_MAX 65535u

static uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until_abs(uint64_t t) { /* CLOCK_MONOTONIC, as now_ns() */
  struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static void nap(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

static inline uint16_t get16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t get32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t get64(const uint8_t *b) { return (uint64_t)get32(b) << 32 | get32(b + 4); }
static inline void put16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }
static inline void put32(uint8_t *b, uint32_t v) { put16(b, (uint16_t)(v >> 16)); put16(b + 2, (uint16_t)v); }
static inline void put64(uint8_t *b, uint64_t v) { put32(b, (uint32_t)(v >> 32)); put32(b + 4, (uint32_t)v); }

/* The low 24 bits of a MAC address (its last 3 bytes at b) plus f, modulo 2^24. */
static inline void add24(uint8_t *b, uint32_t f) {
  uint32_t v = ((uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2]) + f;
  b[0] = (uint8_t)(v >> 16); b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)v;
}

/* IPv4 (IHL 5, no VLAN tag) carrying UDP. */
static int is_ipv4_udp(const uint8_t *d, uint32_t len) {
  return len >= 42 && d[12] == 0x08 && d[13] == 0x00 && d[14] == 0x45 && d[23] == 17;
}

int traffic_prepare(port_t *p, traffic_spec_t *s, char *msg, size_t cap) {
#define FAIL(...) do { snprintf(msg, cap, "generateTraffic: " __VA_ARGS__); return -1; } while (0)
  if (s->ntpl == 0) FAIL("templates must be a non-empty array of Uint8Array");
  if (s->flows < 1) FAIL("flows must be at least 1");
  if (s->addresses < 1) FAIL("addresses must be at least 1");
  if (s->vary & ~(uint32_t)(VARY_IP | VARY_SMAC | VARY_DMAC))
    FAIL("vary must be a combination of the bits 1 (IPv4 source + UDP port), 2 (source MAC), 4 (destination MAC)");
  if (!s->count && !s->duration_ns) FAIL("give count or durationMs (or both); with neither it would never stop");
  uint32_t max = p->kind == PORT_TAP ? TAP_MAX : TX_DATA_MAX;
  int ipudp = (s->vary & VARY_IP) || s->stamp;
  for (uint32_t k = 0; k < s->ntpl; k++) {
    traffic_tpl_t *t = &s->tpl[k];
    const uint8_t *d = t->data;
    if (t->len < 60)
      FAIL("templates[%u] is %u bytes; a template is a whole Ethernet frame without FCS, at least 60 bytes", k, t->len);
    if (t->len > max)
      FAIL("templates[%u] is %u bytes; a %s frame holds at most %u", k, t->len,
           p->kind == PORT_TAP ? "TAP" : "TX ring", max);
    if (p->kind == PORT_AFPACKET && !afp_fits(p, d, t->len))
      FAIL("templates[%u] is %u bytes, longer than the MTU of %s (%u) allows", k, t->len, p->ifname,
           p->tx_mtu);
    if (ipudp && !is_ipv4_udp(d, t->len))
      FAIL("templates[%u] is not IPv4 (20-byte header, no VLAN tag) carrying UDP, which %s needs", k,
           s->vary & VARY_IP ? "vary&1" : "stamp");
    if (s->stamp && (get16(d + 16) < 20 + 8 + STAMP_LEN || get16(d + 38) < 8 + STAMP_LEN))
      FAIL("templates[%u]: its IPv4/UDP lengths leave no room for the %u-byte stamp at offset %u", k,
           STAMP_LEN, STAMP_OFF);
    if (ipudp) {
      t->src = get32(d + 26);
      t->sport = get16(d + 34);
      uint32_t sum = 0;
      for (uint32_t o = 14; o < 34; o += 2)
        if (o != 24 && o != 26 && o != 28) sum += get16(d + o); /* not the checksum, not the source */
      t->ipsum = sum;
    }
  }
  if (s->order) {
    if (s->norder == 0) FAIL("order must not be empty");
    for (uint32_t i = 0; i < s->norder; i++)
      if (s->order[i] >= s->ntpl)
        FAIL("order[%u] is %u, but there are only %u templates", i, s->order[i], s->ntpl);
  }
  return 0;
#undef FAIL
}

/* ---- generator ---- */

typedef struct gen gen_t;
struct gen {
  port_t *p;
  const traffic_spec_t *s;
  uint32_t oi;                /* next position in order (or next template) */
  uint32_t f, fa, fb;         /* the next packet's flow, f % addresses, f / addresses */
  uint64_t seq;               /* index of the next packet built */
  uint64_t handed;            /* packets handed to the kernel (ring) or written (TAP), or failed */
  uint64_t bytes;             /* their bytes */
  uint64_t lost, lost_bytes;  /* of those: WRONG_FORMAT (ring) or write errors (TAP) */
  uint8_t *scratch;           /* TAP: the frame being written */
  uint32_t scratch_len;
  int pending;                /* TAP: scratch holds a frame the TAP has not taken yet */
  int stop;                   /* the interface went away */
  int burst_start;            /* the next frame built is the first of its burst */
  /* hand up to n frames stamped ts to the kernel; returns how many were handed */
  uint32_t (*burst)(gen_t *g, uint32_t n, uint64_t ts);
};

/* Build the next packet into d (stamped ts) and step the cursor; returns its length. */
static uint32_t build(gen_t *g, uint8_t *d, uint64_t ts) {
  const traffic_spec_t *s = g->s;
  const traffic_tpl_t *t = &s->tpl[s->order ? s->order[g->oi] : g->oi];
  memcpy(d, t->data, t->len);
  if (s->vary & VARY_IP) {
    uint32_t src = t->src + g->fa;
    uint32_t sum = t->ipsum + (src >> 16) + (src & 0xffff);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    put32(d + 26, src);
    put16(d + 24, (uint16_t)~sum);
    put16(d + 34, (uint16_t)(t->sport + g->fb));
  }
  if ((s->vary & VARY_IP) || s->stamp) put16(d + 40, 0); /* no UDP checksum */
  if (s->vary & VARY_SMAC) add24(d + 9, g->f);
  if (s->vary & VARY_DMAC) add24(d + 3, g->f);
  if (s->stamp) {
    put32(d + STAMP_OFF, g->burst_start ? STAMP_MAGIC_LAT : STAMP_MAGIC);
    g->burst_start = 0;
    put32(d + STAMP_OFF + 4, (uint32_t)g->seq);
    put64(d + STAMP_OFF + 8, ts);
  }
  g->seq++;
  if (++g->oi == (s->order ? s->norder : s->ntpl)) g->oi = 0;
  if (++g->f == s->flows) g->f = g->fa = g->fb = 0;
  else if (++g->fa == s->addresses) { g->fa = 0; g->fb++; }
  return t->len;
}

static inline struct tpacket2_hdr *tx_hdr(port_t *p, uint32_t i) {
  return (struct tpacket2_hdr *)(p->tx_ring + (size_t)i * RING_FRAME_SIZE);
}

static uint32_t afp_burst(gen_t *g, uint32_t n, uint64_t ts) {
  port_t *p = g->p;
  uint32_t q = 0;
  g->burst_start = 1;
  while (q < n) {
    struct tpacket2_hdr *h = tx_hdr(p, p->tx_head);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (st & TP_STATUS_WRONG_FORMAT) { /* the kernel refused the frame sent from here before */
      g->lost++;
      g->lost_bytes += h->tp_len;
    } else if (st != TP_STATUS_AVAILABLE) {
      break;
    }
    h->tp_len = build(g, (uint8_t *)h + TX_DATA_OFFSET, ts);
    g->bytes += h->tp_len;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    p->tx_head = (p->tx_head + 1) & (p->tx_frames - 1);
    q++;
  }
  /* kick also when the ring was full: frames the kernel left (socket buffer full) go now */
  int e = afp_kick(p);
  if (e == ENETDOWN || e == ENXIO) g->stop = 1;
  g->handed += q;
  return q;
}

static uint32_t tap_burst(gen_t *g, uint32_t n, uint64_t ts) {
  uint32_t done = 0;
  g->burst_start = !g->pending;
  while (done < n) {
    if (!g->pending) {
      g->scratch_len = build(g, g->scratch, ts);
      g->pending = 1;
    }
    ssize_t r = write(g->p->tx_fd, g->scratch, g->scratch_len);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r < 0 && errno == EINTR) continue;
    g->pending = 0;
    g->handed++;
    g->bytes += g->scratch_len;
    if (r < 0) { /* EIO when the device is down...: dropped, not sent */
      g->lost++;
      g->lost_bytes += g->scratch_len;
    }
    done++;
  }
  return done;
}

/* Flat out: bursts of everything that fits, waiting for free frames when none does. */
static void run_flat(gen_t *g, uint64_t limit, uint64_t end) {
  port_t *p = g->p;
  uint32_t most = p->kind == PORT_TAP ? 64 : p->tx_frames;
  while (g->handed < limit && !g->stop) {
    uint64_t left = limit - g->handed;
    uint32_t n = left < most ? (uint32_t)left : most;
    if (!g->burst(g, n, g->s->stamp ? real_ns() : 0)) {
      if (p->kind == PORT_TAP) {
        struct pollfd pf = {p->tx_fd, POLLOUT, 0};
        poll(&pf, 1, 1);
      } else {
        gen_wait_tx_free(p);
      }
    }
    if (end != UINT64_MAX && now_ns() >= end) break;
  }
}

/* Paced: burst k goes at t0 + k*P and brings the total up to round((k+1) * pps*P) frames, so
 * the fractions carry over and the long-run rate is exact. When a burst is later than LATE_NS
 * (the process was descheduled on a busy core), only the last LATE_NS of traffic is caught up
 * and the schedule moves on by the rest of the stall, so a long stall never turns into a
 * flood the device under test was not offered at the asked rate; those frames are not sent
 * (sent/ns shows it). The run ends at the end of its last period, so sent/ns is the rate. */
static void run_paced(gen_t *g, uint64_t limit, uint64_t t0, uint64_t end) {
  double period = BURST_FRAMES * 1e9 / g->s->pps;
  if (period < MIN_PERIOD_NS) period = MIN_PERIOD_NS;
  if (period > MAX_PERIOD_NS) period = MAX_PERIOD_NS;
  if (1e9 / g->s->pps > period) period = 1e9 / g->s->pps; /* slower than 1 kpps: a frame per period */
  double per = g->s->pps * period / 1e9; /* frames per period, with a fraction */
  uint64_t base = t0, last = t0, k = 0;
  int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  while (g->handed < limit && !g->stop) {
    uint64_t t = base + (uint64_t)((double)k * period);
    if (t >= end) break;
    sleep_until_abs(t);
    uint64_t now = now_ns();
    if (now > t + LATE_NS) { /* shift the schedule: only the last LATE_NS are caught up */
      base += now - LATE_NS - t;
      t = now - LATE_NS;
    }
    uint64_t due = (uint64_t)llround((double)(k + 1) * per);
    if (due > limit) due = limit;
    if (due > g->handed) {
      uint64_t n = due - g->handed;
      g->burst(g, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, g->s->stamp ? real_ns() : 0);
    }
    last = t;
    k++;
  }
  if (!g->stop) {
    uint64_t fin = last + (uint64_t)period;
    sleep_until_abs(fin < end ? fin : end);
  }
  if (slack > 0) prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
}

int traffic_gen(port_t *p, const traffic_spec_t *s, traffic_gen_result_t *out) {
  gen_t g;
  memset(&g, 0, sizeof g);
  g.p = p;
  g.s = s;
  g.burst = p->kind == PORT_TAP ? tap_burst : afp_burst;
  if (p->kind == PORT_TAP && !(g.scratch = malloc(TAP_MAX))) return ENOMEM;
  uint64_t t0 = now_ns();
  uint64_t end = s->duration_ns ? t0 + s->duration_ns : UINT64_MAX;
  uint64_t limit = s->count ? s->count : UINT64_MAX;
  if (s->pps > 0) run_paced(&g, limit, t0, end);
  else run_flat(&g, limit, end);
  uint64_t back = 0, back_bytes = 0;
  if (p->kind == PORT_AFPACKET) back = gen_flush_tx(p, &back_bytes);
  free(g.scratch);
  out->sent = g.handed - g.lost - back;
  out->bytes = g.bytes - g.lost_bytes - back_bytes;
  out->ns = now_ns() - t0;
  p->st.tx_frames += out->sent;
  p->st.tx_bytes += out->bytes;
  return 0;
}

/* ---- sink ---- */

/* Latency histogram bucket of v ns (LAT_BUCKETS = 608 buckets; TypeScript decodes this):
 *   v < 16:  idx = v
 *   else:    e = floor(log2(v)) (>= 4), m = (v >> (e - 4)) & 15, idx = (e - 3) * 16 + m,
 *            clamped to 607.
 * Bucket idx >= 16 covers [(16 + m) << (e - 4), (17 + m) << (e - 4)): 16 buckets per power of
 * two (at most 1/16 = 6.25% wide), up to 2^41 ns (~37 minutes). */
uint32_t lat_bucket(uint64_t v) {
  if (v < 16) return (uint32_t)v;
  uint32_t e = 63u - (uint32_t)__builtin_clzll(v);
  uint32_t idx = (e - 3) * 16 + (uint32_t)((v >> (e - 4)) & 15);
  return idx < LAT_BUCKETS ? idx : LAT_BUCKETS - 1;
}

typedef struct {
  traffic_sink_result_t *o;
  uint32_t max_seq;
  int have_seq;
} sink_t;

/* One received frame: d/snap the bytes at hand, len its length, rx its receive time
 * (CLOCK_REALTIME ns), off = CLOCK_REALTIME - CLOCK_MONOTONIC. Returns 1 if it was stamped. */
static int account(sink_t *k, const uint8_t *d, uint32_t snap, uint32_t len, uint64_t rx,
                   uint64_t off) {
  traffic_sink_result_t *o = k->o;
  o->frames++;
  o->bytes += len;
  uint32_t magic = snap >= STAMP_OFF + STAMP_LEN && is_ipv4_udp(d, snap) ? get32(d + STAMP_OFF) : 0;
  if (magic != STAMP_MAGIC && magic != STAMP_MAGIC_LAT) return 0;
  o->stamped++;
  o->stamped_bytes += len;
  uint32_t seq = get32(d + STAMP_OFF + 4);
  if (!k->have_seq) {
    k->have_seq = 1;
    k->max_seq = seq;
  } else if ((int32_t)(seq - k->max_seq) < 0) { /* serial-number order: survives the wrap */
    o->reordered++;
  } else {
    k->max_seq = seq;
  }
  uint64_t mono = rx - off;
  if (o->stamped == 1) o->first_ns = mono;
  o->last_ns = mono;
  if (o->hist && magic == STAMP_MAGIC_LAT) {
    uint64_t tx = get64(d + STAMP_OFF + 8), lat = 0;
    if (rx >= tx) lat = rx - tx;
    else o->lat_negative++; /* the clock stepped back between the two */
    if (!o->lat_count || lat < o->lat_min) o->lat_min = lat;
    if (lat > o->lat_max) o->lat_max = lat;
    o->lat_count++;
    o->lat_sum += lat;
    o->hist[lat_bucket(lat)] += 1;
  }
  return 1;
}

/* How long to wait at most: until the end, or until idle has passed since the last stamped frame. */
static uint64_t wait_left(uint64_t now, uint64_t end, uint64_t idle, uint64_t last_seen) {
  uint64_t w = end - now;
  if (idle && last_seen && last_seen + idle - now < w) w = last_seen + idle - now;
  return w;
}

/* Wait up to w ns for frames: a nap of at most nap_ns, or (nap_ns 0) ppoll() on fd. */
static void wait_rx(int fd, uint64_t w, uint64_t nap_ns) {
  if (nap_ns) {
    nap(w < nap_ns ? w : nap_ns);
    return;
  }
  if (w > 10000000u) w = 10000000u;
  struct pollfd pf = {fd, POLLIN, 0};
  struct timespec ts = {0, (long)w};
  ppoll(&pf, 1, &ts, NULL);
}

static int sink_tap_traffic(port_t *p, uint64_t end, uint64_t idle, uint64_t nap_ns,
                            traffic_sink_result_t *o) {
  static __thread uint8_t buf[65536]; /* contents are looked at, then thrown away */
  sink_t k = {o, 0, 0};
  uint64_t last_seen = 0;
  if (o->hist) nap_ns = 0; /* no kernel stamp: the read time is the receive time */
  for (;;) {
    ssize_t r = read(p->rx_fd, buf, sizeof buf);
    uint64_t now = now_ns();
    if (r > 0) {
      uint64_t rx = real_ns();
      if (account(&k, buf, (uint32_t)r, (uint32_t)r, rx, rx - now)) last_seen = now;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (now >= end || (idle && last_seen && now - last_seen >= idle)) break;
    wait_rx(p->rx_fd, wait_left(now, end, idle, last_seen), nap_ns);
  }
  p->st.rx_frames += o->frames;
  p->st.rx_bytes += o->bytes;
  return 0;
}

int traffic_sink(port_t *p, uint32_t duration_ms, uint32_t idle_ms, uint32_t nap_us,
                 traffic_sink_result_t *o) {
  double *hist = o->hist;
  memset(o, 0, sizeof *o);
  o->hist = hist;
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)duration_ms * 1000000u;
  uint64_t idle = (uint64_t)idle_ms * 1000000u, nap_ns = (uint64_t)nap_us * 1000u, last_seen = 0;
  if (p->kind == PORT_TAP) return sink_tap_traffic(p, end, idle, nap_ns, o);
  sink_t k = {o, 0, 0};
  for (;;) {
    uint64_t off = real_ns() - now_ns(); /* to turn the kernel's stamps into CLOCK_MONOTONIC */
    uint32_t got = 0, stamped = 0;
    struct tpacket2_hdr *h;
    while (got < p->rx_frames && (h = gen_rx_peek(p))) {
      uint32_t snap = h->tp_snaplen;
      if (h->tp_mac >= RING_FRAME_SIZE) snap = 0;
      else if (h->tp_mac + snap > RING_FRAME_SIZE) snap = RING_FRAME_SIZE - h->tp_mac;
      uint64_t rx = h->tp_sec ? (uint64_t)h->tp_sec * 1000000000u + h->tp_nsec : real_ns();
      stamped += (uint32_t)account(&k, (const uint8_t *)h + h->tp_mac, snap, h->tp_len, rx, off);
      gen_rx_release(p);
      got++;
    }
    uint64_t now = now_ns();
    if (stamped) last_seen = now;
    if (now >= end || (idle && last_seen && now - last_seen >= idle)) break;
    if (got == p->rx_frames) continue; /* a whole ring's worth: there may be more already */
    wait_rx(p->rx_fd, wait_left(now, end, idle, last_seen), nap_ns);
  }
  p->st.rx_frames += o->frames;
  p->st.rx_bytes += o->bytes;
  return 0;
}
