/* addon.c — the Node-API face of the addon (see src/io/native.ts for the typed contract).
 *
 * Argument checking, the pool registration, the table of open ports, and errors. Every call
 * works on a whole burst (rx/tx take a Uint32Array of slot indices), so the N-API cost is per
 * burst, never per packet. Ports are named by a number: the low 16 bits index the table, the
 * high bits are a generation, so a stale handle of a closed port never reaches a new one.
 * Errors at open name the interface and the errno text ("afpacket sy-vm1: No such device")
 * and carry .code (e.g. "ENODEV") and .syscall (the step that failed). A dgram port is named by
 * its socket path, and its open errors add the step in parentheses ("dgram /run/vm.sock:
 * Address already in use (bound by another process)").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layout.h"

#define MAX_PORTS 4096u
#define DEF_RX_FRAMES 4096u
#define DEF_TX_FRAMES 1024u

typedef struct {
  pool_t pool;
  int has_pool;
  port_t *ports[MAX_PORTS];
  uint16_t gen[MAX_PORTS];
  uint32_t open;
} addon_t;

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return NULL;               \
  } while (0)

static addon_t *get_addon(napi_env env) {
  void *d = NULL;
  napi_get_instance_data(env, &d);
  return d;
}

static napi_value throw_sys_why(napi_env env, const char *kind, const char *ifname, int e,
                                const char *what, int why) {
  char msg[320];
  napi_value m, c, err, sc;
  const char *code = strerrorname_np(e);
  if (why && what && *what)
    snprintf(msg, sizeof msg, "%s %s: %s (%s)", kind, ifname, strerror(e), what);
  else
    snprintf(msg, sizeof msg, "%s %s: %s", kind, ifname, strerror(e));
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, code ? code : "EUNKNOWN", NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_error(env, c, m, &err) != napi_ok)
    return NULL;
  if (what && napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &sc) == napi_ok)
    napi_set_named_property(env, err, "syscall", sc);
  napi_throw(env, err);
  return NULL;
}

static napi_value throw_sys(napi_env env, const char *kind, const char *ifname, int e,
                            const char *what) {
  return throw_sys_why(env, kind, ifname, e, what, 0);
}

/* How errors name a port: its kind and its interface (or, for a dgram port, its path). */
static const char *kind_name(const port_t *p) {
  return p->kind == PORT_TAP ? "tap" : p->kind == PORT_UNIX_DGRAM ? "dgram" : "afpacket";
}
static const char *port_label(const port_t *p) {
  return p->kind == PORT_UNIX_DGRAM ? udg_path(p) : p->ifname;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value range_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  return napi_create_double(env, v, &r) == napi_ok ? r : NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t len;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return -1;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) return -1;
  return len + 1 >= cap ? -2 : 0; /* -2: too long (it was cut) */
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return -1;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return -1;
  *out = (uint32_t)d;
  return 0;
}

static port_t *get_port(napi_env env, addon_t *a, napi_value v, int quiet) {
  uint32_t h;
  if (get_u32(env, v, &h) < 0) {
    if (!quiet) type_error(env, "port handle must be a number");
    return NULL;
  }
  uint32_t idx = h & 0xffff, gen = h >> 16;
  if (idx < MAX_PORTS && a->ports[idx] && a->gen[idx] == gen) return a->ports[idx];
  if (!quiet) napi_throw_error(env, NULL, "switchyard: unknown or closed port handle");
  return NULL;
}

static napi_value new_handle(napi_env env, addon_t *a, port_t *p) {
  for (uint32_t i = 0; i < MAX_PORTS; i++) {
    if (a->ports[i]) continue;
    a->ports[i] = p;
    a->gen[i] = (uint16_t)(a->gen[i] % 0x7fff + 1); /* 1..32767: handles stay positive */
    a->open++;
    return num(env, (double)((uint32_t)a->gen[i] << 16 | i));
  }
  napi_throw_error(env, NULL, "switchyard: too many open ports");
  return NULL;
}

