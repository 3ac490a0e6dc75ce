/*
 * The operator's interface in a browser (docs/ui.md): server-rendered pages under / and
 * /ui/, built from what the protocol's own routes serve (http.h, xend_http_get), whose
 * actions are forms posting to those routes (post/redirect/get, core/http/html.c). The
 * JavaScript only adds live updates.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_UI_H
#define XEND_CORE_UI_H

/* Register the pages' routes; 0 or a negative XEND_E code (logged by the router). */
int xend_ui_register(void);

#endif
