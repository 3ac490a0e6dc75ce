/*
 * /xend/node (see node_http.h). The node ops that would stop the host are refused unless
 * the operator enabled them: a remote client must not power off dom0 by default.
 */
#include "node_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "buf.h"
#include "event/event.h"
#include "http/server.h"
#include "hv.h"
#include "loader.h"
#include "log/log.h"
#include "scheduler.h"
#include "sxp.h"

#define LOG_REPLY_MAX (4u << 20) /* the tail of a large log is what an operator wants */

static const struct xend_host_http *http;
static struct xend_node_options node_opts;
static char notify_url[512];

static int node_info(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_physinfo pi = {.size = sizeof(pi)};
    struct xend_err *err = http->err(req);
    int rc = XEND_HV_CALL(physinfo, err, &pi);
    if (rc < 0)
        return rc;
    struct utsname u;
    uname(&u);
    struct xend_sxp *n = xend_sxp_list_of("node", NULL);
    xend_sxp_add_kv(n, "system", u.sysname);
    xend_sxp_add_kv(n, "host", u.nodename);
    xend_sxp_add_kv(n, "release", u.release);
    xend_sxp_add_kv(n, "version", u.version);
    xend_sxp_add_kv(n, "machine", u.machine);
    xend_sxp_add_kv_int(n, "cores", pi.nr_cpus);
    xend_sxp_add_kv_int(n, "hyperthreads_per_core", pi.threads_per_core ? pi.threads_per_core : 1);
    xend_sxp_add_kv_int(n, "cpu_mhz", pi.cpu_mhz);
    xend_sxp_add_kv_int(n, "memory", (long long)(pi.total_kb / 1024));
    xend_sxp_add_kv_int(n, "free_memory", (long long)(pi.free_kb / 1024));
    xend_sxp_add_kv(n, "hypervisor", pi.hypervisor);
    xend_sxp_add_kv(n, "backend", xend_hv_name());
    xend_sxp_add_kv(n, "scheduler", pi.scheduler);
    xend_sxp_add_kv(n, "xend_version", XEND_VERSION);
    http->reply_take(req, 0, n);
    return 0;
}

static int node_power(struct xend_request *req, void *arg)
{
    const char *what = arg;
    if (!node_opts.allow_shutdown)
        return xend_err_set(http->err(req), XEND_EPERM,
                            "node %s is disabled (set enable-node-shutdown = true to allow it)",
                            what);
    xend_log_notice("node power request", "op=%s peer=%s", what, http->peer(req));
    /* Hand the host's own shutdown to init; xend gets its SIGTERM from there. */
    pid_t pid = fork();
    if (pid == 0) {
        execl("/sbin/shutdown", "shutdown", strcmp(what, "reboot") == 0 ? "-r" : "-h", "now",
              (char *)NULL);
        _exit(127);
    }
    http->reply_take(req, 0, xend_sxp_atom_int(pid > 0 ? 0 : -1));
    return 0;
}

static int node_notify(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *url = http->arg_str(req, "url");
    if (url == NULL)
        return xend_err_set(http->err(req), XEND_EINVAL, "Missing parameter: url");
    snprintf(notify_url, sizeof(notify_url), "%s", url);
    struct xend_sxp *v = xend_sxp_atom(url);
    xend_event_emit("xend.node.notify", v);
    xend_sxp_free(v);
    http->reply_take(req, 0, xend_sxp_atom_int(0));
    return 0;
}

static int dmesg(struct xend_request *req, void *arg)
{
    bool clear = arg != NULL;
    struct xend_err *err = http->err(req);
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops == NULL || ops->dmesg == NULL)
        return xend_hv_enotsup("dmesg", err);
    char *text = ops->dmesg(ctx, clear, err);
    if (text == NULL)
        return err->code ? -err->code : -XEND_EBACKEND;
    if (clear)
        http->reply_take(req, 0, xend_sxp_atom_int(0));
    else
        http->reply_raw(req, 0, "text/plain", text, strlen(text));
    free(text);
    return 0;
}

static int node_log(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *path = xend_log_path();
    if (path == NULL || path[0] == '\0')
        return xend_err_set(http->err(req), XEND_ENOENT, "xend is not logging to a file");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xend_err_set(http->err(req), XEND_EIO, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    off_t start = 0;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)LOG_REPLY_MAX)
        start = st.st_size - (off_t)LOG_REPLY_MAX;
    struct xend_buf b = XEND_BUF_INIT;
    char chunk[65536];
    ssize_t n;
    while ((n = pread(fd, chunk, sizeof(chunk), start)) > 0) {
        xend_buf_append(&b, chunk, (size_t)n);
        start += n;
        if (b.len >= LOG_REPLY_MAX)
            break;
    }
    close(fd);
    http->reply_raw(req, 0, "text/plain", xend_buf_str(&b), b.len);
    xend_buf_free(&b);
    return 0;
}

static int node_plugins(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_sxp *l = xend_loader_describe();
    xend_sxp_append_take(l, xend_sched_describe());
    http->reply_take(req, 0, l);
    return 0;
}

static int empty_dir(struct xend_request *req, void *arg)
{
    (void)arg;
    http->reply_take(req, 0, xend_sxp_list_of("ls", NULL));
    return 0;
}

int xend_node_http_register(const struct xend_node_options *opts)
{
    http = xend_http_host_table();
    node_opts = *opts;
    static const struct xend_route routes[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/node", .fn = node_info,
         .doc = "host information", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/node", .op = "shutdown",
         .fn = node_power, .arg = (void *)"shutdown", .doc = "shut the host down",
         .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/node", .op = "reboot",
         .fn = node_power, .arg = (void *)"reboot", .doc = "reboot the host",
         .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/node", .op = "notify",
         .fn = node_notify, .doc = "set the notification URL. params: url",
         .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/node/dmesg", .fn = dmesg,
         .doc = "hypervisor messages", .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/node/dmesg", .op = "clear",
         .fn = dmesg, .arg = (void *)"clear", .doc = "clear the hypervisor messages",
         .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/node/log", .fn = node_log,
         .doc = "the xend log", .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/node/plugins",
         .fn = node_plugins, .doc = "loaded plugins and schedulers", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/device", .fn = empty_dir,
         .role = XEND_ROLE_VIEWER},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = xend_http_route_add(NULL, &routes[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