static void free_port(addon_t *a, port_t *p, int teardown) {
  for (uint32_t i = 0; i < MAX_PORTS; i++)
    if (a->ports[i] == p) { a->ports[i] = NULL; a->open--; }
  if (teardown) poll_drop(p); else poll_stop(p);
  if (p->kind == PORT_TAP) tap_close(p);
  else if (p->kind == PORT_UNIX_DGRAM) udg_close(p);
  else afp_close(p);
  free(p);
}

/* ---- pool ---- */

static int pool_ok(napi_env env, addon_t *a) {
  napi_value buf;
  bool detached = false;
  if (!a->has_pool) {
    napi_throw_error(env, NULL, "switchyard: attachPool() has not been called");
    return 0;
  }
  if (napi_get_reference_value(env, a->pool.ref_buffer, &buf) != napi_ok ||
      napi_is_detached_arraybuffer(env, buf, &detached) != napi_ok || detached) {
    napi_throw_error(env, NULL, "switchyard: the pool ArrayBuffer was detached");
    return 0;
  }
  return 1;
}

static void pool_release(napi_env env, pool_t *pl) {
  if (pl->ref_buffer) napi_delete_reference(env, pl->ref_buffer);
  if (pl->ref_start) napi_delete_reference(env, pl->ref_start);
  if (pl->ref_length) napi_delete_reference(env, pl->ref_length);
  memset(pl, 0, sizeof *pl);
}

static napi_value attach_pool(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 5;
  napi_value argv[5];
  bool is_ab, is_ta;
  void *data, *sdata, *ldata;
  size_t bytes, slen, llen, soff, loff;
  napi_typedarray_type st, lt;
  napi_value sbuf, lbuf;
  uint32_t slot_size, headroom;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return type_error(env, "attachPool(buffer, slotSize, headroom, start, length)");
  if (a->open) {
    napi_throw_error(env, NULL, "attachPool: ports are open; close them first");
    return NULL;
  }
  CHECK(napi_is_arraybuffer(env, argv[0], &is_ab));
  if (!is_ab) return type_error(env, "attachPool: buffer must be an ArrayBuffer");
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &bytes));
  if (get_u32(env, argv[1], &slot_size) < 0 || get_u32(env, argv[2], &headroom) < 0)
    return type_error(env, "attachPool: slotSize and headroom must be non-negative integers");
  if (slot_size == 0 || headroom >= slot_size || slot_size - headroom > 65535 ||
      slot_size - headroom < 64)
    return range_error(env, "attachPool: need 64 <= slotSize - headroom <= 65535");
  uint64_t nslots = bytes / slot_size;
  if (nslots == 0 || nslots * slot_size > 0xffffffffull)
    return range_error(env, "attachPool: the buffer must hold 1 or more slots and at most 4 GiB");
  CHECK(napi_is_typedarray(env, argv[3], &is_ta));
  if (!is_ta) return type_error(env, "attachPool: start must be a Uint32Array");
  CHECK(napi_get_typedarray_info(env, argv[3], &st, &slen, &sdata, &sbuf, &soff));
  CHECK(napi_is_typedarray(env, argv[4], &is_ta));
  if (!is_ta) return type_error(env, "attachPool: length must be a Uint16Array");
  CHECK(napi_get_typedarray_info(env, argv[4], &lt, &llen, &ldata, &lbuf, &loff));
  if (st != napi_uint32_array) return type_error(env, "attachPool: start must be a Uint32Array");
  if (lt != napi_uint16_array) return type_error(env, "attachPool: length must be a Uint16Array");
  if (slen < nslots || llen < nslots)
    return range_error(env, "attachPool: start and length need one entry per slot");

  pool_t np;
  memset(&np, 0, sizeof np);
  np.base = data;
  np.bytes = (size_t)nslots * slot_size;
  np.slot_size = slot_size;
  np.headroom = headroom;
  np.cap = slot_size - headroom;
  np.nslots = (uint32_t)nslots;
  np.start = sdata;
  np.length = ldata;
  CHECK(napi_create_reference(env, argv[0], 1, &np.ref_buffer));
  CHECK(napi_create_reference(env, argv[3], 1, &np.ref_start));
  CHECK(napi_create_reference(env, argv[4], 1, &np.ref_length));
  if (a->has_pool) pool_release(env, &a->pool);
  a->pool = np;
  a->has_pool = 1;
  return NULL;
}

