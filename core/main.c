/*
 * xend: the control daemon of a Xen host. main() decides the order of start-up and
 * shut-down; every part it calls lives in its own file. Must never hold domain state of
 * its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "confine.h"
#include "config/config.h"
#include "crashpoint.h"
#include "config/settings.h"
#include "daemon/daemon.h"
#include "daemon/sd_notify.h"
#include "device_journal.h"
#include "device_registry.h"
#include "domain_table.h"
#include "domain_http.h"
#include "event/event.h"
#include "event/budget.h"
#include "event/history.h"
#include "metrics_http.h"
#include "event/event_http.h"
#include "event/event_port.h"
#include "log/trace.h"
#include "handover.h"
#include "host_table.h"
#include "http/access_control.h"
#include "http/server.h"
#include "http/ratelimit.h"
#include "http/remote.h"
#include "http/tokens.h"
#include "hv.h"
#include "lifecycle.h"
#include "loader.h"
#include "sxp.h"
#include "tls.h"
#include "trim.h"
#include "log/crash.h"
#include "log/log.h"
#include "event_loop.h"
#include "libevent_mem.h"
#include "node_http.h"
#include "scheduler.h"
#include "store/store.h"
#include "store_plugin.h"
#include "transfer.h"
#include "ui/ui.h"

#define STOP_TIMEOUT_MS 60000
#define STOP_DRAIN_MS 20000 /* within xend stop's wait, so a stop is never cut short */

struct xend_runtime {
    struct xend_config *cfg;
    struct xend_settings set;
    struct xend_store *store;
    struct xend_daemon_pidfile *pidfile;
    struct xend_daemon_ready ready;
    char exe_dir[PATH_MAX];
    char plugin_dir[PATH_MAX + 64];
    bool foreground;
    bool check; /* xend check: read everything a start reads, start nothing */
};

static void die(struct xend_runtime *rt, const char *msg)
{
    if (!rt->check)
        xend_log_error("start failed", "error=\"%s\"", msg);
    if (rt->ready.fd >= 0)
        xend_daemon_ready_fail(&rt->ready, msg);
    else
        fprintf(stderr, "xend: %s\n", msg);
    exit(1);
}

static void exe_dir(char *out, size_t len)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0) {
        snprintf(out, len, "/usr/sbin");
        return;
    }
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, len, "%s", path);
}

/* The relocation port's TLS settings (docs/relocation.md); *on says whether it speaks TLS. */
static int relocation_tls_settings(struct xend_runtime *rt, struct xend_tls_options *o, bool *on,
                                   struct xend_err *err)
{
    *o = (struct xend_tls_options){0};
    if (xend_config_get_bool(rt->cfg, "relocation-tls", false, on, err) < 0 ||
        xend_config_get_str(rt->cfg, "relocation-cert", XEND_CONFIG_DIR "/xend-relocation-cert.pem",
                            &o->cert, err) < 0 ||
        xend_config_get_str(rt->cfg, "relocation-key", XEND_CONFIG_DIR "/xend-relocation-key.pem",
                            &o->key, err) < 0 ||
        xend_config_get_str(rt->cfg, "relocation-ca", "", &o->ca, err) < 0 ||
        xend_config_get_str(rt->cfg, "relocation-peers", "", &o->pins, err) < 0)
        return err->code ? -err->code : -XEND_EINVAL; /* never 0 with a setting unread */
    return 0;
}

/* The HTTPS port and who it admits (docs/security.md, "Remote callers"). The host
 * certificate is the relocation one unless told otherwise: `xend cert` makes one for both. */
struct https_settings {
    long long port; /* 0 = no HTTPS port */
    struct xend_https_options tls;
    struct xend_http_remote_options remote;
    long long session_s;
};

