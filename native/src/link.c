/* link.c — interface facts by name (ifindex, MAC, MTU, IFF_UP) and bringing a link up, with
 * the classic SIOCGIF* / SIOCSIFFLAGS ioctls on a throw-away AF_INET datagram socket.
 * Used by linkInfo(), by openTap() (a TAP comes up as soon as it is opened) and by the
 * AF_PACKET port to learn how large a frame the device takes.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "layout.h"

static int ifreq_for(const char *ifname, struct ifreq *ifr) {
  if (strlen(ifname) >= IF_NAMESIZE || !*ifname) return ENODEV;
  memset(ifr, 0, sizeof *ifr);
  strcpy(ifr->ifr_name, ifname);
  return 0;
}

int link_get(const char *ifname, link_info_t *li, const char **what) {
  struct ifreq ifr;
  int e = ifreq_for(ifname, &ifr), fd;
  if (e) { *what = "ifname"; return e; }
  if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) { *what = "socket"; return errno; }
  e = 0;
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { *what = "SIOCGIFINDEX"; e = errno; goto out; }
  li->ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { *what = "SIOCGIFHWADDR"; e = errno; goto out; }
  memcpy(li->mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) { *what = "SIOCGIFMTU"; e = errno; goto out; }
  li->mtu = ifr.ifr_mtu;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) { *what = "SIOCGIFFLAGS"; e = errno; goto out; }
  li->up = (ifr.ifr_flags & IFF_UP) != 0;
out:
  close(fd);
  return e;
}

int link_set_up(const char *ifname) {
  struct ifreq ifr;
  int e = ifreq_for(ifname, &ifr), fd;
  if (e) return e;
  if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) return errno;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) e = errno;
  else if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) e = errno;
  }
  close(fd);
  return e;
}