/* ---- ports ---- */

static int opt_bool(napi_env env, napi_value o, const char *k) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, o, k, &v) == napi_ok) {
    napi_value bv;
    if (napi_coerce_to_bool(env, v, &bv) == napi_ok) napi_get_value_bool(env, bv, &b);
  }
  return b;
}

/* 1 ok, 0 bad; *out stays def when the option is missing */
static int opt_frames(napi_env env, napi_value o, const char *k, uint32_t *out) {
  napi_value v;
  napi_valuetype t;
  uint32_t f;
  if (napi_get_named_property(env, o, k, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return 0;
  if (t == napi_undefined || t == napi_null) return 1;
  if (get_u32(env, v, &f) < 0 || f < 16 || f > 65536 || (f & (f - 1))) return 0;
  *out = f;
  return 1;
}

static napi_value open_afpacket(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 2;
  napi_value argv[2];
  char ifname[64];
  napi_valuetype t;
  uint32_t rxf = DEF_RX_FRAMES, txf = DEF_TX_FRAMES;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "openAfPacket(ifname, opts)");
  int r = get_string(env, argv[0], ifname, sizeof ifname);
  if (r == -1) return type_error(env, "openAfPacket: ifname must be a string");
  if (r == -2 || strlen(ifname) >= IF_NAMESIZE || !*ifname)
    return throw_sys(env, "afpacket", ifname, ENODEV, "ifname");
  int promisc = 0, bypass = 0;
  if (argc >= 2 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_object) {
    promisc = opt_bool(env, argv[1], "promiscuous");
    bypass = opt_bool(env, argv[1], "qdiscBypass");
    if (!opt_frames(env, argv[1], "rxFrames", &rxf) || !opt_frames(env, argv[1], "txFrames", &txf))
      return range_error(env, "openAfPacket: rxFrames/txFrames must be powers of two in [16, 65536]");
  }
  port_t *p = calloc(1, sizeof *p);
  if (!p) return throw_sys(env, "afpacket", ifname, ENOMEM, "calloc");
  const char *what = "";
  int e = afp_open(p, ifname, promisc, bypass, rxf, txf, &what);
  if (e) {
    afp_close(p);
    free(p);
    return throw_sys(env, "afpacket", ifname, e, what);
  }
  napi_value h = new_handle(env, a, p);
  if (!h) { afp_close(p); free(p); }
  return h;
}

static napi_value open_tap(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 1;
  napi_value argv[1], res, created;
  char ifname[64];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "openTap(ifname)");
  int r = get_string(env, argv[0], ifname, sizeof ifname);
  if (r == -1) return type_error(env, "openTap: ifname must be a string");
  if (r == -2) return throw_sys(env, "tap", ifname, EINVAL, "ifname");
  port_t *p = calloc(1, sizeof *p);
  if (!p) return throw_sys(env, "tap", ifname, ENOMEM, "calloc");
  const char *what = "";
  int e = tap_open(p, ifname, &what);
  if (e) {
    tap_close(p);
    free(p);
    return throw_sys(env, "tap", ifname, e, what);
  }
  napi_value h = new_handle(env, a, p);
  if (!h) { tap_close(p); free(p); return NULL; }
  CHECK(napi_create_object(env, &res));
  CHECK(napi_get_boolean(env, p->created != 0, &created));
  CHECK(napi_set_named_property(env, res, "handle", h));
  CHECK(napi_set_named_property(env, res, "created", created));
  return res;
}

