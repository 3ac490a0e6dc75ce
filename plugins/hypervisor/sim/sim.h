/*
 * The sim backend: xend's hypervisor operations carried out by xend-simhv, a separate
 * process reached over a unix socket with simhv's line protocol (docs/simhv.md).
 *
 * open() connects, starting xend-simhv when nothing listens (it daemonises, so it is not
 * xend's child and outlives xend, as Xen would). Ops are synchronous request/reply on one
 * connection, except creates (dom_create_async, with their confirms) and destroys
 * (dom_destroy_async), which are pipelined on a second one (pipeline.c, piped.c), held by simhv
 * until confirmed when xend asks (so a crash of xend takes along what it had not acknowledged);
 * save, restore and console streams each get a connection of their own, so save and restore may run
 * on a worker thread while the loop thread calls the rest. The state-change stream is relayed into
 * a pipe the core watches, so the fd it watches stays the same even if simhv goes away and comes
 * back.
 *
 * The plugin's files, one idea each: io.c (blocking socket I/O with deadlines), start.c
 * (running xend-simhv), call.c (requests and their replies), notify.c (the state-change
 * stream), compact.c (the compact domain form of replies), piped.c (pipelined creates,
 * confirms and destroys), image.c (save and restore streams, relayed), handed.c (save and restore
 * with the socket handed to simhv), ops.c (the backend table), plugin.c
 * (settings, init and fini). Every symbol here is hidden in the plugin's .so.
 *
 * Talks SXP only through host->sxp; includes nothing but include/xend/ and libc.
 */
#ifndef XEND_PLUGIN_SIM_H
#define XEND_PLUGIN_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/host.h>

#include "pipeline.h"

#define SIM_PROTO_VERSION 3 /* simhv's, docs/simhv.md */
#define SIM_PROTO_HANDED 3  /* the first that takes a save's or restore's descriptor */
#define SIM_PROTO_OLDEST 2  /* the oldest this plugin talks to (without handing) */
#define SIM_REPLY_TIMEOUT_MS 15000
#define SIM_STREAM_TIMEOUT_MS 60000
#define SIM_START_TIMEOUT_MS 10000
#define SIM_RECONNECT_MS 1000
#define SIM_LINE_MAX ((size_t)64 * 1024 * 1024)
#define SIM_REC_MAX ((size_t)1024 * 1024)
#define SIM_STREAM_SOCKBUF (4 * 1024 * 1024) /* a restore's send buffer; wmem_max caps it */
#define SIM_IMAGE_MAGIC "SIMHVIMG"
#define SIM_REC_PAGES 1u
#define SIM_REC_END 2u
#define SIM_REC_ABORT 3u
#define SIM_REC_ROUND 4u    /* a live save's round ended: for xend, never in the image */
#define SIM_CTL_PROGRESS 5u /* a handed transfer's progress: u64 bytes, u64 pages, u64 total */

/* The backend's context: one per plugin instance, owned by plugin.c (sim_init/sim_fini). */
struct sim_ctx {
    struct xend_plugin *self;
    const struct xend_host *host;
    const struct xend_host_sxp *sxp;
    char *socket_path; /* owned */
    char *simhv_path;  /* owned */
    char *log_path;    /* owned, "" for none */
    int proto;         /* simhv's protocol version, from open on (hello) */
    const char *scheduler;
    long long cpus, memory_mb, slice_ms, delay_ms;

    pthread_mutex_t lock; /* the request connection and rbuf */
    int fd;               /* request connection, -1 while down */
    char *rbuf;           /* owned: its replies are read here, reused from call to call */
    size_t rcap;
    atomic_llong next_id;

    /* Creates and confirms, pipelined on a connection of their own (loop thread only). */
    struct sim_pipeline *pipe; /* owned; NULL until the first */

    /* State changes: simhv's notify stream relayed into a pipe the core watches. */
    int notify_pipe[2];
    int notify_sock;
    struct xend_watch *notify_watch;
    struct xend_timer *reconnect_timer;
    bool opened;
};

/* ---- io.c: blocking socket I/O; each returns 0 or a negative errno (-ETIMEDOUT at the
 * deadline, -EPIPE at an early end). Any thread. ---- */
uint64_t sim_now_ms(void);
int sim_ms_left(uint64_t deadline);
/* Wait until fd is ready for events (poll's) or the deadline passes: 0, or -ETIMEDOUT /
 * -errno. */