static int https_settings(struct xend_runtime *rt, struct https_settings *h, struct xend_err *err)
{
    struct xend_tls_options reloc;
    bool on;
    *h = (struct https_settings){.session_s = 28800};
    if (relocation_tls_settings(rt, &reloc, &on, err) < 0 ||
        xend_config_get_int(rt->cfg, "xend-https-port", 0, 0, 65535, &h->port, err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-https-address", "", &h->tls.address, err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-https-cert", reloc.cert, &h->tls.cert, err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-https-key", reloc.key, &h->tls.key, err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-https-ca", "", &h->tls.ca, err) < 0 ||
        xend_config_get_list(rt->cfg, "xend-https-clients", &h->remote.clients,
                             &h->remote.n_clients, err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-token-file", "", &h->remote.token_file, err) < 0 ||
        xend_config_get_int(rt->cfg, "xend-session-timeout", 28800, 60, 30LL * 86400, &h->session_s,
                            err) < 0)
        return -err->code;
    h->tls.port = (int)h->port;
    h->remote.session_seconds = (unsigned)h->session_s;
    return 0;
}

/* xend token add NAME ROLE: the token is printed once and stored nowhere but in the
 * caller's hands; the file gets its hash. */
static int add_token(struct xend_runtime *rt, const char *name, const char *role)
{
    struct xend_err err = {0};
    struct https_settings h;
    char token[XEND_TOKEN_TEXT_LEN + 1];
    if (https_settings(rt, &h, &err) < 0) {
        fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
        return 1;
    }
    if (h.remote.token_file == NULL || h.remote.token_file[0] == '\0') {
        fprintf(stderr, "xend: xend-token-file is not set in %s: name the file first\n",
                xend_config_path(rt->cfg));
        return 1;
    }
    if (xend_tokens_add(h.remote.token_file, name, role, token, &err) < 0) {
        fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
        return 1;
    }
    printf("%s\n", token);
    fflush(stdout);
    memset(token, 0, sizeof(token));
    fprintf(stderr, "token '%s' (%s) added to %s; it is shown only this once\n", name, role,
            h.remote.token_file);
    return 0;
}

/* xend cert: the host's relocation identity, made once; its fingerprint, every time. */
static int make_relocation_identity(struct xend_runtime *rt)
{
    struct xend_err err = {0};
    struct xend_tls_options o;
    bool on;
    char host[256] = "xend", fp[XEND_TLS_FINGERPRINT_LEN + 1];
    gethostname(host, sizeof(host) - 1);
    if (relocation_tls_settings(rt, &o, &on, &err) < 0) {
        fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
        return 1;
    }
    if (o.cert == NULL || o.cert[0] == '\0' || o.key == NULL || o.key[0] == '\0') {
        fprintf(stderr, "xend: relocation-cert and relocation-key must name files\n");
        return 1;
    }
    struct stat st;
    if (stat(o.cert, &st) < 0) {
        if (xend_tls_make_identity(o.cert, o.key, host, &err) < 0) {
            fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
            return 1;
        }
        printf("made %s and %s\n", o.key, o.cert);
    }
    if (xend_tls_fingerprint_file(o.cert, fp, &err) < 0) {
        fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
        return 1;
    }
    printf("fingerprint %s\n", fp);
    return 0;
}

/* A test asked this build to die here (crashpoint.h): say where, then go. */
static void report_crash_point(const char *name)
{
    xend_log_error("crash point reached", "point=%s", name);
}

/* An absolute version of path (the daemon chdirs to /); owned. */
static char *absolute(const char *path)
{
    if (path == NULL || path[0] == '\0' || path[0] == '/')
        return xend_xstrdup(path ? path : "");
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return xend_xstrdup(path);
    return xend_xasprintf("%s/%s", cwd, path);
}

static void on_hup(void)
{
    xend_log_reopen();
    xend_log_notice("log reopened", "signal=HUP");
}

static struct xend_domain *resolve_domain(const char *name_or_id, bool incoming)
{
    struct xend_domain *d = xend_domain_lookup(name_or_id);
    return d && (incoming || d->phase != XEND_DOM_CREATING) ? d : NULL;
}

/* The event port admits admins only: it can inject any event and drop console clients. */
static int event_port_check(int fd, struct xend_err *err)
{
    struct xend_http_who who = {0};
    return xend_http_access_peer(fd, &who, XEND_ROLE_ADMIN, err);
}

/* The debug port's plain `info`: device controllers, then each domain with what plugins
 * describe of it (its console: port and who is connected). */
static void event_port_info(struct xend_buf *out)
{
    xend_device_controllers_print(out);
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    xend_buf_puts(out, "domains and their consoles:\n");
    for (size_t i = 0; i < n; i++) {
        xend_buf_printf(out, "  %s (%u):", all[i]->name, all[i]->id);
        size_t before = out->len;
        xend_domain_described_print(all[i], out);
        if (out->len == before)
            xend_buf_puts(out, " -");
        xend_buf_putc(out, '\n');
    }
    free(all);
}

static int post_to_loop(void *ctx, xend_work_fn *fn, void *arg)
{
    (void)ctx;
    return xend_loop_post(fn, arg);
}

static void load_config(struct xend_runtime *rt, const struct xend_daemon_args *args)
{
    struct xend_err err = {0};
    const char *path = args->config_path ? args->config_path : XEND_DEFAULT_CONFIG_FILE;
    rt->cfg = xend_config_load(path, args->config_path != NULL, &err);
    if (rt->cfg == NULL)
        die(rt, xend_err_msg(&err));
    for (size_t i = 0; i < args->n_overrides; i++)
        if (xend_config_set(rt->cfg, args->overrides[i].key, args->overrides[i].value, &err) < 0)
            die(rt, xend_err_msg(&err));
    if (rt->check)
        xend_config_collect_problems(rt->cfg);
    if (xend_settings_read(rt->cfg, &rt->set, &err) < 0)
        die(rt, xend_err_msg(&err));
}

static void print_line(void *arg, const char *msg)
{
    fprintf(arg, "%s\n", msg);
}

/* A plugin whose init refused a setting's value (beyond its type and range) fails its
 * load, as it would at start: that is a problem of the file too. */
static size_t print_refused_plugins(void)
{
    struct xend_sxp *all = xend_loader_describe();
    size_t n = 0;
    for (size_t i = 1; i < xend_sxp_length(all); i++) {
        const struct xend_sxp *p = xend_sxp_nth(all, i);
        if (strcmp(xend_sxp_child_value(p, "status", ""), "refused") != 0)
            continue;
        printf("%s: plugin refused: %s\n", xend_sxp_child_value(p, "file", "?"),
               xend_sxp_child_value(p, "reason", "?"));
        n++;
    }
    xend_sxp_free(all);
    return n;
}

/*
 * xend check, once the core's settings are read (each bad value kept, the default taken):
 * the plugins are loaded as a start loads them, so that each reads its own settings, then
 * every bad value and every setting nobody read is a problem, in the file's order. No
 * store, no log file, no backend, no listener.
 */
static int check_plugins(struct xend_runtime *rt, const char *plugin_dir, const char *scheduler)
{
    struct xend_err err = {0};
    if (xend_loop_init(4, &err) < 0)
        die(rt, xend_err_msg(&err));
    xend_domain_table_init();
    xend_sched_init(scheduler);
    const struct xend_host *host = xend_host_table(rt->cfg);
    xend_loader_load_dir(plugin_dir, rt->set.plugins, rt->set.n_plugins, host);
    size_t n = xend_config_problems_each(rt->cfg, print_line, stdout);
    n += print_refused_plugins();
    if (n == 0)
        printf("%s: ok\n", xend_config_path(rt->cfg));
    xend_loader_fini_all();
    xend_loop_free();
    xend_domain_table_free();
    xend_sched_remove_owner(NULL);
    xend_http_routes_clear();
    xend_loader_free();
    xend_config_free(rt->cfg);
    return n == 0 ? 0 : 1;
}

/* A stop's drain waits for the backend's answers and the store too: a create's or a
 * teardown's last steps come from them. */
static bool stop_waits_for(void *store)
{
    return xend_lifecycle_busy() || xend_store_busy(store);
}

static int run_daemon(struct xend_runtime *rt)
{
    struct xend_err err = {0};
    char msg[768];
    exe_dir(rt->exe_dir, sizeof(rt->exe_dir));
    if (rt->set.plugin_dir)
        snprintf(rt->plugin_dir, sizeof(rt->plugin_dir), "%s", rt->set.plugin_dir);
    else
        snprintf(rt->plugin_dir, sizeof(rt->plugin_dir), "%s/" XEND_PLUGIN_RELDIR, rt->exe_dir);
    char *state_dir = absolute(rt->set.state_dir);
    char *log_file = absolute(rt->set.log_file);
    char *plugin_dir = absolute(rt->plugin_dir);
    char *script_dir = absolute(rt->set.script_dir);
    char *pid_file = absolute(rt->set.pid_file);
    char *trace_file = absolute(rt->set.trace_file);
    xend_trace_set_path(trace_file); /* a copy: nothing to free on an early exit */
    free(trace_file);

    const char *scheduler = "bvt";
    long long min_restart = 20, max_body = 1 << 20, event_port = 8001, relocation_port = 8002;
    const char *relocation_address = "127.0.0.1", *relocation_allow = NULL;
    long long reloc_header_s = 10, reloc_total_s = 3600, reloc_rate_kb = 64;
    long long live_max_rounds = 30, live_max_last_kb = 0;
    struct xend_tls_options reloc_tls;
    bool reloc_tls_on = false;
    bool allow_node_shutdown = false;
    const char *unix_path = "";
    if (xend_config_get_str(rt->cfg, "scheduler", "bvt", &scheduler, &err) < 0 ||
        xend_config_get_int(rt->cfg, "minimum-restart-time", 20, 0, 86400, &min_restart, &err) <
            0 ||
        xend_config_get_int(rt->cfg, "http-max-body", 1 << 20, 4096, 1 << 30, &max_body, &err) <
            0 ||
        xend_config_get_int(rt->cfg, "xend-event-port", 8001, 0, 65535, &event_port, &err) < 0 ||
        xend_config_get_bool(rt->cfg, "enable-node-shutdown", false, &allow_node_shutdown, &err) <
            0 ||
        xend_config_get_str(rt->cfg, "xend-unix-path", "", &unix_path, &err) < 0 ||
        xend_config_get_int(rt->cfg, "xend-relocation-port", 8002, 0, 65535, &relocation_port,
                            &err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-relocation-address", "127.0.0.1", &relocation_address,
                            &err) < 0 ||
        xend_config_get_str(rt->cfg, "xend-relocation-hosts-allow", XEND_RELOCATION_HOSTS_ALLOW,
                            &relocation_allow, &err) < 0 ||
        xend_config_get_int(rt->cfg, "relocation-header-timeout", 10, 1, 3600, &reloc_header_s,
                            &err) < 0 ||
        xend_config_get_int(rt->cfg, "relocation-timeout", 3600, 1, 7LL * 86400, &reloc_total_s,
                            &err) < 0 ||
        xend_config_get_int(rt->cfg, "relocation-min-rate", 64, 0, 1 << 30, &reloc_rate_kb, &err) <
            0 ||
        xend_config_get_int(rt->cfg, "migration-max-rounds", 30, 2, 1000, &live_max_rounds, &err) <
            0 ||
        xend_config_get_int(rt->cfg, "migration-max-last-round", 0, 0, 1ll << 30, &live_max_last_kb,
                            &err) < 0 ||
        relocation_tls_settings(rt, &reloc_tls, &reloc_tls_on, &err) < 0)
        die(rt, xend_err_msg(&err));
    struct https_settings https;
    if (https_settings(rt, &https, &err) < 0)
        die(rt, xend_err_msg(&err));
    /* Connection limits of the HTTP server (docs/http.md "Connections"); seconds. */
    long long head_timeout = 10, body_timeout = 30, idle_timeout = 15, send_timeout = 30,
              max_connections = 0;
    if (xend_config_get_int(rt->cfg, "http-head-timeout", 10, 1, 3600, &head_timeout, &err) < 0 ||
        xend_config_get_int(rt->cfg, "http-body-timeout", 30, 1, 3600, &body_timeout, &err) < 0 ||
        xend_config_get_int(rt->cfg, "http-idle-timeout", 15, 1, 86400, &idle_timeout, &err) < 0 ||
        xend_config_get_int(rt->cfg, "http-send-timeout", 30, 1, 3600, &send_timeout, &err) < 0 ||
        xend_config_get_int(rt->cfg, "http-max-connections", 0, 0, 1000000, &max_connections,
                            &err) < 0)
        die(rt, xend_err_msg(&err));
    /* Event followers and injected events (docs/http.md "Events"). */
    long long ev_followers = XEND_EVENT_MAX_FOLLOWERS,
              ev_port_conns = XEND_EVENT_PORT_MAX_CONNECTIONS,
              ev_budget = XEND_EVENT_BACKLOG_BUDGET, ev_inject = XEND_EVENT_INJECT_MAX,
              ev_history = XEND_EVENT_HISTORY_DEFAULT;
    if (xend_config_get_int(rt->cfg, "event-max-followers", ev_followers, 1, 100000, &ev_followers,
                            &err) < 0 ||
        xend_config_get_int(rt->cfg, "event-port-max-connections", ev_port_conns, 1, 100000,
                            &ev_port_conns, &err) < 0 ||
        xend_config_get_int(rt->cfg, "event-backlog-budget", ev_budget, 4096, 1LL << 32, &ev_budget,
                            &err) < 0 ||
        xend_config_get_int(rt->cfg, "event-inject-max", ev_inject, 64, 1 << 30, &ev_inject, &err) <
            0 ||
        xend_config_get_int(rt->cfg, "event-history", ev_history, 0, 1000000, &ev_history, &err) <
            0)
        die(rt, xend_err_msg(&err));
    /* Off by default: it orders handlers, and a list's or a destroy's time is not spent
     * behind handlers (docs/http.md, "Priority"). */
    bool bulk_lane = false;
    if (xend_config_get_bool(rt->cfg, "http-bulk-lane", false, &bulk_lane, &err) < 0)
        die(rt, xend_err_msg(&err));
    long long rate_limit = 0, rate_burst = 0;
    if (xend_config_get_int(rt->cfg, "http-rate-limit", 0, 0, 1000000, &rate_limit, &err) < 0 ||
        xend_config_get_int(rt->cfg, "http-rate-burst", 0, 0, 1000000, &rate_burst, &err) < 0)
        die(rt, xend_err_msg(&err));
    xend_http_ratelimit_configure((unsigned)rate_limit, (unsigned)rate_burst);
    long long starts = XEND_DOMAIN_STARTS_DEFAULT;
    if (xend_config_get_int(rt->cfg, "domain-starts-in-flight", starts, 0, 100000, &starts, &err) <
        0)
        die(rt, xend_err_msg(&err));
    xend_domain_http_set_starts_in_flight((unsigned)starts);
    long long max_devices = XEND_DEVICES_MAX_DEFAULT;
    if (xend_config_get_int(rt->cfg, "max-devices-per-domain", max_devices, 1, 65536, &max_devices,
                            &err) < 0)
        die(rt, xend_err_msg(&err));
    xend_devices_set_max((unsigned)max_devices);
    xend_event_limits_set(&(struct xend_event_limits){
        .max_followers = (unsigned)ev_followers,
        .port_max_connections = (unsigned)ev_port_conns,
        .backlog_budget = (size_t)ev_budget,
        .inject_max = (size_t)ev_inject,
    });
    xend_event_history_set_max((unsigned)ev_history);

    if (rt->check) {
        int status = check_plugins(rt, plugin_dir, scheduler);
        free(state_dir);
        free(log_file);
        free(plugin_dir);
        free(script_dir);
        free(pid_file);
        return status;
    }
    if (!rt->foreground && xend_daemon_detach(&rt->ready, &err) < 0)
        die(rt, xend_err_msg(&err));
    if (xend_daemon_pidfile_create(pid_file, &rt->pidfile, &err) < 0)
        die(rt, xend_err_msg(&err));

    struct xend_log_options lo = {
        .path = log_file,
        .level = rt->set.log_level,
        .max_size = (size_t)rt->set.log_max_size,
        .max_files = (unsigned)rt->set.log_max_files,
        .to_stderr = rt->foreground,
    };
    if (xend_log_open(&lo, &err) < 0)
        die(rt, xend_err_msg(&err));
    xend_log_notice("xend starting", "version=%s pid=%d config=%s crash_points=%s", XEND_VERSION,
                    (int)getpid(), xend_config_path(rt->cfg),
                    xend_crash_points_built() ? "built-in" : "none");
    xend_crash_point_set_reporter(report_crash_point);

    xend_host_set_dir("state", state_dir);
    xend_host_set_dir("script", script_dir);
    xend_host_set_dir("bin", rt->exe_dir);
    xend_confine_set_save_dir(rt->set.save_dir);
    if (xend_loop_init(4, &err) < 0)
        die(rt, xend_err_msg(&err));
    rt->store = xend_store_open(state_dir, post_to_loop, NULL, &err);
    if (rt->store == NULL)
        die(rt, xend_err_msg(&err));
    xend_store_plugin_init(rt->store);
    xend_device_journal_init(rt->store);
    xend_domain_table_init();
    xend_sched_init(scheduler);
    struct xend_lifecycle_options lco = {.min_restart_seconds = (double)min_restart,
                                         .max_name = 15};
    xend_lifecycle_init(rt->store, &lco, &err);
    xend_handover_init(rt->store);

    xend_http_set_domain_resolver(resolve_domain);
    struct xend_node_options no = {.allow_shutdown = allow_node_shutdown};
    if (xend_http_register_core_routes() < 0 || xend_domain_http_register() < 0 ||
        xend_node_http_register(&no) < 0 || xend_event_http_register() < 0 ||
        xend_metrics_http_register() < 0 || xend_ui_register() < 0)
        die(rt, "cannot register the core's routes");

    const struct xend_host *host = xend_host_table(rt->cfg);
    size_t loaded = xend_loader_load_dir(plugin_dir, rt->set.plugins, rt->set.n_plugins, host);
    xend_log_info("plugins loaded", "dir=%s count=%zu", plugin_dir, loaded);
    if (xend_config_check_unknown(rt->cfg, &err) < 0)
        die(rt, xend_err_msg(&err));
    if (xend_hv_open(rt->set.backend, &err) < 0) {
        snprintf(msg, sizeof(msg), "backend %s: %s", rt->set.backend, xend_err_msg(&err));
        die(rt, msg);
    }
    /* The backends not chosen only cost memory from here on (hv-xenctrl maps libxenctrl
     * and its friends, ~700 kB, on a sim host). */
    xend_loader_unload_unused_backends();

    /* The heavy POSTs wait while a destroy, a shutdown, a list or an info is ready. */
    static const char *const bulk_ops[] = {"create",  "restore",       "save",
                                           "migrate", "device_create", NULL};
    struct xend_http_options ho = {
        .address = rt->set.address,
        .port = (int)rt->set.port,
        .unix_path = unix_path[0] ? unix_path : NULL,
        .max_body = (size_t)max_body,
        .max_uri = 4000,
        .max_header = 16384,
        .sxp_limits = {.max_depth = 64, .max_nodes = 100000, .max_atom = (size_t)max_body},
        .head_timeout_ms = (unsigned)head_timeout * 1000,
        .body_timeout_ms = (unsigned)body_timeout * 1000,
        .idle_timeout_ms = (unsigned)idle_timeout * 1000,
        .send_timeout_ms = (unsigned)send_timeout * 1000,
        .max_connections = (unsigned)max_connections,
        .bulk_ops = bulk_lane ? bulk_ops : NULL,
        .https = https.port > 0 ? &https.tls : NULL,
    };
    struct xend_http_access_options ao = {
        .admin_group = rt->set.admin_group,
        .operator_group = rt->set.operator_group,
        .viewer_group = rt->set.viewer_group,
        .allow_remote_plain = rt->set.allow_remote_plain,
        .listen_address = rt->set.address,
        .names = rt->set.http_names,
        .n_names = rt->set.n_http_names,
    };
    if (xend_http_access_configure(&ao, &err) < 0 ||
        xend_http_remote_configure(&https.remote, &err) < 0)
        die(rt, xend_err_msg(&err));
    if (https.port > 0 && https.remote.n_clients == 0 && https.remote.token_file[0] == '\0')
        xend_log_warn("the HTTPS port admits nobody",
                      "hint=\"list certificates in xend-https-clients or set xend-token-file\"");
    if (xend_http_start(xend_loop_base(), &ho, &err) < 0)
        die(rt, xend_err_msg(&err));
    struct xend_event_port *evport = NULL;
    if (event_port > 0 && (evport = xend_event_port_start(xend_loop_base(), "127.0.0.1",
                                                          (int)event_port, &err)) == NULL)
        xend_log_warn("event port not started", "port=%lld error=\"%s\"", event_port,
                      xend_err_msg(&err));
    xend_event_port_set_check(evport, event_port_check);
    xend_event_port_set_info(evport, event_port_info);
    xend_metrics_http_set_event_port(evport);
    struct xend_transfer_options to = {
        .address = relocation_address,
        .port = (int)relocation_port,
        .hosts_allow = relocation_allow,
        .header_timeout_s = (int)reloc_header_s,
        .transfer_timeout_s = (int)reloc_total_s,
        .min_rate_kb = (int)reloc_rate_kb,
        .tls = reloc_tls_on ? &reloc_tls : NULL,
    };
    xend_transfer_set_live_bounds((unsigned)live_max_rounds, (uint64_t)live_max_last_kb);
    if (relocation_port > 0 && xend_transfer_listen(&to, &err) < 0)
        xend_log_warn("relocation port not started", "port=%lld error=\"%s\"", relocation_port,
                      xend_err_msg(&err));
    if (xend_lifecycle_start(&err) < 0)
        die(rt, xend_err_msg(&err));
    xend_hooks_run(XEND_HOOK_XEND_START, NULL, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    struct xend_sxp *zero = xend_sxp_atom_int(0);
    xend_event_emit("xend.start", zero);
    xend_sxp_free(zero);
    xend_loop_on_signals(on_hup);
    xend_log_notice("xend started", "address=%s port=%d https_port=%d backend=%s", rt->set.address,
                    xend_http_port(), xend_http_https_port(), xend_hv_name());
    xend_daemon_ready_ok(&rt->ready);
    xend_trim_start();
    xend_sxp_node_cache(true); /* the loop builds and frees small trees all day */

    xend_loop_run();
    xend_trim_stop();
    xend_sxp_node_cache(false);

    xend_log_notice("xend stopping", "pid=%d", (int)getpid());
    xend_sd_notify("STOPPING=1\nSTATUS=stopping");
    /* Take no new work, let what is in flight (saves, migrations, scripts) finish on the
     * loop while the store and the backend are still there, then take things down. */
    xend_domain_http_stop();
    xend_transfer_stop();
    xend_lifecycle_stop();
    xend_loop_drain(STOP_DRAIN_MS, stop_waits_for, rt->store);
    xend_hooks_run(XEND_HOOK_XEND_STOP, NULL, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    xend_loop_drain(STOP_DRAIN_MS, stop_waits_for, rt->store);
    xend_metrics_http_set_event_port(NULL);
    xend_event_port_stop(evport);
    xend_http_stop();
    xend_http_ratelimit_reset();
    /* The backend closes before its plugin's fini frees what close needs. */
    xend_hv_close();
    xend_loader_fini_all();
    xend_store_close(rt->store);
    xend_loop_free();
    xend_domain_table_free();
    xend_sched_remove_owner(NULL);
    xend_http_routes_clear();
    xend_http_access_reset();
    xend_http_remote_reset();
    xend_event_reset();
    xend_loader_free();
    xend_log_notice("xend stopped", "pid=%d", (int)getpid());
    xend_daemon_pidfile_remove(rt->pidfile);
    xend_log_close();
    xend_config_free(rt->cfg);
    free(state_dir);
    free(log_file);
    free(plugin_dir);
    free(script_dir);
    free(pid_file);
    xend_trace_reset();
    return 0;
}

int main(int argc, char **argv)
{
    struct xend_daemon_args args;
    struct xend_err err = {0};
    if (xend_daemon_parse_args(argc, argv, &args, &err) < 0) {
        fprintf(stderr, "xend: %s\nTry 'xend --help'.\n", xend_err_msg(&err));
        return 2;
    }
    xend_libevent_mem_init();
    xend_log_crash_install();
    int status = 0;
    struct xend_runtime rt = {.ready = XEND_DAEMON_READY_INIT, .foreground = args.foreground};
    switch (args.cmd) {
    case XEND_DAEMON_HELP:
        xend_daemon_usage(stdout, "xend");
        break;
    case XEND_DAEMON_VERSION:
        printf("xend %s (plugin ABI %d.%d)\n", XEND_VERSION, XEND_ABI_MAJOR, XEND_ABI_MINOR);
        break;
    case XEND_DAEMON_STATUS:
        load_config(&rt, &args);
        status = xend_daemon_status_report(rt.set.pid_file, rt.set.port, stdout);
        xend_config_free(rt.cfg);
        break;
    case XEND_DAEMON_STOP:
        load_config(&rt, &args);
        if (xend_daemon_stop(rt.set.pid_file, STOP_TIMEOUT_MS, &err) < 0) {
            fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
            status = 1;
        }
        xend_config_free(rt.cfg);
        break;
    case XEND_DAEMON_RESTART:
        load_config(&rt, &args);
        if (xend_daemon_stop(rt.set.pid_file, STOP_TIMEOUT_MS, &err) < 0) {
            fprintf(stderr, "xend: %s\n", xend_err_msg(&err));
            status = 1;
            xend_config_free(rt.cfg);
            break;
        }
        status = run_daemon(&rt);
        break;
    case XEND_DAEMON_START:
        load_config(&rt, &args);
        status = run_daemon(&rt);
        break;
    case XEND_DAEMON_CERT:
        load_config(&rt, &args);
        status = make_relocation_identity(&rt);
        xend_config_free(rt.cfg);
        break;
    case XEND_DAEMON_CHECK:
        rt.check = true;
        /* the problems are the output; a plugin that cannot load still says why */
        xend_log_set_level(XEND_LOG_WARN);
        load_config(&rt, &args);
        status = run_daemon(&rt);
        break;
    case XEND_DAEMON_TOKEN:
        load_config(&rt, &args);
        status = add_token(&rt, args.token_name, args.token_role);
        xend_config_free(rt.cfg);
        break;
    }
    xend_daemon_args_free(&args);
    return status;
}