static napi_value open_unix_dgram(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 1;
  napi_value argv[1];
  char path[256];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "openUnixDgram(path)");
  int r = get_string(env, argv[0], path, sizeof path);
  if (r == -1) return type_error(env, "openUnixDgram: path must be a string");
  if (r == -2) return throw_sys_why(env, "dgram", path, ENAMETOOLONG, "path", 1);
  port_t *p = calloc(1, sizeof *p);
  if (!p) return throw_sys(env, "dgram", path, ENOMEM, "calloc");
  const char *what = "";
  int e = udg_open(p, path, &what);
  if (e) {
    udg_close(p);
    free(p);
    return throw_sys_why(env, "dgram", path, e, what, 1);
  }
  napi_value h = new_handle(env, a, p);
  if (!h) { udg_close(p); free(p); }
  return h;
}

static napi_value unix_dgram_peer(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 1;
  napi_value argv[1], v;
  char buf[256];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "unixDgramPeer(handle)");
  port_t *p = get_port(env, a, argv[0], 0);
  if (!p) return NULL;
  if (p->kind != PORT_UNIX_DGRAM) return type_error(env, "unixDgramPeer: not a dgram port");
  if (!udg_peer(p, buf, sizeof buf)) {
    CHECK(napi_get_null(env, &v));
    return v;
  }
  CHECK(napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &v));
  return v;
}

static napi_value close_port(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "close(handle)");
  port_t *p = get_port(env, a, argv[0], 1); /* closing a closed port is a no-op */
  if (p) free_port(a, p, 0);
  return NULL;
}

/* The slot-index burst of rx()/tx(): checks n and every index before touching anything. */
static int get_burst(napi_env env, addon_t *a, napi_value arr, napi_value nv,
                     const uint32_t **slots, uint32_t *n) {
  bool is_ta;
  napi_typedarray_type t;
  size_t len, off;
  void *data;
  napi_value ab;
  if (!pool_ok(env, a)) return 0;
  if (napi_is_typedarray(env, arr, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, arr, &t, &len, &data, &ab, &off) != napi_ok ||
      t != napi_uint32_array) {
    type_error(env, "slots must be a Uint32Array");
    return 0;
  }
  if (get_u32(env, nv, n) < 0 || *n > len) {
    range_error(env, "n must be an integer between 0 and slots.length");
    return 0;
  }
  const uint32_t *s = data;
  for (uint32_t i = 0; i < *n; i++)
    if (s[i] >= a->pool.nslots) {
      range_error(env, "slot index out of range of the pool");
      return 0;
    }
  *slots = s;
  return 1;
}

static napi_value rx(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 3;
  napi_value argv[3];
  uint32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return type_error(env, "rx(handle, slots, n)");
  port_t *p = get_port(env, a, argv[0], 0);
  if (!p) return NULL;
  const uint32_t *slots;
  if (!get_burst(env, a, argv[1], argv[2], &slots, &n)) return NULL;
  uint32_t got = n == 0 ? 0
                 : p->kind == PORT_TAP ? tap_rx(p, &a->pool, slots, n)
                 : p->kind == PORT_UNIX_DGRAM ? udg_rx(p, &a->pool, slots, n)
                                       : afp_rx(p, &a->pool, slots, n);
  return num(env, got);
}

static napi_value tx(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 3;
  napi_value argv[3];
  uint32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return type_error(env, "tx(handle, slots, n)");
  port_t *p = get_port(env, a, argv[0], 0);
  if (!p) return NULL;
  const uint32_t *slots;
  if (!get_burst(env, a, argv[1], argv[2], &slots, &n)) return NULL;
  uint32_t done = n == 0 ? 0
                  : p->kind == PORT_TAP ? tap_tx(p, &a->pool, slots, n)
                  : p->kind == PORT_UNIX_DGRAM ? udg_tx(p, &a->pool, slots, n)
                                        : afp_tx(p, &a->pool, slots, n);
  return num(env, done);
}

