/* ring.c — an AF_PACKET port: two sockets with mmap'd TPACKET_V2 rings on one interface.
 *
 * RX socket: SOCK_RAW, bound with ETH_P_ALL to the ifindex, RX ring of 2048-byte frames.
 *   PACKET_IGNORE_OUTGOING: it never sees what is transmitted on the interface (ours or
 *   anyone's), so the switch does not hear itself. PACKET_VNET_HDR: each frame comes with a
 *   virtio_net_hdr (GSO / checksum state, acted on in offload.c). PACKET_COPY_THRESH: a frame
 *   too big for a ring frame (a 64 KiB GSO frame, a jumbo frame) is also queued whole on the
 *   socket and its truncated ring frame carries TP_STATUS_COPY; we then recvmsg() it.
 *   PACKET_AUXDATA: on that path the stripped VLAN tag comes in a cmsg.
 *   It is created with protocol 0 and bound with ETH_P_ALL only once the ring exists, so no
 *   frame of another interface ever lands in its queue.
 * TX socket: SOCK_RAW, protocol 0 (it receives nothing), TX ring. tx() fills frames and kicks
 *   once per burst with sendto(MSG_DONTWAIT). PACKET_LOSS makes the kernel skip a malformed
 *   frame instead of stalling the ring on it (frames are checked here first anyway).
 * send() uses the RX socket (a socket with a TX ring ignores send()'s data), prefixing an
 * all-zero virtio_net_hdr because the socket has PACKET_VNET_HDR.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include "layout.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define RX_SOCKBUF (8 * 1024 * 1024)
#define TX_SOCKBUF (4 * 1024 * 1024)
#define VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

static inline uint32_t status_load(const volatile uint32_t *s) {
  return __atomic_load_n(s, __ATOMIC_ACQUIRE);
}
static inline void status_store(volatile uint32_t *s, uint32_t v) {
  __atomic_store_n(s, v, __ATOMIC_RELEASE);
}

void afp_release_rx(uint8_t *frame) {
  status_store(&((struct tpacket2_hdr *)frame)->tp_status, TP_STATUS_KERNEL);
}

static int setopt(int fd, int level, int name, int val, const char *what, const char **w) {
  if (setsockopt(fd, level, name, &val, sizeof val) < 0) {
    *w = what;
    return errno;
  }
  return 0;
}

/* Ring of `frames` frames, in blocks of up to 64 frames (128 KiB). */
static int make_ring(int fd, int which, uint32_t frames, uint8_t **ring, size_t *bytes) {
  struct tpacket_req req;
  uint32_t per_block = frames < 64 ? frames : 64;
  req.tp_frame_size = RING_FRAME_SIZE;
  req.tp_block_size = per_block * RING_FRAME_SIZE;
  req.tp_block_nr = frames / per_block;
  req.tp_frame_nr = frames;
  if (setsockopt(fd, SOL_PACKET, which, &req, sizeof req) < 0) return errno;
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) return errno;
  *ring = m;
  *bytes = len;
  return 0;
}

static int bind_if(int fd, int ifindex, uint16_t proto) {
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(proto);
  sll.sll_ifindex = ifindex;
  return bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0 ? errno : 0;
}

static int open_rx(port_t *p, int promisc, uint32_t frames, const char **w) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e;
  if (fd < 0) { *w = "socket"; return errno; }
  p->rx_fd = fd;
  if ((e = setopt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION", w)) ||
      (e = setopt(fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", w)) ||
      (e = setopt(fd, SOL_PACKET, PACKET_AUXDATA, 1, "PACKET_AUXDATA", w)) ||
      (e = setopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING", w)) ||
      (e = setopt(fd, SOL_PACKET, PACKET_COPY_THRESH, 1, "PACKET_COPY_THRESH", w)))
    return e;
  if (setopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RX_SOCKBUF, "SO_RCVBUFFORCE", w) &&
      (e = setopt(fd, SOL_SOCKET, SO_RCVBUF, RX_SOCKBUF, "SO_RCVBUF", w)))
    return e;
  if ((e = make_ring(fd, PACKET_RX_RING, frames, &p->rx_ring, &p->rx_ring_bytes))) {
    *w = "PACKET_RX_RING";
    return e;
  }
  p->rx_frames = frames;
  if ((e = bind_if(fd, p->ifindex, ETH_P_ALL))) { *w = "bind"; return e; }
  if (promisc) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = p->ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
      *w = "PACKET_ADD_MEMBERSHIP";
      return errno;
    }
  }
  return 0;
}

