/*
 * Test support for core/http: stubs for the parts of the core the HTTP layer calls (the
 * log, plugin names), a fake transport that captures replies, and request helpers.
 */
#ifndef XEND_TEST_HTTP_SUPPORT_H
#define XEND_TEST_HTTP_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "http/internal.h"

/* The opaque plugin handle, as the tests fake it. */
struct xend_plugin {
    const char *name;
};

/* Every log line emitted, "event key=value..." one per line. */
extern struct xend_buf test_log;

/* What the fake transport saw. */
struct captured {
    int nsent;
    int status;
    char reason[256];
    char ctype[128];
    struct xend_buf body;
    char location[256];
    char allow[64];
    bool stream_head, stream_ended;
    struct xend_buf stream;
};
extern struct captured cap;
extern const struct xend_http_transport test_transport;

/* The caller of every mkreq request (root, admitted); tests may change it. */
extern struct xend_http_who test_who;

void capture_reset(void);
/* A request as a client would send it; strings may be NULL. The fake transport is used. */
struct xend_request *mkreq(const char *method, const char *path, const char *query,
                           const char *ctype, const char *ua, const char *accept);
/* mkreq + run with body; the request is left for the test to free (or detach). */
struct xend_request *run_req(const char *method, const char *path, const char *query,
                             const char *ctype, const char *body);

#endif
