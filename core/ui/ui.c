/*
 * The operator's interface: registration of its pages (ui.h). Each page is its own file.
 */
#include "ui/ui.h"

#include "ui/ui_internal.h"

int xend_ui_register(void)
{
    xend_ui_http = xend_http_host_table();
    int rc = xend_ui_assets_register();
    if (rc == 0)
        rc = xend_ui_overview_register();
    if (rc == 0)
        rc = xend_ui_domain_register();
    if (rc == 0)
        rc = xend_ui_create_register();
    if (rc == 0)
        rc = xend_ui_views_register();
    return rc;
}