static napi_value send_frame(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 2, len, off;
  napi_value argv[2], ab;
  bool is_ta;
  napi_typedarray_type t;
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return type_error(env, "send(handle, frame)");
  port_t *p = get_port(env, a, argv[0], 0);
  if (!p) return NULL;
  CHECK(napi_is_typedarray(env, argv[1], &is_ta));
  if (!is_ta) return type_error(env, "send: frame must be a Uint8Array");
  CHECK(napi_get_typedarray_info(env, argv[1], &t, &len, &data, &ab, &off));
  if (t != napi_uint8_array) return type_error(env, "send: frame must be a Uint8Array");
  long r = p->kind == PORT_TAP ? tap_send(p, data, len)
           : p->kind == PORT_UNIX_DGRAM ? udg_send(p, data, len)
                                        : afp_send(p, data, len);
  if (r < 0) return throw_sys(env, kind_name(p), port_label(p), (int)-r, "send");
  p->st.tx_frames++;
  p->st.tx_bytes += (uint64_t)r;
  return num(env, (double)r);
}

static napi_value poll_port(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype t = napi_undefined;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "poll(handle, cb)");
  port_t *p = get_port(env, a, argv[0], 0);
  if (!p) return NULL;
  if (argc >= 2) CHECK(napi_typeof(env, argv[1], &t));
  if (t == napi_null || t == napi_undefined) {
    poll_stop(p);
    return NULL;
  }
  if (t != napi_function) return type_error(env, "poll: cb must be a function or null");
  if (poll_start(p, env, argv[1]) < 0)
    return throw_sys(env, kind_name(p), port_label(p), EIO, "uv_poll");
  return NULL;
}

static napi_value stats(napi_env env, napi_callback_info info) {
  addon_t *a = get_addon(env);
  size_t argc = 1;
  napi_value argv[1], o;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "stats(handle)");
  port_t *p = get_port(env, a, argv[0], 0);
  if (!p) return NULL;
  if (p->kind == PORT_AFPACKET) afp_update_stats(p);
  const port_stats_t *s = &p->st;
  const struct { const char *k; uint64_t v; } f[] = {
      {"rxFrames", s->rx_frames},         {"rxBytes", s->rx_bytes},
      {"rxKernelDrops", s->rx_kernel_drops}, {"rxOversize", s->rx_oversize},
      {"rxGsoFrames", s->rx_gso_frames},  {"rxGsoSegments", s->rx_gso_segments},
      {"rxGsoErrors", s->rx_gso_errors},  {"rxCsumCompleted", s->rx_csum_completed},
      {"rxErrors", s->rx_errors},         {"txFrames", s->tx_frames},
      {"txBytes", s->tx_bytes},           {"txRingFull", s->tx_ring_full},
      {"txErrors", s->tx_errors},
  };
  CHECK(napi_create_object(env, &o));
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    CHECK(napi_set_named_property(env, o, f[i].k, num(env, (double)f[i].v)));
  if (p->kind == PORT_UNIX_DGRAM) {
    CHECK(napi_set_named_property(env, o, "txNoPeer", num(env, (double)udg_tx_no_peer(p))));
    CHECK(napi_set_named_property(env, o, "peerChanges", num(env, (double)udg_peer_changes(p))));
  }
  return o;
}

