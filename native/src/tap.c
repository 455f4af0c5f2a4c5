/* tap.c — a TAP port: /dev/net/tun with IFF_TAP | IFF_NO_PI, non-blocking, brought up.
 *
 * No IFF_VNET_HDR and no TUNSETOFFLOAD: the TAP then advertises no offloads, so the kernel
 * segments GSO skbs and completes checksums before it hands frames to us, and it re-inserts
 * VLAN tags itself. Each read() returns exactly one Ethernet frame, straight into a pool slot
 * (the single copy); each write() injects one frame into the kernel.
 * The device is not made persistent: one the switch created disappears when the fd closes;
 * an existing persistent TAP is only attached to and stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include "layout.h"

int tap_open(port_t *p, const char *ifname, const char **what) {
  struct ifreq ifr;
  int fd, e;
  p->kind = PORT_TAP;
  p->rx_fd = p->tx_fd = -1;
  if (!*ifname || strlen(ifname) >= IF_NAMESIZE) { *what = "ifname"; return EINVAL; }
  p->created = if_nametoindex(ifname) == 0;
  if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) { *what = "open /dev/net/tun"; return errno; }
  p->rx_fd = p->tx_fd = fd;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, ifname);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { *what = "TUNSETIFF"; return errno; }
  strcpy(p->ifname, ifr.ifr_name);
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) { *what = "O_NONBLOCK"; return errno; }
  if ((e = link_set_up(p->ifname))) { *what = "SIOCSIFFLAGS"; return e; }
  p->ifindex = (int)if_nametoindex(p->ifname);
  return 0;
}

void tap_close(port_t *p) {
  if (p->rx_fd >= 0) close(p->rx_fd);
  p->rx_fd = p->tx_fd = -1;
}

uint32_t tap_rx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n) {
  uint32_t filled = 0;
  while (filled < n) {
    uint32_t s = slots[filled];
    size_t off = (size_t)s * pool->slot_size + pool->headroom;
    ssize_t r = read(p->rx_fd, pool->base + off, pool->cap);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) p->st.rx_errors++;
      break;
    }
    if (r == 0) break;
    if ((size_t)r > pool->cap) { p->st.rx_oversize++; continue; } /* read returns the full length */
    pool->start[s] = (uint32_t)off;
    pool->length[s] = (uint16_t)r;
    p->st.rx_frames++;
    p->st.rx_bytes += (uint64_t)r;
    filled++;
  }
  return filled;
}

uint32_t tap_tx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n) {
  uint32_t done = 0;
  for (; done < n; done++) {
    uint32_t s = slots[done], len = pool->length[s];
    size_t off = pool->start[s];
    if (off + len > pool->bytes || len == 0) { p->st.tx_errors++; continue; }
    ssize_t r = write(p->tx_fd, pool->base + off, len);
    if (r < 0 && errno == EINTR) r = write(p->tx_fd, pool->base + off, len);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        p->st.tx_ring_full += n - done;
        break;
      }
      p->st.tx_errors++;
      continue;
    }
    p->st.tx_frames++;
    p->st.tx_bytes += len;
  }
  return done;
}

long tap_send(port_t *p, const uint8_t *frame, size_t len) {
  ssize_t r = write(p->tx_fd, frame, len);
  return r < 0 ? -errno : (long)r;
}
