/*
 * The simhv protocol: one SXP request per line, one SXP reply per line (docs/simhv.md).
 *
 *   request  (OP ID (key value)...)          ID: a decimal number the client picks
 *   reply    (ok ID (key value)...)  or  (err ID CODE "message")   CODE: an XEND_E number
 *
 * A few requests turn the connection into a stream afterwards (console, notify, save,
 * restore); the dispatcher says so in its result and the server does the switching.
 * Never touches sockets: it reads a line and writes reply text.
 */
#ifndef SIMHV_PROTO_H
#define SIMHV_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "domain.h"
#include "image.h"

/* 2: dom_make, dom_confirm and (quiet 1) requests; every version-1 request is unchanged.
 * 3: save and restore through a descriptor handed with the request ((fd 1), docs/simhv.md
 * "Handed descriptors"); every version-2 request is unchanged. */
#define SIMHV_PROTO_VERSION 3

enum simhv_proto_action {
    SIMHV_ACT_NONE,    /* stay a request connection */
    SIMHV_ACT_CONSOLE, /* become domain dom_uid's console byte stream */
    SIMHV_ACT_NOTIFY,  /* become a notification stream */
    SIMHV_ACT_SAVE,    /* stream `saver`'s output, then close */
    SIMHV_ACT_RESTORE, /* feed the rest to `restorer`; reply (with req_id) when it ends */
    SIMHV_ACT_STOP,    /* simhv should exit after sending the reply */
    SIMHV_ACT_HANGUP,  /* a (quiet 1) request failed: close without a reply */
};

struct simhv_proto_result {
    enum simhv_proto_action action;
    uint64_t dom_uid;
    long long req_id;
    struct simhv_saver *saver;       /* owned by the caller once returned */
    struct simhv_restorer *restorer; /* owned by the caller once returned */
    /* save, restore with (fd 1): the image goes through the descriptor handed with the
     * request, under the client's credit, with a progress record every report_bytes */
    bool handed;
    uint64_t report_bytes;
};

/*
 * Handle one request line (without its newline) from `client` (an opaque token that owns
 * the domains it creates until they are built, or confirmed when made with (hold 1)).
 * Appends the reply line, if any, to out. A request with (quiet 1) gets no reply line:
 * on success it just takes effect (a console stream starts at once), on failure the
 * action is SIMHV_ACT_HANGUP, so that its client need not wait for an answer.
 */
void simhv_proto_handle(struct simhv_machine *m, const void *client, const char *line, size_t len,
                        uint64_t now_ns, struct xend_buf *out, struct simhv_proto_result *res);
/* The same for a request that came with a descriptor (fd_passed), which a save or restore
 * with (fd 1) takes (res->handed); one without it refuses (fd 1). */
void simhv_proto_handle_with(struct simhv_machine *m, const void *client, const char *line,
                             size_t len, uint64_t now_ns, bool fd_passed, struct xend_buf *out,
                             struct simhv_proto_result *res);
/* Append the reply line (ok ID) or (err ID CODE "msg") for an operation that ended later. */
void simhv_proto_reply(struct xend_buf *out, long long id, int rc, const struct xend_err *err,
                       const char *key, long long value);

#endif