static napi_value link_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  char ifname[64], mac[18];
  link_info_t li;
  const char *what = "";
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "linkInfo(ifname)");
  int r = get_string(env, argv[0], ifname, sizeof ifname);
  if (r == -1) return type_error(env, "linkInfo: ifname must be a string");
  int e = r == -2 ? ENODEV : link_get(ifname, &li, &what);
  if (e) return throw_sys(env, "link", ifname, e, what);
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", li.mac[0], li.mac[1], li.mac[2],
           li.mac[3], li.mac[4], li.mac[5]);
  CHECK(napi_create_object(env, &o));
  CHECK(napi_set_named_property(env, o, "ifindex", num(env, li.ifindex)));
  CHECK(napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, o, "mac", v));
  CHECK(napi_set_named_property(env, o, "mtu", num(env, li.mtu)));
  CHECK(napi_get_boolean(env, li.up != 0, &v));
  CHECK(napi_set_named_property(env, o, "up", v));
  return o;
}

/* The port of a generateTraffic/sinkTraffic call: AF_PACKET or TAP (a dgram port: ENOTSUP). */
static port_t *bench_port(napi_env env, addon_t *a, napi_value v, const char *fn) {
  port_t *p = get_port(env, a, v, 0);
  if (p && p->kind == PORT_UNIX_DGRAM) {
    throw_sys(env, "dgram", udg_path(p), ENOTSUP, fn);
    return NULL;
  }
  return p;
}

/* ---- generateTraffic / sinkTraffic (traffic.c) ---- */

/* An optional numeric property: 1 present (in *out), 0 absent (undefined/null: *out is left
 * alone), -1 not a finite number >= 0. */
static int opt_num(napi_env env, napi_value o, const char *k, double *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, o, k, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (t != napi_number || napi_get_value_double(env, v, out) != napi_ok) return -1;
  return isfinite(*out) && *out >= 0 ? 1 : -1;
}

/* An optional non-negative integer property below 2^53 (or at most max), default def. */
static int opt_int(napi_env env, napi_value o, const char *k, double max, double def, double *out) {
  int r = opt_num(env, o, k, out);
  if (r == 0) *out = def;
  return r >= 0 && *out == floor(*out) && *out <= max;
}

/* A typed array property of type want: 1 (data, len set), 0 absent, -1 something else. */
static int opt_typed(napi_env env, napi_value o, const char *k, napi_typedarray_type want,
                     void **data, size_t *len) {
  napi_value v, ab;
  napi_valuetype t;
  bool is_ta;
  napi_typedarray_type tt;
  size_t off;
  if (napi_get_named_property(env, o, k, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &tt, len, data, &ab, &off) != napi_ok || tt != want)
    return -1;
  return 1;
}

/* The (handle, object) arguments of generateTraffic/sinkTraffic: the port, or NULL after a throw. */
static port_t *bench_args(napi_env env, napi_callback_info info, napi_value argv[2],
                          const char *fn, const char *obj) {
  size_t argc = 2;
  napi_valuetype t = napi_undefined;
  char msg[96];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    snprintf(msg, sizeof msg, "%s(handle, %s)", fn, obj);
    type_error(env, msg);
    return NULL;
  }
  port_t *p = bench_port(env, get_addon(env), argv[0], fn);
  if (p && (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_object)) {
    snprintf(msg, sizeof msg, "%s: %s must be an object", fn, obj);
    type_error(env, msg);
    return NULL;
  }
  return p;
}

