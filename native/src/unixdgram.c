/* unixdgram.c — a dgram port: a unix datagram socket for QEMU's `-netdev dgram` (QEMU 7.2+).
 *
 * One Ethernet frame per datagram, no header. QEMU binds its own path (local.path) and sends
 * to ours (remote.path); we bind `path`, read with recvfrom() straight into pool slots (the
 * single copy) and answer with sendto() to the address of the last datagram that had one:
 * the peer is learned, so nothing but the switch's own path has to be configured, and a VM
 * that restarts on another path is followed. Until a datagram arrived, frames for the port
 * have nowhere to go: they are counted (tx_errors and tx_no_peer) and dropped.
 *
 * The socket file: a stale one (nobody bound: connect() says ECONNREFUSED) is replaced;
 * one in use or a file that is not a socket is an error. It is made 0660 after bind (the
 * group of the directory decides who else may send, see the README) and removed at close
 * when it is still ours (same device and inode).
 * Readiness: poll.c watches rx_fd like a TAP's fd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "layout.h"

struct udg {
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  dev_t dev;
  ino_t ino;
  int bound;                 /* we created the file: remove it at close */
  struct sockaddr_un peer;
  socklen_t peer_len;        /* 0: no peer learned yet */
  uint64_t tx_no_peer, peer_changes;
};

/* A socket file at path that nobody is bound to can go; anything else stays. */
static int clear_stale(const char *path, const char **what) {
  struct stat st;
  struct sockaddr_un a;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT) return 0;
    *what = "lstat";
    return errno;
  }
  if (!S_ISSOCK(st.st_mode)) { *what = "exists and is not a socket"; return EEXIST; }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { *what = "socket"; return errno; }
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, path);
  int r = connect(fd, (struct sockaddr *)&a, sizeof a);
  int e = r < 0 ? errno : 0;
  close(fd);
  if (r == 0) { *what = "bound by another process"; return EADDRINUSE; }
  if (e != ECONNREFUSED) { *what = "connect (stale check)"; return e; }
  if (unlink(path) < 0 && errno != ENOENT) { *what = "unlink stale socket"; return errno; }
  return 0;
}

int udg_open(port_t *p, const char *path, const char **what) {
  struct sockaddr_un a;
  struct stat st;
  struct udg *u;
  int fd, e, sz = 4 << 20;
  p->kind = PORT_UNIX_DGRAM;
  p->rx_fd = p->tx_fd = -1;
  if (!(u = p->udg = calloc(1, sizeof *u))) { *what = "calloc"; return ENOMEM; }
  if (!*path || strlen(path) >= sizeof a.sun_path) { *what = "path"; return ENAMETOOLONG; }
  strcpy(u->path, path);
  if ((e = clear_stale(path, what))) return e;
  if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) { *what = "socket"; return errno; }
  p->rx_fd = p->tx_fd = fd;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, path);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { *what = "bind"; return errno; }
  u->bound = 1;
  if (lstat(path, &st) == 0) { u->dev = st.st_dev; u->ino = st.st_ino; }
  if (chmod(path, 0660) < 0) { *what = "chmod"; return errno; }
  /* room for bursts in both directions; the kernel caps these at [rw]mem_max */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  return 0;
}

void udg_close(port_t *p) {
  struct udg *u = p->udg;
  struct stat st;
  if (p->rx_fd >= 0) close(p->rx_fd);
  p->rx_fd = p->tx_fd = -1;
  if (!u) return;
  if (u->bound && lstat(u->path, &st) == 0 && st.st_dev == u->dev && st.st_ino == u->ino)
    unlink(u->path);
  free(u);
  p->udg = NULL;
}

static void learn(struct udg *u, const struct sockaddr_un *from, socklen_t len) {
  /* an unbound sender (len == sizeof(sa_family_t)) cannot be answered: keep the old peer */
  if (len <= sizeof(sa_family_t) || len > sizeof *from) return;
  if (len == u->peer_len && memcmp(from, &u->peer, len) == 0) return;
  if (u->peer_len) u->peer_changes++;
  memcpy(&u->peer, from, len);
  u->peer_len = len;
}

uint32_t udg_rx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n) {
  struct udg *u = p->udg;
  uint32_t filled = 0;
  while (filled < n) {
    uint32_t s = slots[filled];
    size_t off = (size_t)s * pool->slot_size + pool->headroom;
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    /* MSG_TRUNC: the real length of a datagram longer than the slot (Linux >= 3.4) */
    ssize_t r = recvfrom(p->rx_fd, pool->base + off, pool->cap, MSG_TRUNC,
                         (struct sockaddr *)&from, &flen);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) p->st.rx_errors++;
      break;
    }
    learn(u, &from, flen);
    if ((size_t)r > pool->cap) { p->st.rx_oversize++; continue; }
    /* an empty datagram becomes an empty frame: eth-input counts it as a runt */
    pool->start[s] = (uint32_t)off;
    pool->length[s] = (uint16_t)r;
    p->st.rx_frames++;
    p->st.rx_bytes += (uint64_t)r;
    filled++;
  }
  return filled;
}

uint32_t udg_tx(port_t *p, pool_t *pool, const uint32_t *slots, uint32_t n) {
  struct udg *u = p->udg;
  uint32_t done = 0;
  if (!u->peer_len) { /* nobody to send to yet: dropped, like a TAP's write errors */
    u->tx_no_peer += n;
    p->st.tx_errors += n;
    return n;
  }
  for (; done < n; done++) {
    uint32_t s = slots[done], len = pool->length[s];
    size_t off = pool->start[s];
    if (off + len > pool->bytes || len == 0) { p->st.tx_errors++; continue; }
    ssize_t r;
    do {
      r = sendto(p->tx_fd, pool->base + off, len, 0, (struct sockaddr *)&u->peer, u->peer_len);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        p->st.tx_ring_full += n - done; /* the peer's queue is full: the rest of the burst waits no better */
        break;
      }
      if (errno == ECONNREFUSED || errno == ENOENT) {
        /* the peer went away (VM stopped): the whole burst is lost, the peer is kept for its return */
        p->st.tx_errors += n - done;
        done = n;
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

long udg_send(port_t *p, const uint8_t *frame, size_t len) {
  struct udg *u = p->udg;
  if (!u->peer_len) return -EDESTADDRREQ;
  ssize_t r = sendto(p->tx_fd, frame, len, 0, (struct sockaddr *)&u->peer, u->peer_len);
  return r < 0 ? -errno : (long)r;
}

const char *udg_path(const port_t *p) { return p->udg ? p->udg->path : ""; }

int udg_peer(const port_t *p, char *buf, size_t cap) {
  const struct udg *u = p->udg;
  if (!u || !u->peer_len || cap < 2) return 0;
  size_t n = u->peer_len - offsetof(struct sockaddr_un, sun_path);
  const char *sp = u->peer.sun_path;
  if (sp[0] == '\0') { /* abstract: "@name" (the name may hold NULs; they print as '@') */
    size_t k = 0;
    buf[k++] = '@';
    for (size_t i = 1; i < n && k + 1 < cap; i++) buf[k++] = sp[i] ? sp[i] : '@';
    buf[k] = '\0';
    return 1;
  }
  size_t k = strnlen(sp, n);
  if (k >= cap) k = cap - 1;
  memcpy(buf, sp, k);
  buf[k] = '\0';
  return 1;
}

uint64_t udg_tx_no_peer(const port_t *p) { return p->udg ? p->udg->tx_no_peer : 0; }
uint64_t udg_peer_changes(const port_t *p) { return p->udg ? p->udg->peer_changes : 0; }
