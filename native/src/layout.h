/* layout.h — the few structs the addon's files share: the pool JS registered, a port
 * (AF_PACKET socket pair with mmap'd TPACKET_V2 rings, or a TAP fd) and its counters.
 *
 * The addon is small and dumb (DESIGN.md points 1, 6, 8): it moves bursts of frames between
 * kernel rings / fds and pool slots, one N-API call per burst, and allocates nothing per
 * packet. Everything here is plain data; the functions that act on it live in ring.c (AF_PACKET),
 * tap.c (TAP), unixdgram.c (unix datagram sockets), offload.c (virtio-net header: checksum completion, software GSO),
 * poll.c (readiness), link.c (interface facts), gen.c (ring helpers for traffic.c), traffic.c
 * (the benchmark generator and sink), addon.c (N-API glue).
 */
#ifndef SWITCHYARD_LAYOUT_H
#define SWITCHYARD_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/virtio_net.h>
#include <node_api.h>
#include <uv.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Ring geometry. TPACKET_V2 frames of 2048 bytes: an RX frame holds the tpacket2_hdr, the
 * sockaddr_ll, the virtio_net_hdr and 1972 bytes of an untagged Ethernet frame; a TX frame
 * holds 2048 - 32 = 2016 bytes of frame data. */
#define RING_FRAME_SIZE 2048u
#define TX_DATA_OFFSET 32u /* TPACKET2_HDRLEN - sizeof(struct sockaddr_ll) */
#define TX_DATA_MAX (RING_FRAME_SIZE - TX_DATA_OFFSET)

/* A frame that arrives through the socket queue (TP_STATUS_COPY: it did not fit a ring frame,
 * e.g. a 64 KiB GSO super-frame) is read whole into this per-port buffer. */
#define PENDING_CAP (128u * 1024u)

/* The one packet pool. Slot s spans [s*slot_size, (s+1)*slot_size); a received frame is
 * written at s*slot_size + headroom. */
typedef struct {
  uint8_t *base;
  size_t bytes;
  uint32_t slot_size;
  uint32_t headroom;
  uint32_t cap;     /* slot_size - headroom: the largest frame a slot holds */
  uint32_t nslots;
  uint32_t *start;  /* start[s]: absolute byte offset of the frame in the pool */
  uint16_t *length; /* length[s] */
  napi_ref ref_buffer, ref_start, ref_length;
} pool_t;

typedef struct {
  uint64_t rx_frames, rx_bytes, rx_kernel_drops, rx_oversize;
  uint64_t rx_gso_frames, rx_gso_segments, rx_gso_errors, rx_csum_completed, rx_errors;
  uint64_t tx_frames, tx_bytes, tx_ring_full, tx_errors;
} port_stats_t;

enum { PORT_AFPACKET = 1, PORT_TAP = 2, PORT_UNIX_DGRAM = 3 };

typedef struct port {
  int kind;
  char ifname[IF_NAMESIZE];
  int ifindex;
  int rx_fd;  /* AF_PACKET RX socket (ETH_P_ALL, RX ring, vnet hdr); the TAP fd for TAP */
  int tx_fd;  /* AF_PACKET TX socket (protocol 0, TX ring); the TAP fd for TAP */
  int created; /* TAP: the switch created the device */

  uint8_t *rx_ring; size_t rx_ring_bytes; uint32_t rx_frames, rx_head;
  uint8_t *tx_ring; size_t tx_ring_bytes; uint32_t tx_frames, tx_head;
  uint32_t tx_mtu; /* the device MTU, cached; refreshed when a frame looks too long */

  /* Copy path: one frame read with recvmsg() and not yet handed to JS. */
  uint8_t *pend;         /* PENDING_CAP bytes, allocated on first use */
  uint32_t pend_len;     /* frame bytes after the virtio_net_hdr; 0 = empty */
  int pend_has_tag;
  uint8_t pend_tag[4];
  struct virtio_net_hdr pend_vh;

  struct poller *poller; /* readiness (poll.c); NULL when not polling */
  struct udg *udg;       /* unix datagram port state (unixdgram.c); NULL for other kinds */

  port_stats_t st;
} port_t;

/* ---- ring.c ---- */
/* Each open function returns 0, or an errno with *what naming the failing step. */
int afp_open(port_t *p, const char *ifname, int promisc, int qdisc_bypass,
             uint32_t rx_frames, uint32_t tx_frames, const char **what);
void afp_close(port_t *p);
uint32_t afp_rx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n);
uint32_t afp_tx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n);
long afp_send(port_t *p, const uint8_t *frame, size_t len); /* bytes or -errno */
void afp_update_stats(port_t *p);
int afp_kick(port_t *p); /* 0 or errno */
int afp_fits(port_t *p, const uint8_t *frame, uint32_t len); /* the kernel takes it from a TX ring */
void afp_release_rx(uint8_t *frame);