static int open_tx(port_t *p, int qdisc_bypass, uint32_t frames, const char **w) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e;
  if (fd < 0) { *w = "socket"; return errno; }
  p->tx_fd = fd;
  if ((e = setopt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION", w)) ||
      (e = setopt(fd, SOL_PACKET, PACKET_LOSS, 1, "PACKET_LOSS", w)))
    return e;
  if (qdisc_bypass &&
      (e = setopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS", w)))
    return e;
  if (setopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, TX_SOCKBUF, "SO_SNDBUFFORCE", w) &&
      (e = setopt(fd, SOL_SOCKET, SO_SNDBUF, TX_SOCKBUF, "SO_SNDBUF", w)))
    return e;
  if ((e = make_ring(fd, PACKET_TX_RING, frames, &p->tx_ring, &p->tx_ring_bytes))) {
    *w = "PACKET_TX_RING";
    return e;
  }
  p->tx_frames = frames;
  if ((e = bind_if(fd, p->ifindex, 0))) { *w = "bind"; return e; }
  return 0;
}

static void refresh_mtu(port_t *p) {
  link_info_t li;
  const char *w;
  if (link_get(p->ifname, &li, &w) == 0 && li.mtu > 0) p->tx_mtu = (uint32_t)li.mtu;
}

/* The kernel drops (PACKET_LOSS) a TX ring frame longer than mtu + 14, or mtu + 18 when it
 * carries an 802.1Q tag; check first so that such frames count as txErrors, not as sent. */
static inline uint32_t tx_limit(const port_t *p, const uint8_t *f, uint32_t len) {
  uint32_t max = p->tx_mtu + 14;
  if (len >= 14 && f[12] == 0x81 && f[13] == 0x00) max += 4;
  return max < TX_DATA_MAX ? max : TX_DATA_MAX;
}

int afp_fits(port_t *p, const uint8_t *f, uint32_t len) {
  if (len < 14) return 0;
  if (len <= tx_limit(p, f, len)) return 1;
  refresh_mtu(p); /* the MTU may have grown; rare, so the ioctls are fine here */
  return len <= tx_limit(p, f, len);
}

int afp_open(port_t *p, const char *ifname, int promisc, int qdisc_bypass, uint32_t rx_frames,
             uint32_t tx_frames, const char **what) {
  int e;
  p->kind = PORT_AFPACKET;
  p->rx_fd = p->tx_fd = -1;
  if (strlen(ifname) >= IF_NAMESIZE || !(p->ifindex = (int)if_nametoindex(ifname))) {
    *what = "if_nametoindex";
    return ENODEV;
  }
  strcpy(p->ifname, ifname);
  if ((e = open_rx(p, promisc, rx_frames, what))) return e;
  if ((e = open_tx(p, qdisc_bypass, tx_frames, what))) return e;
  p->tx_mtu = 1500;
  refresh_mtu(p);
  return 0;
}

void afp_close(port_t *p) {
  if (p->rx_ring) munmap(p->rx_ring, p->rx_ring_bytes);
  if (p->tx_ring) munmap(p->tx_ring, p->tx_ring_bytes);
  if (p->rx_fd >= 0) close(p->rx_fd); /* also drops the PACKET_MR_PROMISC membership */
  if (p->tx_fd >= 0) close(p->tx_fd);
  p->rx_ring = p->tx_ring = NULL;
  p->rx_fd = p->tx_fd = -1;
  free(p->pend);
  p->pend = NULL;
}

/* Read the frame announced by a TP_STATUS_COPY ring frame into the pending buffer. */
static void read_copy(port_t *p) {
  if (!p->pend && !(p->pend = malloc(PENDING_CAP))) {
    p->st.rx_errors++;
    return;
  }
  union {
    struct cmsghdr h;
    uint8_t b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } cbuf;
  struct virtio_net_hdr vh;
  struct iovec iov[2] = {{&vh, VNET_LEN}, {p->pend, PENDING_CAP}};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = &cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t r = recvmsg(p->rx_fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) p->st.rx_errors++;
    return;
  }
  if ((size_t)r < VNET_LEN) { p->st.rx_errors++; return; }
  if ((msg.msg_flags & MSG_TRUNC) || (size_t)r > VNET_LEN + PENDING_CAP) {
    if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) p->st.rx_gso_errors++;
    else p->st.rx_oversize++;
    return;
  }
  p->pend_has_tag = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
    struct tpacket_auxdata aux;
    memcpy(&aux, CMSG_DATA(c), sizeof aux);
    if (aux.tp_status & TP_STATUS_VLAN_VALID) {
      uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
      p->pend_tag[0] = (uint8_t)(tpid >> 8); p->pend_tag[1] = (uint8_t)tpid;
      p->pend_tag[2] = (uint8_t)(aux.tp_vlan_tci >> 8); p->pend_tag[3] = (uint8_t)aux.tp_vlan_tci;
      p->pend_has_tag = 1;
    }
  }
  p->pend_vh = vh;
  p->pend_len = (uint32_t)r - VNET_LEN;
}

