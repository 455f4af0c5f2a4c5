/* poll.c — readiness: call a JS function from the event loop when a port has frames to read.
 *
 * A uv_poll_t watches the RX fd (the TAP fd for a TAP) for UV_READABLE; it is level-triggered,
 * so a switch that leaves frames in the ring is called again on the next loop turn, and an idle
 * switch sleeps in epoll at ~0 % CPU. The callback runs through napi_make_callback with an
 * async context, so promise jobs and nextTicks queued by it run right after it.
 * The poller lives apart from the port and is freed in the uv_close callback: the JS callback
 * may close the port (or stop polling) while it runs, and the cleanup then waits until it
 * has returned.
 * POLLERR: libuv stops the handle and reports UV_EBADF. An AF_PACKET socket gets one when
 * its interface goes down (sk_err = ENETDOWN) and works again when it comes back up, so we
 * read SO_ERROR (which clears it), count an rxError and poll again; a TAP whose device was
 * deleted stays in error, so polling stops there (as it does after 16 errors in a row).
 */
#include <stdlib.h>
#include <sys/socket.h>
#include "layout.h"

#define MAX_ERRORS_IN_A_ROW 16

struct poller {
  uv_poll_t h;          /* first member: the uv handle's address is the poller's */
  port_t *port;         /* NULL once the port stopped polling */
  int errors;           /* POLLERR in a row */
  napi_env env;
  napi_ref cb;
  napi_async_context actx;
  int in_cb, stopping;
};

static void on_closed(uv_handle_t *h) { free(h); }

static void finish(struct poller *w) {
  if (w->cb) napi_delete_reference(w->env, w->cb);
  if (w->actx) napi_async_destroy(w->env, w->actx);
  w->cb = NULL;
  w->actx = NULL;
  uv_close((uv_handle_t *)&w->h, on_closed);
}

static void on_ready(uv_poll_t *h, int status, int events) {
  struct poller *w = (struct poller *)h;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_value cb, recv, result;
  if (w->stopping) return;
  if (status < 0 && w->port) {
    port_t *p = w->port;
    int err = 0;
    socklen_t len = sizeof err;
    p->st.rx_errors++;
    if (p->kind == PORT_AFPACKET && ++w->errors <= MAX_ERRORS_IN_A_ROW) {
      getsockopt(p->rx_fd, SOL_SOCKET, SO_ERROR, &err, &len);
      uv_poll_start(&w->h, UV_READABLE, on_ready);
    }
  } else if (status == 0) {
    w->errors = 0;
  }
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, w->cb, &cb) == napi_ok && cb &&
      napi_get_global(env, &recv) == napi_ok) { /* make_callback wants an object */
    w->in_cb = 1;
    napi_status s = napi_make_callback(env, w->actx, recv, cb, 0, NULL, &result);
    w->in_cb = 0;
    if (s == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
  if (w->stopping) finish(w);
}

int poll_start(port_t *p, napi_env env, napi_value cb) {
  struct poller *w = p->poller;
  if (w) { /* already polling: only swap the function */
    napi_ref old = w->cb;
    if (napi_create_reference(env, cb, 1, &w->cb) != napi_ok) return -1;
    napi_delete_reference(env, old);
    return 0;
  }
  uv_loop_t *loop;
  napi_value name;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      napi_create_string_utf8(env, "switchyard:poll", NAPI_AUTO_LENGTH, &name) != napi_ok)
    return -1;
  if (!(w = calloc(1, sizeof *w))) return -1;
  w->env = env;
  w->port = p;
  if (uv_poll_init(loop, &w->h, p->rx_fd) != 0) {
    free(w);
    return -1;
  }
  if (napi_async_init(env, NULL, name, &w->actx) != napi_ok ||
      napi_create_reference(env, cb, 1, &w->cb) != napi_ok ||
      uv_poll_start(&w->h, UV_READABLE, on_ready) != 0) {
    finish(w);
    return -1;
  }
  p->poller = w;
  return 0;
}

void poll_stop(port_t *p) {
  struct poller *w = p->poller;
  if (!w) return;
  p->poller = NULL;
  w->port = NULL;
  uv_poll_stop(&w->h);
  w->stopping = 1;
  if (!w->in_cb) finish(w);
}

/* At environment teardown: no N-API calls, just release the uv handle. */
void poll_drop(port_t *p) {
  struct poller *w = p->poller;
  if (!w) return;
  p->poller = NULL;
  w->port = NULL;
  uv_poll_stop(&w->h);
  w->stopping = 1;
  uv_close((uv_handle_t *)&w->h, on_closed);
}
