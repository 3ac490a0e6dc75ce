/*
 * What ABI 1.6 appended (include/xend/http.h: streaming replies and the form token for
 * plugins), pinned by hand like 1.5's so that a later change cannot move them. Included
 * only where the headers speak 1.6 (XEND_HAVE_HTTP_STREAM).
 */
#ifndef XEND_ABI_LAYOUT_1_6_H
#define XEND_ABI_LAYOUT_1_6_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_host_http: the stream functions after caller_role, where 1.5 ended */
XEND_PIN_OFF(xend_host_http, stream_begin, 144, 8);
XEND_PIN_OFF(xend_host_http, stream_write, 152, 8);
XEND_PIN_OFF(xend_host_http, stream_end, 160, 8);
XEND_PIN_OFF(xend_host_http, stream_backlog, 168, 8);
XEND_PIN_OFF(xend_host_http, stream_on_close, 176, 8);
XEND_PIN_OFF(xend_host_http, form_token, 184, 8);
XEND_PIN_MIN_SIZE(xend_host_http, 192);

XEND_PIN_VAL(XEND_HAVE_HTTP_STREAM, 1);
_Static_assert(XEND_ABI_MINOR >= 6, "the minor only grows");

#endif
#endif
