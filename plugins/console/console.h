/*
 * The console plugin's internal interface, shared by its files (never installed, never
 * seen by the core):
 *
 *   plugin.c  init/fini, settings, lifecycle hooks, domain info, events
 *   conn.c    one console: its TCP listener, its one client, the backend byte stream, and
 *             the pump between them (non-blocking, backpressure, bounded buffering)
 *   http.c    /xend/console routes
 *   ring.c    the bounded output queue
 *   web.c     browser followers: the SSE output stream and input by POST
 *   page.c    the terminal page and its static assets (xterm.js)
 *   base64.c  base64 for the SSE events
 *
 * A console belongs to a domain handle (its per-plugin priv) from CREATE (or REATTACH,
 * RESTORE) to the domain's final DESTROY; it outlives restarts of the domain. The plugin
 * uses only include/xend/ and must never block the loop or buffer without bound.
 */
#ifndef XEND_CONSOLE_H
#define XEND_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include <xend/host.h>

#include "ring.h"

/* Default cap on output kept while no client is connected, replayed on connect
 * (console-replay-max; 2.0 kept 64 KiB, docs/console.md says why this is smaller). */
#define CONSOLE_REPLAY_MAX_DEFAULT (16u * 1024u)
/* Default deadlines of a connected client, in seconds (docs/console.md, "Deadlines"). */
#define CONSOLE_IDLE_TIMEOUT_DEFAULT 3600
#define CONSOLE_SEND_TIMEOUT_DEFAULT 30
/* Default cap on output queued for a connected client that reads slowly. */
#define CONSOLE_BUFFER_MAX_DEFAULT (256u * 1024u)
/* Client input waiting for the guest side; the client is not read while this is full.
 * Allocated only when the guest side lags, freed once empty when the client leaves. */
#define CONSOLE_IN_MAX ((size_t)16 * 1024)
/* Where xterm.js and xterm.css are looked for (console-xterm-dir); the build sets the
 * installed path (share/xend/xterm). */
#ifndef XEND_CONSOLE_XTERM_DIR
#define XEND_CONSOLE_XTERM_DIR "/usr/share/xend/xterm"
#endif
/* The domain-side port of the console channel, as the original reported it. */
#define CONSOLE_REMOTE_PORT 1

/* Settings and the list of live consoles: one per loaded plugin. */
struct console_plugin {
    struct xend_plugin *self;
    const struct xend_host *host;
    long long port_base;   /* console-port-base */
    const char *address;   /* console-address; borrowed from the config for the process */
    bool takeover;         /* console-takeover: a new client replaces the connected one */
    size_t buffer_max;     /* console-buffer-max */
    size_t replay_max;     /* console-replay-max */
    const char *xterm_dir; /* console-xterm-dir; borrowed from the config for the process */
    uint64_t idle_ms;      /* console-idle-timeout: no byte either way; 0 = none */
    uint64_t send_ms;      /* console-send-timeout: queued output unread; 0 = none */
    struct console *list;  /* open consoles, newest first */
    /* Open consoles by port % CONSOLE_PORT_BUCKETS: a create checks that its port is free,
     * and a walk of the list made a thousand creates quadratic. */
#define CONSOLE_PORT_BUCKETS 1024
    struct console *by_port[CONSOLE_PORT_BUCKETS];
};

extern struct console_plugin console_plugin;

enum console_status {
    CONSOLE_LISTENING,
    CONSOLE_CONNECTED,
    CONSOLE_CLOSED,
};

struct console {
    struct console *next, *prev; /* the open list: a close unlinks without a walk */
    struct console *port_next;   /* chain of its by_port bucket */
    struct xend_domain *dom;     /* borrowed: the handle outlives the console */
    long long id;                /* small id shown by xm consoles; see console_id_for_port */
    int port;                    /* TCP port, stable for the console's life */
    uint32_t domid;              /* the instance the stream belongs to (changes on restart) */
    bool closed;

    int lfd; /* listener */
    struct xend_watch *lw;

    int cfd; /* the client, -1 when none */
    struct xend_watch *cw;
    uint32_t cw_events;
    char peer_host[INET6_ADDRSTRLEN];
    int peer_port;
    /* The client's deadlines (deadline.c): the last byte moved either way, and the last
     * progress of queued output (or when it started to wait); the timer, or NULL. */
    uint64_t active_ms, sent_ms;
    struct xend_timer *ct;

    bool live; /* instance domid runs: its stream is open, or opens when a client comes */
    int gfd;   /* the backend's byte stream, -1 when none (dead domain, between instances,
                * or on demand with no client) */
    struct xend_watch *gw;
    uint32_t gw_events;

    /* Both queues are allocated when bytes first wait and freed (if empty) when the client
     * leaves: a console nobody uses is this struct, a listener and its watch. */
    struct console_ring out; /* guest -> client */
    struct console_ring in;  /* client -> guest, up to CONSOLE_IN_MAX */

    /* Browser followers (web.c), newest first, and the recent output they are shown first:
     * the last console-replay-max bytes, kept while anyone (follower or TCP client) watches
     * the console and freed when nobody does. out_total counts guest output ever read: an
     * SSE event's id, where a follower resumes. */
    struct console_follower *followers;
    size_t nfollowers;
    struct console_ring hist;
    uint64_t out_total;

    bool dropping;          /* inside a drop episode: logged once, ends when out drains */
    uint64_t dropped;       /* bytes of guest output dropped, ever */
    uint64_t drop_episodes; /* episodes logged */
};

