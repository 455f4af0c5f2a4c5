/* offload.c — the single copy from a kernel buffer into pool slots, finishing on the way what
 * the sender left to "hardware".
 *
 * Why: veths and taps hand AF_PACKET 64 KiB GSO super-frames and frames whose L4 checksum is
 * still to be computed (CHECKSUM_PARTIAL). Forwarded as they are, ping works and TCP silently
 * fails. With PACKET_VNET_HDR the kernel prefixes each frame with a struct virtio_net_hdr that
 * says which; here we act on it while copying:
 *   - NEEDS_CSUM on a non-GSO frame: sum [csum_start, end) (the field already holds the
 *     pseudo-header sum) and store the result at csum_start + csum_offset;
 *   - GSO TCPV4 / TCPV6 / UDP_L4: cut the payload into gso_size pieces, one slot each, with
 *     the L2 (incl. VLAN tags), L3 and L4 headers copied and fixed per segment (lengths, IPv4
 *     id and header checksum, TCP seq and flags, full L4 checksum).
 * The headers are parsed here; hdr_len and csum_start of a GSO frame are not trusted.
 * The kernel strips the outer VLAN tag before AF_PACKET sees a frame; the caller passes it in
 * `tag` and it is put back after the MAC addresses, so tagged frames leave as they came.
 */
#include <endian.h>
#include <string.h>
#include <arpa/inet.h>
#include "layout.h"

#define HDR_MAX 256u /* the most header bytes (L2+L3+L4) a GSO frame may carry */

/* RFC 1071 sum of native-order 32-bit loads; folding makes it the 16-bit ones' complement sum
 * in memory order, whatever the host's byte order. Pieces other than the last must be even. */
uint64_t csum_add(uint64_t sum, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len >= 8) {
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + 4, 4);
    sum += (uint64_t)a + b;
    p += 8;
    len -= 8;
  }
  if (len >= 4) { uint32_t a; memcpy(&a, p, 4); sum += a; p += 4; len -= 4; }
  if (len >= 2) { uint16_t a; memcpy(&a, p, 2); sum += a; p += 2; len -= 2; }
  if (len) { uint16_t a = 0; memcpy(&a, p, 1); sum += a; }
  return sum;
}

uint16_t csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static inline uint8_t *slot_data(pool_t *pool, uint32_t s) {
  return pool->base + (size_t)s * pool->slot_size + pool->headroom;
}
static inline void slot_done(port_t *p, pool_t *pool, uint32_t s, uint32_t len) {
  pool->start[s] = s * pool->slot_size + pool->headroom;
  pool->length[s] = (uint16_t)len;
  p->st.rx_frames++;
  p->st.rx_bytes += len;
}

/* Copy len source bytes to d, reinserting the 4-byte tag after the MAC addresses. */
static void copy_tagged(uint8_t *d, const uint8_t *src, uint32_t len, const uint8_t *tag) {
  if (tag) {
    memcpy(d, src, 12);
    memcpy(d + 12, tag, 4);
    memcpy(d + 16, src + 12, len - 12);
  } else {
    memcpy(d, src, len);
  }
}

/* Where the headers of a GSO frame are, in the frame as it will be (tag reinserted). */
typedef struct {
  uint32_t l3, l4, hlen, end; /* end: one past the last byte IP says is the packet's */
  uint32_t ihl;               /* IPv4 header length; 0 for IPv6 */
  int proto;                  /* 6 or 17 */
} hdrs_t;

static int parse_headers(const uint8_t *h, uint32_t avail, uint32_t flen, hdrs_t *o) {
  uint32_t off = 12, l4;
  uint16_t et;
  int tags = 0, proto;
  for (;;) {
    if (off + 2 > avail) return -1;
    et = rd16(h + off);
    if (et != 0x8100 && et != 0x88a8 && et != 0x9100) break;
    if (++tags > 4) return -1;
    off += 4;
  }
  off += 2;
  o->l3 = off;
  if (et == 0x0800) {
    if (off + 20 > avail || h[off] >> 4 != 4) return -1;
    uint32_t ihl = (h[off] & 15u) * 4;
    uint32_t tot = rd16(h + off + 2);
    if (ihl < 20 || off + ihl > avail) return -1;
    if (rd16(h + off + 6) & 0x3fff) return -1; /* a fragment */
    if (tot < ihl || off + tot > flen) return -1; /* tot 0 (BIG TCP) is not supported */
    o->end = off + tot;
    o->ihl = ihl;
    proto = h[off + 9];
    l4 = off + ihl;
  } else if (et == 0x86dd) {
    if (off + 40 > avail || h[off] >> 4 != 6) return -1;
    uint32_t plen = rd16(h + off + 4);
    if (plen == 0 || off + 40 + plen > flen) return -1; /* 0: jumbogram */
    o->end = off + 40 + plen;
    o->ihl = 0;
    proto = h[off + 6];
    l4 = off + 40;
    while (proto == 0 || proto == 60) { /* hop-by-hop, destination options */
      if (l4 + 8 > avail) return -1;
      proto = h[l4];
      l4 += (h[l4 + 1] + 1u) * 8;
    }
  } else {
    return -1;
  }
  if (proto == 6) {
    if (l4 + 20 > avail) return -1;
    uint32_t doff = (h[l4 + 12] >> 4) * 4u;
    if (doff < 20 || l4 + doff > avail) return -1;
    o->hlen = l4 + doff;
  } else if (proto == 17) {
    if (l4 + 8 > avail) return -1;
    o->hlen = l4 + 8;
  } else {
    return -1;
  }
  if (o->hlen > o->end) return -1;
  o->l4 = l4;
  o->proto = proto;
  return 0;
}

