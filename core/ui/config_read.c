/*
 * Reading a config pasted or uploaded into the create page, and its problems, each with
 * its line (ui_internal.h, xend_ui_config_read).
 */
#include <stdio.h>
#include <string.h>

#include "ui/ui_internal.h"

int xend_ui_config_read(const char *text, size_t len, int role, struct xend_sxp **config,
                        struct xend_buf *problems)
{
    (void)role;
    static const struct xend_sxp_limits limits = {0}; /* the parser's defaults */
    char msg[256];
    *config = NULL;
    struct xend_sxp *v = NULL;
    if (xend_sxp_parse(text, len, &limits, &v, msg, sizeof(msg)) < 0) {
        xend_buf_puts(problems, "<li>");
        xend_ui_esc(problems, msg);
        xend_buf_puts(problems, "</li>\n");
        return -XEND_EINVAL;
    }
    *config = v;
    return 0;
}