/* What tests and the benchmark read to check the accounting. */
struct console_stats {
    size_t buffered;     /* guest output queued in the plugin now */
    size_t buffer_limit; /* what it may reach now: buffer_max with a client, else replay_max */
    size_t capacity;     /* bytes allocated for the output queue */
    size_t in_buffered;  /* client input waiting for the guest */
    size_t in_capacity;  /* bytes allocated for it */
    uint64_t dropped;
    uint64_t drop_episodes;
    bool connected;
    bool streaming; /* the backend stream is open */
};

/*
 * Open a console for dom on TCP `port`: listen (SO_REUSEADDR) on console_plugin.address.
 * A port in use is -XEND_EEXIST "console port in use: N". `reuse` (borrowed, may be NULL)
 * is a closed console of the same domain to open again in place, so that the domain's
 * priv pointer never changes; it is untouched on failure. *out is in the plugin's list
 * until console_close, and is freed by console_free.
 */
int console_open(struct xend_domain *dom, int port, struct console *reuse, struct console **out,
                 struct xend_err *err);
/*
 * Instance domid of the domain is live: connect its backend stream (closing any old one).
 * Where the backend keeps console output while no stream is open
 * (XEND_BACKEND_CONSOLE_KEEPS_OUTPUT) the stream is connected only while a client is, and
 * let go when it leaves; this then only records the instance. -XEND_ENOTSUP when the
 * backend has no console stream.
 */
int console_stream_open(struct console *c, uint32_t domid, struct xend_err *err);
/* Let go of the backend stream (the instance is going); listener and client stay. */
void console_stream_close(struct console *c);
/* Arm a new client's deadlines / stop them (deadline.c). */
void console_deadline_start(struct console *c);
void console_deadline_stop(struct console *c);
/* Drop the connected client, if any (emits xend.console.disconnect). */
void console_client_drop(struct console *c, const char *why);
/* Close client, stream and listener and leave the list; emits xend.console.close unless
 * quiet (xend is stopping). Idempotent. The memory stays until console_free. */
void console_close(struct console *c, bool quiet);
/* The priv free function: closes (with the close event) if still open, then frees. */
void console_free(void *priv);

/* The console SXP (owned): (console (status ..) (id ..) (domain ..) ...). */
/*
 * The console's (console (status ...) (id ...) ... [(connected HOST PORT)]) item, as text
 * with a leading space, through put: what the domain info carries (a text describer) and,
 * parsed, what console_sxp returns.
 */
void console_print(const struct console *c, xend_describe_put_fn *put, void *put_ctx);
/* Tell the core that what console_print shows of c changed (its describer's text is kept
 * with the domain's info until then). Call after every change console_print would show. */
void console_described_changed(const struct console *c);
/* The same item as a tree; owned by the caller (host->sxp->free). */
struct xend_sxp *console_sxp(const struct console *c);
/* Room for console_print's longest text. */
struct console_text {
    char data[512];
    size_t len;
};

/* The open console on TCP port / with console id; NULL when none. Borrowed. */
struct console *console_find_port(long long port);
struct console *console_find_id(long long id);
/* The console id of a TCP port: port - console-port-base at or above the base, else
 * port + 65536 (so the two ranges never collide). */
long long console_id_for_port(int port);

void console_stats_get(const struct console *c, struct console_stats *out);

/* Register the routes of http.c: 0 or a negative code with plugin_err_set done. */
int console_http_init(void);
/* The console named by a route's {id} capture (its TCP port), or -XEND_ENOENT with the
 * request's error set ("invalid console:PORT"). */
int console_from_req(struct xend_request *req, struct console **out);

/* ---- shared by conn.c and web.c ---- */
/* Someone wants the guest stream open: the TCP client or a browser follower. */
bool console_watched(const struct console *c);
/* Open the backend stream of a live instance on demand, if it is not open (a follower came,
 * or input arrived): 0, or the backend's error (the stream stays closed). */
int console_stream_hold(struct console *c, struct xend_err *err);
/* On demand, let the stream go once nobody wants it and no input waits for the guest:
 * what the backend already sent is kept for the next client. */
void console_stream_release(struct console *c);
/*
 * Input for the guest from the HTTP side, the same path as the TCP client's: straight to
 * the stream, what it does not take queued (CONSOLE_IN_MAX in all). 0, -XEND_EBUSY with err
 * when the guest is not running, -XEND_ELIMIT when it does not fit the queue (nothing of it
 * is sent then).
 */
int console_input(struct console *c, const char *p, size_t n, struct xend_err *err);

/* web.c: guest output for the followers (and the recent history); called by conn.c for
 * every byte read from the guest, before the TCP side sees it. */
void console_web_output(struct console *c, const char *p, size_t n);
/* web.c: end every follower's stream and free the history (the console closes). */
void console_web_close(struct console *c);
/* web.c: the watchers changed (a TCP client came or went): keep or free the history. */
void console_web_watch_changed(struct console *c);
/* web.c, page.c: register their routes (0, or a negative code with plugin_err_set). */
int console_web_init(void);
int console_page_init(void);
/* page.c: free the cached assets (fini). */
void console_page_fini(void);

/* base64.c: the encoded length of n bytes, and the encoding of p into out (room for
 * base64_len(n) bytes; no NUL is written). */
size_t console_base64_len(size_t n);
void console_base64(const void *p, size_t n, char *out);

#endif