static napi_value generate_traffic(napi_env env, napi_callback_info info) {
  napi_value argv[2], tv, o;
  bool is_arr = false;
  uint32_t nt = 0;
  double flows, vary, addresses, count, pps, dur;
  char msg[256];
  port_t *p = bench_args(env, info, argv, "generateTraffic", "spec");
  if (!p) return NULL;
  if (napi_get_named_property(env, argv[1], "templates", &tv) == napi_ok)
    napi_is_array(env, tv, &is_arr);
  if (is_arr) CHECK(napi_get_array_length(env, tv, &nt));
  if (!is_arr || nt == 0)
    return type_error(env, "generateTraffic: templates must be a non-empty array of Uint8Array");
  traffic_spec_t s;
  memset(&s, 0, sizeof s);
  void *order = NULL;
  size_t norder = 0;
  int r = opt_typed(env, argv[1], "order", napi_uint16_array, &order, &norder);
  if (r < 0) return type_error(env, "generateTraffic: order must be a Uint16Array");
  if (r > 0 && norder == 0) return type_error(env, "generateTraffic: order must not be empty");
  if (!opt_int(env, argv[1], "flows", 4294967295.0, 1, &flows))
    return type_error(env, "generateTraffic: flows must be an integer >= 1");
  if (!opt_int(env, argv[1], "vary", 7, 0, &vary))
    return type_error(env, "generateTraffic: vary must be a combination of the bits 1, 2 and 4");
  if (!opt_int(env, argv[1], "addresses", 4294967295.0, 1, &addresses))
    return type_error(env, "generateTraffic: addresses must be an integer >= 1");
  if (!opt_int(env, argv[1], "count", 9007199254740991.0, 0, &count))
    return type_error(env, "generateTraffic: count must be a non-negative integer");
  pps = dur = 0;
  if (opt_num(env, argv[1], "pps", &pps) < 0 || opt_num(env, argv[1], "durationMs", &dur) < 0)
    return type_error(env, "generateTraffic: pps and durationMs must be non-negative numbers");
  if (dur > 1e12) return type_error(env, "generateTraffic: durationMs is too large");
  s.ntpl = nt;
  s.order = order;
  s.norder = (uint32_t)norder;
  s.flows = (uint32_t)flows;
  s.vary = (uint32_t)vary;
  s.addresses = (uint32_t)addresses;
  s.stamp = opt_bool(env, argv[1], "stamp");
  s.count = (uint64_t)count;
  s.pps = pps;
  s.duration_ns = (uint64_t)(dur * 1e6);
  if (norder > 0xffffffffu) return type_error(env, "generateTraffic: order is too long");
  if (!(s.tpl = calloc(nt, sizeof *s.tpl))) return throw_sys(env, kind_name(p), port_label(p), ENOMEM, "calloc");
  napi_value res = NULL;
  for (uint32_t i = 0; i < nt; i++) {
    napi_value el, ab;
    bool is_ta = false;
    napi_typedarray_type tt;
    size_t len = 0, off;
    void *d = NULL;
    if (napi_get_element(env, tv, i, &el) != napi_ok ||
        napi_is_typedarray(env, el, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, el, &tt, &len, &d, &ab, &off) != napi_ok ||
        tt != napi_uint8_array) {
      snprintf(msg, sizeof msg, "generateTraffic: templates[%u] must be a Uint8Array", i);
      type_error(env, msg);
      goto out;
    }
    s.tpl[i].data = d;
    s.tpl[i].len = len > 0xffffffffu ? 0xffffffffu : (uint32_t)len;
  }
  if (traffic_prepare(p, &s, msg, sizeof msg) < 0) {
    type_error(env, msg);
    goto out;
  }
  traffic_gen_result_t g;
  int e = traffic_gen(p, &s, &g);
  if (e) {
    throw_sys(env, kind_name(p), port_label(p), e, "generateTraffic");
    goto out;
  }
  if (napi_create_object(env, &o) == napi_ok &&
      napi_set_named_property(env, o, "sent", num(env, (double)g.sent)) == napi_ok &&
      napi_set_named_property(env, o, "bytes", num(env, (double)g.bytes)) == napi_ok &&
      napi_set_named_property(env, o, "ns", num(env, (double)g.ns)) == napi_ok)
    res = o;
out:
  free(s.tpl);
  return res;
}