/* Pseudo-header sum for the L4 checksum of a segment already written at d. */
static uint64_t pseudo_sum(const uint8_t *d, const hdrs_t *hd, uint32_t l4len) {
  uint64_t s;
  if (hd->ihl) {
    s = csum_add(0, d + hd->l3 + 12, 8);
    s += htons((uint16_t)hd->proto);
    s += htons((uint16_t)l4len);
  } else {
    s = csum_add(0, d + hd->l3 + 8, 32);
    s += htonl(l4len);
    s += htonl((uint32_t)hd->proto);
  }
  return s;
}

static int segment(port_t *p, pool_t *pool, const uint8_t *src, uint32_t len, const uint8_t *tag,
                   const struct virtio_net_hdr *vh, const uint32_t *slots, uint32_t avail,
                   uint32_t total) {
  uint8_t hb[HDR_MAX];
  uint32_t tagl = tag ? 4 : 0, flen = len + tagl;
  uint32_t hl = flen < HDR_MAX ? flen : HDR_MAX;
  hdrs_t hd;
  int type = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  uint32_t gso = le16toh(vh->gso_size);

  if (len < 14) goto bad;
  if (tag) {
    memcpy(hb, src, 12);
    memcpy(hb + 12, tag, 4);
    memcpy(hb + 16, src + 12, hl - 16);
  } else {
    memcpy(hb, src, hl);
  }
  if (parse_headers(hb, hl, flen, &hd) < 0 || gso == 0) goto bad;
  if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
    if (!hd.ihl || hd.proto != 6) goto bad;
  } else if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
    if (hd.ihl || hd.proto != 6) goto bad;
  } else if (type == VIRTIO_NET_HDR_GSO_UDP_L4) {
    if (hd.proto != 17) goto bad;
  } else {
    goto bad; /* VIRTIO_NET_HDR_GSO_UDP (UFO, IP fragmentation) and anything newer */
  }

  uint32_t hlen = hd.hlen, plen = hd.end - hlen;
  uint32_t nseg = plen ? (plen + gso - 1) / gso : 1;
  if (hlen + (plen < gso ? plen : gso) > pool->cap || nseg > total) goto bad;
  if (nseg > avail) return -1;

  const uint8_t *payload = src + (hlen - tagl);
  uint16_t id0 = hd.ihl ? rd16(hb + hd.l3 + 4) : 0;
  uint32_t seq0 = hd.proto == 6 ? rd32(hb + hd.l4 + 4) : 0;
  uint32_t off = 0;
  for (uint32_t i = 0; i < nseg; i++, off += gso) {
    uint32_t s = slots[i];
    uint32_t sl = plen - off < gso ? plen - off : gso;
    uint32_t seglen = hlen + sl, l4len = seglen - hd.l4;
    uint8_t *d = slot_data(pool, s);
    memcpy(d, hb, hlen);
    memcpy(d + hlen, payload + off, sl);
    if (hd.ihl) {
      uint8_t *ip = d + hd.l3;
      wr16(ip + 2, seglen - hd.l3);
      wr16(ip + 4, (uint16_t)(id0 + i));
      ip[10] = ip[11] = 0;
      uint16_t c = csum_fold(csum_add(0, ip, hd.ihl));
      memcpy(ip + 10, &c, 2);
    } else {
      wr16(d + hd.l3 + 4, seglen - hd.l3 - 40);
    }
    uint8_t *l4 = d + hd.l4;
    uint64_t sum = pseudo_sum(d, &hd, l4len);
    uint16_t c;
    if (hd.proto == 6) {
      wr32(l4 + 4, seq0 + off);
      if (i + 1 < nseg) l4[13] &= (uint8_t)~0x09; /* FIN, PSH only on the last */
      if (i > 0) l4[13] &= (uint8_t)~0x80;        /* CWR only on the first */
      l4[16] = l4[17] = 0;
      c = csum_fold(csum_add(sum, l4, l4len));
      memcpy(l4 + 16, &c, 2);
    } else {
      wr16(l4 + 4, l4len);
      l4[6] = l4[7] = 0;
      c = csum_fold(csum_add(sum, l4, l4len));
      if (c == 0) c = 0xffff;
      memcpy(l4 + 6, &c, 2);
    }
    slot_done(p, pool, s, seglen);
  }
  p->st.rx_gso_frames++;
  p->st.rx_gso_segments += nseg;
  return (int)nseg;
bad:
  p->st.rx_gso_errors++;
  return 0;
}

int off_deliver(port_t *p, pool_t *pool, const uint8_t *src, uint32_t len, const uint8_t *tag,
                const struct virtio_net_hdr *vh, const uint32_t *slots, uint32_t avail,
                uint32_t total) {
  if (len < 12) tag = NULL; /* a runt cannot carry a tag; deliver what there is */
  if (vh && vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
    return segment(p, pool, src, len, tag, vh, slots, avail, total);

  uint32_t flen = len + (tag ? 4 : 0);
  if (flen > pool->cap) {
    p->st.rx_oversize++;
    return 0;
  }
  uint32_t s = slots[0];
  uint8_t *d = slot_data(pool, s);
  copy_tagged(d, src, len, tag);
  if (vh && (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
    uint32_t cs = le16toh(vh->csum_start), co = le16toh(vh->csum_offset);
    if (tag && cs >= 12) cs += 4;
    if (cs < flen && cs + co + 2 <= flen) {
      uint16_t c = csum_fold(csum_add(0, d + cs, flen - cs));
      if (c == 0) c = 0xffff;
      memcpy(d + cs + co, &c, 2);
      p->st.rx_csum_completed++;
    }
  }
  slot_done(p, pool, s, flen);
  return 1;
}
