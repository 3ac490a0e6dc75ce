/*
 * The core's own settings, read from the config in one place so that main.c, the example
 * file (examples/xend.conf) and docs/config.md name the same keys with the same defaults.
 * Plugins read their own keys (vif-bridge, console-port-base ...) through host->config.
 *
 * Must never: read a plugin's key (that would make it known even when the plugin is not
 * loaded, hiding a typo from xend_config_check_unknown).
 */
#ifndef XEND_CORE_CONFIG_SETTINGS_H
#define XEND_CORE_CONFIG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "config.h"

#ifndef XEND_CONFIG_DIR
#define XEND_CONFIG_DIR "/etc/xen"
#endif
#define XEND_DEFAULT_CONFIG_FILE XEND_CONFIG_DIR "/xend.conf"
#define XEND_DEFAULT_PORT 8000
#define XEND_DEFAULT_ADDRESS "127.0.0.1" /* 2004's default was "" (all addresses) */
#define XEND_DEFAULT_STATE_DIR "/var/lib/xend"
#define XEND_DEFAULT_LOG_FILE "/var/log/xend.log"
#define XEND_DEFAULT_LOG_LEVEL XEND_LOG_INFO
#define XEND_DEFAULT_LOG_MAX_SIZE (1 << 20) /* as the 2004 xend's RotatingFileHandler */
#define XEND_DEFAULT_LOG_MAX_FILES 5
#define XEND_DEFAULT_PID_FILE "/var/run/xend.pid"
#define XEND_DEFAULT_TRACE_FILE "/var/log/xend.trace" /* as 2004's */
#define XEND_DEFAULT_BACKEND "auto"
#define XEND_DEFAULT_SCRIPT_DIR XEND_CONFIG_DIR

/* Every string is borrowed from the config (or a default literal). */
struct xend_settings {
    long long port;                /* xend-port, 1..65535 */
    const char *address;           /* xend-address; "" = all addresses */
    const char *state_dir;         /* state-dir */
    const char *log_file;          /* log-file; "" = no file */
    enum xend_log_level log_level; /* log-level: error, warn, notice, info, debug */
    long long log_max_size;        /* log-max-size, bytes, 0 = never rotate */
    long long log_max_files;       /* log-max-files, 0..100 */
    const char *pid_file;          /* pid-file */
    const char *trace_file;        /* trace-file: the debug port's traceon writes here */
    const char *plugin_dir;        /* plugin-dir; NULL = lib/xend/plugins beside the binary */
    const char *const *plugins;    /* plugins; NULL = every .so in plugin-dir, by name */
    size_t n_plugins;
    const char *backend;    /* backend: "auto" or a backend's name ("sim", "xenctrl") */
    const char *script_dir; /* script-dir */
    const char *save_dir;   /* save-dir; "" = save and restore anywhere (absolute paths) */

    /* Who may use xend (docs/security.md). */
    const char *admin_group;       /* admin-group: admins besides root; "" = none */
    const char *operator_group;    /* operator-group: operators; "" = none */
    const char *viewer_group;      /* viewer-group: viewers; "" = none */
    bool allow_remote_plain;       /* xend-allow-remote-plain: other hosts over plain HTTP */
    const char *const *http_names; /* xend-http-names: more Host names xend answers to */
    size_t n_http_names;
};

/* Read (and so mark known) every core key. -XEND_EINVAL with "FILE:LINE: setting ..." on
 * the first bad value. */
int xend_settings_read(struct xend_config *cfg, struct xend_settings *out, struct xend_err *err);

#endif