/* ---- tap.c ---- */
int tap_open(port_t *p, const char *ifname, const char **what);
void tap_close(port_t *p);
uint32_t tap_rx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n);
uint32_t tap_tx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n);
long tap_send(port_t *p, const uint8_t *frame, size_t len);

/* ---- unixdgram.c ---- */
/* A unix datagram socket bound at path (QEMU's -netdev dgram); replies go to the last sender. */
int udg_open(port_t *p, const char *path, const char **what);
void udg_close(port_t *p);
uint32_t udg_rx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n);
uint32_t udg_tx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n);
long udg_send(port_t *p, const uint8_t *frame, size_t len);
const char *udg_path(const port_t *p);
/* The peer's address as text (a path, or "@name" for an abstract one) into buf; 0 if none yet. */
int udg_peer(const port_t *p, char *buf, size_t cap);
uint64_t udg_tx_no_peer(const port_t *p);
uint64_t udg_peer_changes(const port_t *p);

/* ---- offload.c ---- */
/* Deliver one received frame into pool slots (the single copy). src/len: the frame as the
 * kernel gave it; tag: 4 bytes (TPID, TCI) to reinsert after the MAC addresses, or NULL;
 * vh: its virtio_net_hdr, or NULL. slots: the slots left in this call (avail of them); total:
 * the n of the whole call. Returns the number of slots filled (>= 1), 0 when the frame was
 * dropped (and counted), or -1 when it needs more than avail slots (leave it for next call). */
int off_deliver(port_t *p, pool_t *pool, const uint8_t *src, uint32_t len, const uint8_t *tag,
                const struct virtio_net_hdr *vh, const uint32_t *slots, uint32_t avail,
                uint32_t total);
/* Internet checksum helpers (RFC 1071), byte-order independent partial sums. */
uint64_t csum_add(uint64_t sum, const void *data, size_t len);
uint16_t csum_fold(uint64_t sum); /* returns ~folded sum, ready to store as-is */

/* ---- poll.c ---- */
int poll_start(port_t *p, napi_env env, napi_value cb);
void poll_stop(port_t *p);
void poll_drop(port_t *p); /* at env teardown: no N-API calls */

/* ---- link.c ---- */
typedef struct { int ifindex; uint8_t mac[6]; int mtu; int up; } link_info_t;
int link_get(const char *ifname, link_info_t *li, const char **what);
int link_set_up(const char *ifname);

/* ---- gen.c (TX/RX ring helpers for traffic.c) ---- */
uint64_t now_ns(void); /* CLOCK_MONOTONIC */
void gen_wait_tx_free(port_t *p);
uint64_t gen_flush_tx(port_t *p, uint64_t *bytes_back);
struct tpacket2_hdr *gen_rx_peek(port_t *p); /* the next received ring frame, or NULL */
void gen_rx_release(port_t *p);

/* ---- traffic.c ---- */
/* One template of generateTraffic(): the frame (JS memory, read only) and what prepare()
 * learnt from it for vary&1: the IPv4 source, the UDP source port, and the ones' complement
 * sum of the IPv4 header words other than the checksum and the source address. */
typedef struct {
  const uint8_t *data;
  uint32_t len;
  uint32_t src;
  uint16_t sport;
  uint32_t ipsum;
} traffic_tpl_t;

enum { VARY_IP = 1, VARY_SMAC = 2, VARY_DMAC = 4 };

typedef struct {
  traffic_tpl_t *tpl;
  uint32_t ntpl;
  const uint16_t *order; /* NULL: template i % ntpl */
  uint32_t norder;
  uint32_t flows, vary, addresses;
  int stamp;
  uint64_t count;       /* 0: no limit */
  double pps;           /* 0: flat out */
  uint64_t duration_ns; /* 0: no limit */
} traffic_spec_t;

typedef struct { uint64_t sent, bytes, ns; } traffic_gen_result_t;

/* Latency histogram: LAT_BUCKETS counts, see lat_bucket() in traffic.c for the scheme. */
#define LAT_BUCKETS 608

typedef struct {
  uint64_t frames, bytes, stamped, stamped_bytes, reordered, first_ns, last_ns;
  uint64_t lat_count, lat_min, lat_max, lat_sum, lat_negative;
  double *hist; /* LAT_BUCKETS counts to add to, or NULL: no latency */
} traffic_sink_result_t;

/* Checks the spec against the port and fills in the template facts: 0, or -1 with msg set. */
int traffic_prepare(port_t *p, traffic_spec_t *s, char *msg, size_t cap);
int traffic_gen(port_t *p, const traffic_spec_t *s, traffic_gen_result_t *out); /* 0 or errno */
int traffic_sink(port_t *p, uint32_t duration_ms, uint32_t idle_ms, uint32_t nap_us,
                 traffic_sink_result_t *out);
uint32_t lat_bucket(uint64_t ns);

#endif