int sim_wait_fd(int fd, short events, uint64_t deadline);
int sim_send_all(int fd, const void *data, size_t len, uint64_t deadline);
/* The same, with the descriptor pass (borrowed: the peer gets its own) along with the first
 * byte (SCM_RIGHTS). */
int sim_send_fd(int fd, const void *data, size_t len, int pass, uint64_t deadline);
/* Exactly len bytes from a socket or a file. */
int sim_recv_exact(int fd, void *data, size_t len, uint64_t deadline);
/* All of data to a caller's fd (file, pipe or socket; blocking or not). */
int sim_write_all(int fd, const void *data, size_t len, uint64_t deadline);
/* One line, without consuming what follows it (on a stream it is the caller's); *line
 * owned (free), without its newline. */
int sim_read_line(int fd, char **line, uint64_t deadline);
/* A connected unix socket (owned), or a negative errno. */
int sim_dial(const char *path);

/* ---- start.c ---- */
/* A connection to simhv (*out, owned), starting simhv first when `start` and nothing
 * listens. 0 or an error with err set. */
int sim_connect(struct sim_ctx *c, bool start, int *out, struct xend_err *err);

/* ---- call.c: requests (SXP lists, owned by the caller until sent) ---- */
/* (OP ID), with a fresh ID. */
struct xend_sxp *sim_req_new(struct sim_ctx *c, const char *op);
/* (OP ID (domid DOMID)). */
struct xend_sxp *sim_req_dom(struct sim_ctx *c, const char *op, uint32_t domid);
/* The error of a request whose connection broke with r (a negative errno); why says how,
 * or NULL to say it from r. */
int sim_lost(struct sim_ctx *c, const char *opname, int r, const char *why, struct xend_err *err);
/* req (freed here) as its protocol line: owned text with its newline, *len bytes; its id
 * and op name copied out for checking the answer. */
char *sim_req_line(struct sim_ctx *c, struct xend_sxp *req, size_t *len, char *want_id,
                   size_t want_id_len, char *opname, size_t opname_len);
/* Is the reply line answer[0..alen) an ok for request want_id? 0, simhv's error as it came,
 * or -XEND_EBACKEND with *broken set for a line that is not an answer to it. */
int sim_check_answer(struct sim_ctx *c, const char *answer, size_t alen, const char *want_id,
                     const char *opname, bool *broken, struct xend_err *err);
/* What sim_call_raw hands an ok reply to: the raw line, borrowed for the call, with the
 * connection still locked; *broken drops the connection. */
typedef int sim_reply_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname,
                         void *arg, bool *broken, struct xend_err *err);
/* A request (freed here) on the shared connection, (re)connecting first when it is down. */
int sim_call_raw(struct sim_ctx *c, struct xend_sxp *req, sim_reply_fn *fn, void *arg,
                 struct xend_err *err);
/* The same with the reply as a tree (*reply owned) when reply is not NULL. */
int sim_call(struct sim_ctx *c, struct xend_sxp *req, struct xend_sxp **reply,
             struct xend_err *err);
/* A fresh connection turned into a stream by req (freed here), sent with the descriptor
 * pass_fd (borrowed; -1: none): *out owned by the caller. A quiet request (with (quiet 1))
 * costs no round trip: should simhv refuse it, the stream just ends. */
int sim_stream(struct sim_ctx *c, struct xend_sxp *req, bool quiet, int pass_fd,
               struct xend_sxp **reply, int *out, struct xend_err *err);
/* A non-negative integer of a reply, or -XEND_EBACKEND with err set. */
int sim_reply_u64(struct sim_ctx *c, const struct xend_sxp *rep, const char *key, uint64_t *out,
                  struct xend_err *err);

/* ---- notify.c: the state-change stream (loop thread) ---- */
int sim_notify_subscribe(struct sim_ctx *c, struct xend_err *err);
void sim_notify_drop(struct sim_ctx *c);
int sim_notify_fd(void *ctx);
void sim_notify_ack(void *ctx);

/* ---- compact.c: (d ID FLAGS REASON VCPUS CPU CPU_TIME MEM_KB MAXMEM_KB NAME) ---- */
/* The domains of a reply, handed on only once the connection is unlocked (a callback may
 * well call the backend again). */
struct sim_dom_scan {
    struct xend_dominfo *v; /* owned */
    size_t count, cap;
};
/* A sim_reply_fn for a (compact 1) reply; arg is a struct sim_dom_scan. */
int sim_doms_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname, void *arg,
                bool *broken, struct xend_err *err);
