/*
 * The core's own settings (settings.h): one lookup per key, with its default and range.
 *
 * Must never: read a plugin's key.
 */
#include "settings.h"

#include <string.h>

int xend_settings_read(struct xend_config *cfg, struct xend_settings *out, struct xend_err *err)
{
    static const char *const levels[] = {
        [XEND_LOG_ERROR] = "error", [XEND_LOG_WARN] = "warn",   [XEND_LOG_NOTICE] = "notice",
        [XEND_LOG_INFO] = "info",   [XEND_LOG_DEBUG] = "debug", NULL,
    };
    memset(out, 0, sizeof(*out));
    int level = XEND_DEFAULT_LOG_LEVEL;
    int rc;
    if ((rc = xend_config_get_int(cfg, "xend-port", XEND_DEFAULT_PORT, 1, 65535, &out->port, err)) <
            0 ||
        (rc = xend_config_get_str(cfg, "xend-address", XEND_DEFAULT_ADDRESS, &out->address, err)) <
            0 ||
        (rc = xend_config_get_str(cfg, "state-dir", XEND_DEFAULT_STATE_DIR, &out->state_dir, err)) <
            0 ||
        (rc = xend_config_get_str(cfg, "log-file", XEND_DEFAULT_LOG_FILE, &out->log_file, err)) <
            0 ||
        (rc = xend_config_get_enum(cfg, "log-level", levels, level, &level, err)) < 0 ||
        (rc = xend_config_get_int(cfg, "log-max-size", XEND_DEFAULT_LOG_MAX_SIZE, 0,
                                  (long long)1 << 40, &out->log_max_size, err)) < 0 ||
        (rc = xend_config_get_int(cfg, "log-max-files", XEND_DEFAULT_LOG_MAX_FILES, 0, 100,
                                  &out->log_max_files, err)) < 0 ||
        (rc = xend_config_get_str(cfg, "pid-file", XEND_DEFAULT_PID_FILE, &out->pid_file, err)) <
            0 ||
        (rc = xend_config_get_str(cfg, "trace-file", XEND_DEFAULT_TRACE_FILE, &out->trace_file,
                                  err)) < 0 ||
        (rc = xend_config_get_str(cfg, "plugin-dir", NULL, &out->plugin_dir, err)) < 0 ||
        (rc = xend_config_get_list(cfg, "plugins", &out->plugins, &out->n_plugins, err)) < 0 ||
        (rc = xend_config_get_str(cfg, "backend", XEND_DEFAULT_BACKEND, &out->backend, err)) < 0 ||
        (rc = xend_config_get_str(cfg, "script-dir", XEND_DEFAULT_SCRIPT_DIR, &out->script_dir,
                                  err)) < 0 ||
        (rc = xend_config_get_str(cfg, "save-dir", "", &out->save_dir, err)) < 0)
        return rc;
    if ((rc = xend_config_get_str(cfg, "admin-group", "", &out->admin_group, err)) < 0 ||
        (rc = xend_config_get_str(cfg, "operator-group", "", &out->operator_group, err)) < 0 ||
        (rc = xend_config_get_str(cfg, "viewer-group", "", &out->viewer_group, err)) < 0 ||
        (rc = xend_config_get_bool(cfg, "xend-allow-remote-plain", false, &out->allow_remote_plain,
                                   err)) < 0 ||
        (rc = xend_config_get_list(cfg, "xend-http-names", &out->http_names, &out->n_http_names,
                                   err)) < 0)
        return rc;
    out->log_level = (enum xend_log_level)level;
    /* The first bad one ends a start; a collecting xend check gets 0 and names them all. */
    rc = 0;
    if (out->state_dir[0] == '\0' && rc == 0)
        rc = xend_config_invalid(cfg, "state-dir", err, "must not be empty");
    if (out->pid_file[0] == '\0' && rc == 0)
        rc = xend_config_invalid(cfg, "pid-file", err, "must not be empty");
    if (out->save_dir[0] != '\0' && out->save_dir[0] != '/' && rc == 0)
        rc = xend_config_invalid(cfg, "save-dir", err, "must be an absolute path");
    if (out->backend[0] == '\0' && rc == 0)
        rc = xend_config_invalid(cfg, "backend", err, "must not be empty");
    return rc;
}
