/*
 * The pages' static files, compiled in from core/ui/assets by cmake/embed_assets.cmake.
 */
#ifndef XEND_CORE_UI_ASSETS_H
#define XEND_CORE_UI_ASSETS_H

#include <stddef.h>

struct xend_ui_asset {
    const char *name; /* "ui.css" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
};

/* Ended by an entry with a NULL name. */
extern const struct xend_ui_asset xend_ui_assets[];

#endif