/* A lower-case hex digit's value, or -1. */
int sim_hexdig(char ch);

/* ---- piped.c: creates (the synchronous request too), confirms and destroys ---- */
struct xend_sxp *sim_create_req(struct sim_ctx *c, const char *op, const struct xend_dom_create *a);
struct xend_sxp *sim_image_args(struct sim_ctx *c, struct xend_sxp *r,
                                const struct xend_dom_image *image);
void sim_dom_create_async(void *ctx, const struct xend_dom_create *args,
                          const struct xend_dom_image *image, xend_dom_created_fn *done, void *arg);
int sim_dom_confirm(void *ctx, uint32_t domid, struct xend_err *err);
void sim_dom_destroy_async(void *ctx, uint32_t domid, xend_dom_done_fn *done, void *arg);

/* ---- image.c: save and restore (worker thread: only immutable ctx fields are used) ---- */
int sim_save(void *ctx, uint32_t domid, int fd, bool live, xend_progress_fn *progress,
             void *progress_arg, struct xend_err *err);
int sim_save_with(void *ctx, uint32_t domid, int fd, const struct xend_save_args *args,
                  struct xend_err *err);
int sim_restore(void *ctx, int fd, const struct xend_dom_create *args, uint32_t *domid,
                xend_progress_fn *progress, void *progress_arg, struct xend_err *err);

/* What image.c's relay and handed.c share. */
uint32_t sim_le32(const uint8_t *p);
uint64_t sim_le64(const uint8_t *p);
/* An I/O failure r (a negative errno) while doing `what`, as an error. */
int sim_io_err(struct xend_err *err, const char *what, int r);
/* Report done pages of total (done if larger) to progress (NULL: none); 0 to go on, or the
 * core's verdict with err set. */
int sim_report(uint64_t done, uint64_t total, xend_progress_fn *progress, void *progress_arg,
               struct xend_err *err);
/* A ROUND record's payload (buf: its 8-byte header first) to the round callback. */
void sim_round_report(const uint8_t *buf, uint32_t len, const struct xend_save_args *a);
/* An ABORT record's payload (u32 code, message) as the save's error. */
int sim_save_aborted(const uint8_t *payload, uint32_t len, struct xend_err *err);
/* simhv's last word on a restore: (ok ID (domid N)) into *domid, or its error. */
int sim_restore_answer(struct sim_ctx *c, const char *line, uint32_t *domid, struct xend_err *err);

/* ---- handed.c: save and restore through a descriptor handed to simhv ---- */
/* Whether simhv can take fd for a save or restore: it speaks SIM_PROTO_HANDED and fd is a
 * socket (a TCP connection, or a TLS connection's plaintext end). */
bool sim_handed_fits(const struct sim_ctx *c, int fd);
/* A save request (freed here) with fd handed over: simhv writes the image into fd itself,
 * under a credit granted after each progress call, and tells its rounds and progress on
 * the connection. */
int sim_handed_save(struct sim_ctx *c, struct xend_sxp *req, int fd,
                    const struct xend_save_args *args, struct xend_err *err);
/* A restore with fd handed over: simhv reads the image from fd itself. */
int sim_handed_restore(struct sim_ctx *c, int fd, const struct xend_dom_create *args,
                       uint32_t *domid, xend_progress_fn *progress, void *progress_arg,
                       struct xend_err *err);

/* ---- splice.c: an image's pages from one descriptor to another, not through xend ---- */
struct sim_mover {
    int pipe[2]; /* owned; -1 when copying */
    bool copy;   /* the kernel cannot splice these ends: copy through the caller's buffer */
};
void sim_mover_open(struct sim_mover *m);
void sim_mover_close(struct sim_mover *m);
/*
 * len bytes from `from` (a socket or a file) to `to` (a file or a socket): spliced through
 * the mover's pipe, so they stay in the kernel's pages, where both ends allow it; else
 * copied through buf (at least SIM_REC_MAX bytes). 0, or a negative errno (-EPIPE: `from`
 * ended early; -ETIMEDOUT at the deadline).
 */
int sim_move(struct sim_mover *m, int from, int to, size_t len, uint8_t *buf, uint64_t deadline);

/* ---- ops.c ---- */
extern const struct xend_backend_ops sim_backend_ops;
void sim_close(void *ctx);

#endif