uint32_t afp_rx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n) {
  uint32_t filled = 0;
  while (filled < n) {
    if (p->pend_len) {
      int r = off_deliver(p, pool, p->pend, p->pend_len, p->pend_has_tag ? p->pend_tag : NULL,
                          &p->pend_vh, slots + filled, n - filled, n);
      if (r < 0) break;
      filled += (uint32_t)r;
      p->pend_len = 0;
      continue;
    }
    uint8_t *f = p->rx_ring + (size_t)p->rx_head * RING_FRAME_SIZE;
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)f;
    uint32_t st = status_load(&h->tp_status);
    if (!(st & TP_STATUS_USER)) break;
    if (st & TP_STATUS_COPY) {
      /* The whole frame is on the socket queue; the ring frame holds a truncated copy. */
      afp_release_rx(f);
      p->rx_head = (p->rx_head + 1) & (p->rx_frames - 1);
      read_copy(p);
      continue;
    }
    if (h->tp_snaplen < h->tp_len || h->tp_mac < VNET_LEN ||
        h->tp_mac + h->tp_snaplen > RING_FRAME_SIZE) {
      p->st.rx_errors++; /* truncated without a copy: the socket's receive buffer was full */
    } else {
      uint8_t tag[4];
      const uint8_t *tagp = NULL;
      if (st & TP_STATUS_VLAN_VALID) {
        uint16_t tpid = (st & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid : 0x8100;
        tag[0] = (uint8_t)(tpid >> 8); tag[1] = (uint8_t)tpid;
        tag[2] = (uint8_t)(h->tp_vlan_tci >> 8); tag[3] = (uint8_t)h->tp_vlan_tci;
        tagp = tag;
      }
      const struct virtio_net_hdr *vh = (const struct virtio_net_hdr *)(f + h->tp_mac - VNET_LEN);
      int r = off_deliver(p, pool, f + h->tp_mac, h->tp_snaplen, tagp, vh, slots + filled,
                          n - filled, n);
      if (r < 0) break; /* leave it in the ring for the next call */
      filled += (uint32_t)r;
    }
    afp_release_rx(f);
    p->rx_head = (p->rx_head + 1) & (p->rx_frames - 1);
  }
  return filled;
}

int afp_kick(port_t *p) {
  if (sendto(p->tx_fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) return errno;
  return 0;
}

/* Frames of this burst still SEND_REQUEST after a failed kick were not taken by the kernel
 * (e.g. the interface is down). They form a run ending at our head (the kernel stops at the
 * first frame it cannot take): take them back so our head and the kernel's agree again. */
static uint32_t reclaim(port_t *p, uint32_t queued, uint64_t *bytes) {
  uint32_t back = 0;
  while (back < queued) {
    p->tx_head = (p->tx_head - 1) & (p->tx_frames - 1);
    struct tpacket2_hdr *h =
        (struct tpacket2_hdr *)(p->tx_ring + (size_t)p->tx_head * RING_FRAME_SIZE);
    if (status_load(&h->tp_status) != TP_STATUS_SEND_REQUEST) {
      p->tx_head = (p->tx_head + 1) & (p->tx_frames - 1);
      break;
    }
    *bytes -= h->tp_len;
    status_store(&h->tp_status, TP_STATUS_AVAILABLE);
    back++;
  }
  return back;
}

uint32_t afp_tx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n) {
  uint32_t done = 0, queued = 0;
  uint64_t bytes = 0;
  for (; done < n; done++) {
    uint32_t s = slots[done], len = pool->length[s];
    size_t off = pool->start[s];
    if (off + len > pool->bytes || len == 0) { p->st.tx_errors++; continue; }
    if (!afp_fits(p, pool->base + off, len)) { p->st.tx_errors++; continue; }
    uint8_t *f = p->tx_ring + (size_t)p->tx_head * RING_FRAME_SIZE;
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)f;
    uint32_t st = status_load(&h->tp_status);
    if (st & TP_STATUS_WRONG_FORMAT) {
      p->st.tx_errors++;
      st = TP_STATUS_AVAILABLE;
    }
    if (st != TP_STATUS_AVAILABLE) {
      p->st.tx_ring_full += n - done;
      break;
    }
    memcpy(f + TX_DATA_OFFSET, pool->base + off, len);
    h->tp_len = len;
    status_store(&h->tp_status, TP_STATUS_SEND_REQUEST);
    p->tx_head = (p->tx_head + 1) & (p->tx_frames - 1);
    queued++;
    bytes += len;
  }
  if (queued) {
    int e = afp_kick(p);
    if (e && e != EAGAIN && e != EWOULDBLOCK && e != ENOBUFS && e != EINTR) {
      /* Not sent at all (ENETDOWN, ENXIO...): count them as errors, not as sent. */
      uint32_t back = reclaim(p, queued, &bytes);
      p->st.tx_errors += back;
      queued -= back;
    }
    p->st.tx_frames += queued;
    p->st.tx_bytes += bytes;
  }
  return done;
}

long afp_send(port_t *p, const uint8_t *frame, size_t len) {
  struct virtio_net_hdr vh;
  memset(&vh, 0, sizeof vh);
  struct iovec iov[2] = {{&vh, VNET_LEN}, {(void *)frame, len}};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  ssize_t r = sendmsg(p->rx_fd, &msg, MSG_DONTWAIT);
  if (r < 0) return -errno;
  return r >= (ssize_t)VNET_LEN ? (long)(r - VNET_LEN) : 0;
}

void afp_update_stats(port_t *p) {
  struct tpacket_stats ts;
  socklen_t l = sizeof ts;
  if (getsockopt(p->rx_fd, SOL_PACKET, PACKET_STATISTICS, &ts, &l) == 0)
    p->st.rx_kernel_drops += ts.tp_drops; /* the kernel resets the counters on each read */
}
