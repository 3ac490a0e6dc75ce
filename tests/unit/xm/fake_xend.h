/*
 * A fake xend for the xm unit tests: a thread serving canned HTTP replies on a unix socket
 * and recording every request it got. One request per connection, as xm makes them.
 */
#ifndef XM_TEST_FAKE_XEND_H
#define XM_TEST_FAKE_XEND_H

#include <stddef.h>

struct fake_reply {
    const char *match; /* "METHOD TARGET", e.g. "GET /xend/domain/?detail=1" */
    int status;
    const char *reason;
    const char *ctype; /* NULL: no Content-Type */
    const char *body;
    int times; /* serve at most this many times (0 = always) */
};

struct fake_xend;

/* Start serving; replies is borrowed until fake_xend_stop. Unmatched requests get 404. */
struct fake_xend *fake_xend_start(const struct fake_reply *replies, size_t n);
/* The server address for xm, "unix:/tmp/...". */
const char *fake_xend_url(const struct fake_xend *fx);
size_t fake_xend_count(struct fake_xend *fx);
/* Request i as "METHOD TARGET" and its body (borrowed, valid until stop). */
const char *fake_xend_request(struct fake_xend *fx, size_t i);
const char *fake_xend_body(struct fake_xend *fx, size_t i);
void fake_xend_stop(struct fake_xend *fx);

#endif
