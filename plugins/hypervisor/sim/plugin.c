/*
 * The hv-sim plugin: its settings, and the backend registered at init (sim.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static struct sim_ctx *sim_instance; /* for fini */

static char *join_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir && dir[0] ? dir : ".", name) < 0)
        abort();
    return p;
}

static void sim_free(struct sim_ctx *c)
{
    if (c == NULL)
        return;
    sim_close(c);
    pthread_mutex_destroy(&c->lock);
    free(c->socket_path);
    free(c->simhv_path);
    free(c->log_path);
    free(c->rbuf);
    free(c);
}

static int sim_init(struct xend_plugin *self, const struct xend_host *host)
{
    struct sim_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->self = self;
    c->host = host;
    c->sxp = host->sxp;
    c->fd = -1;
    c->notify_sock = -1;
    atomic_init(&c->next_id, 1);
    pthread_mutex_init(&c->lock, NULL);

    const struct xend_host_config *cfg = host->config;
    struct xend_err err = {0};
    char *dflt_sock = join_path(cfg->dir("state"), "simhv.sock");
    char *dflt_bin = join_path(cfg->dir("bin"), "xend-simhv");
    char *dflt_log = join_path(cfg->dir("state"), "simhv.log");
    const char *sock = NULL, *bin = NULL, *log = NULL;
    int rc;
    if ((rc = cfg->get_str(self, "simhv-socket", dflt_sock, &sock, &err)) < 0 ||
        (rc = cfg->get_str(self, "simhv-path", dflt_bin, &bin, &err)) < 0 ||
        (rc = cfg->get_str(self, "simhv-log", dflt_log, &log, &err)) < 0 ||
        (rc = cfg->get_str(self, "scheduler", "bvt", &c->scheduler, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-cpus", 2, 1, 64, &c->cpus, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-memory", 4096, 64, 1024LL * 1024, &c->memory_mb, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-slice-ms", 10, 1, 10000, &c->slice_ms, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-shutdown-delay-ms", 200, 0, 3600000, &c->delay_ms, &err)) <
            0) {
        host->plugin_err_set(self, "%s", xend_err_msg(&err));
        free(dflt_sock);
        free(dflt_bin);
        free(dflt_log);
        sim_free(c);
        return rc;
    }
    c->socket_path = strdup(sock);
    c->simhv_path = strdup(bin);
    c->log_path = strdup(log);
    free(dflt_sock);
    free(dflt_bin);
    free(dflt_log);
    if (c->socket_path == NULL || c->simhv_path == NULL || c->log_path == NULL)
        abort();
    rc = host->backend->add(self, &sim_backend_ops, c);
    if (rc < 0) {
        host->plugin_err_set(self, "cannot register the sim backend: %s", xend_strerror(rc));
        sim_free(c);
        return rc;
    }
    sim_instance = c;
    return 0;
}

static void sim_fini(struct xend_plugin *self)
{
    (void)self;
    sim_free(sim_instance);
    sim_instance = NULL;
}

XEND_PLUGIN(.name = "hv-sim", .version = "1.0",
            .description = "hypervisor backend for xend-simhv, the simulated hypervisor",
            .license = "GPL-2.0", .init = sim_init, .fini = sim_fini);
