/*
 * Reading a config pasted or uploaded into the create page, and its problems, each with
 * its line (ui_internal.h, xend_ui_config_read): the create path's own dry run
 * (create_check.h), so the page finds what a create would refuse, SXP or xm-style Python.
 */
#include "create_check.h"
#include "ui/ui_internal.h"

int xend_ui_config_read(const char *text, size_t len, int role, struct xend_sxp **config,
                        struct xend_buf *problems)
{
    struct xend_config_problems found = {0};
    *config = NULL;
    int rc = xend_create_check(text, len, role, config, &found);
    for (size_t i = 0; i < found.n; i++) {
        xend_buf_puts(problems, "<li>");
        if (found.v[i].line > 0)
            xend_buf_printf(problems, "<b>line %u:</b> ", found.v[i].line);
        xend_ui_esc(problems, found.v[i].text);
        xend_buf_puts(problems, "</li>\n");
    }
    if (rc < 0 && found.n == 0) {
        xend_buf_puts(problems, "<li>");
        xend_ui_esc(problems, xend_err_msg(&(struct xend_err){.code = -rc}));
        xend_buf_puts(problems, "</li>\n");
    }
    xend_config_problems_free(&found);
    if (rc < 0) {
        xend_sxp_free(*config);
        *config = NULL;
    }
    return rc;
}