static napi_value sink_traffic(napi_env env, napi_callback_info info) {
  napi_value argv[2], o, lat, ab, hist;
  double dur, idle, nap;
  void *hdata = NULL;
  port_t *p = bench_args(env, info, argv, "sinkTraffic", "opts");
  if (!p) return NULL;
  if (opt_num(env, argv[1], "durationMs", &dur) != 1 || dur != floor(dur) || dur > 4294967295.0)
    return type_error(env, "sinkTraffic: durationMs must be a non-negative integer");
  if (!opt_int(env, argv[1], "idleMs", 4294967295.0, 0, &idle) ||
      !opt_int(env, argv[1], "napUs", 4294967295.0, 1000, &nap))
    return type_error(env, "sinkTraffic: idleMs and napUs must be non-negative integers");
  traffic_sink_result_t s;
  memset(&s, 0, sizeof s);
  if (opt_bool(env, argv[1], "latency")) {
    CHECK(napi_create_arraybuffer(env, LAT_BUCKETS * sizeof(double), &hdata, &ab));
    memset(hdata, 0, LAT_BUCKETS * sizeof(double));
    CHECK(napi_create_typedarray(env, napi_float64_array, LAT_BUCKETS, ab, 0, &hist));
    s.hist = hdata;
  }
  traffic_sink(p, (uint32_t)dur, (uint32_t)idle, (uint32_t)nap, &s);
  const struct { const char *k; uint64_t v; } f[] = {
      {"frames", s.frames},       {"bytes", s.bytes},       {"stamped", s.stamped},
      {"stampedBytes", s.stamped_bytes}, {"reordered", s.reordered}, {"firstNs", s.first_ns},
      {"lastNs", s.last_ns},      {"ns", s.last_ns - s.first_ns},
      {"latencyNegative", s.lat_negative},
  };
  CHECK(napi_create_object(env, &o));
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    CHECK(napi_set_named_property(env, o, f[i].k, num(env, (double)f[i].v)));
  if (s.hist) {
    CHECK(napi_create_object(env, &lat));
    CHECK(napi_set_named_property(env, lat, "count", num(env, (double)s.lat_count)));
    CHECK(napi_set_named_property(env, lat, "minNs", num(env, (double)s.lat_min)));
    CHECK(napi_set_named_property(env, lat, "maxNs", num(env, (double)s.lat_max)));
    CHECK(napi_set_named_property(env, lat, "sumNs", num(env, (double)s.lat_sum)));
    CHECK(napi_set_named_property(env, lat, "hist", hist));
  } else {
    CHECK(napi_get_null(env, &lat));
  }
  CHECK(napi_set_named_property(env, o, "latency", lat));
  return o;
}

static napi_value latency_bucket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t = napi_undefined;
  double d;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1) CHECK(napi_typeof(env, argv[0], &t));
  if (t != napi_number) return type_error(env, "latencyBucket: ns must be a number");
  CHECK(napi_get_value_double(env, argv[0], &d));
  if (!(d >= 0)) return type_error(env, "latencyBucket: ns must be >= 0");
  return num(env, lat_bucket(d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d));
}

/* ---- module ---- */

static void teardown(napi_env env, void *data, void *hint) {
  addon_t *a = data;
  for (uint32_t i = 0; i < MAX_PORTS; i++)
    if (a->ports[i]) free_port(a, a->ports[i], 1);
  free(a); /* the pool's references die with the environment */
}

NAPI_MODULE_INIT() {
  addon_t *a = calloc(1, sizeof *a);
  if (!a || napi_set_instance_data(env, a, teardown, NULL) != napi_ok) return NULL;
  const napi_property_descriptor props[] = {
      {"attachPool", NULL, attach_pool, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openAfPacket", NULL, open_afpacket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openTap", NULL, open_tap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openUnixDgram", NULL, open_unix_dgram, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixDgramPeer", NULL, unix_dgram_peer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rx", NULL, rx, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tx", NULL, tx, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, send_frame, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, poll_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"linkInfo", NULL, link_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"generateTraffic", NULL, generate_traffic, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sinkTraffic", NULL, sink_traffic, NULL, NULL, NULL, napi_enumerable, NULL},
      {"latencyBucket", NULL, latency_bucket, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
