/*
 * GET /xend/metrics (metrics_http.h). Gauges are read when scraped, never kept: the
 * owners (the domain table, the HTTP server, the event bus) already hold the truth.
 * Console clients are the one figure the core cannot ask about (the console is a
 * plugin): they are counted from the console's connect and disconnect events.
 */
#include "metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "domain_http.h"
#include "domain_table.h"
#include "event/event.h"
#include "event/event_http.h"
#include "event/event_port.h"
#include "event/history.h"
#include "http/server.h"
#include "hv.h"
#include "lane.h"
#include "metrics/metrics.h"

static const struct xend_event_port *evport;
static struct {
    unsigned long long connects, disconnects;
} consoles;
static const char console_owner; /* the subscriptions' owner tag */

static void on_console(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)value;
    (void)arg;
    if (strcmp(name, "xend.console.connect") == 0)
        consoles.connects++;
    else
        consoles.disconnects++;
}

void xend_metrics_http_set_event_port(const struct xend_event_port *port)
{
    evport = port;
}

/* The state label of a domain: its phase, or for a live one its strongest flag. */
static const char *const state_names[] = {"running",  "blocked",    "paused",
                                          "shutdown", "crashed",    "creating",
                                          "dying",    "restarting", "halted"};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

static size_t state_of(const struct xend_domain *d)
{
    switch (d->phase) {
    case XEND_DOM_CREATING:
        return 5;
    case XEND_DOM_DYING:
        return 6;
    case XEND_DOM_RESTARTING:
        return 7;
    case XEND_DOM_HALTED:
        return 8;
    default:
        break;
    }
    uint32_t f = d->info.flags;
    if (f & XEND_DOMF_CRASHED)
        return 4;
    if (f & XEND_DOMF_SHUTDOWN)
        return 3;
    if (f & XEND_DOMF_PAUSED)
        return 2;
    if (f & XEND_DOMF_RUNNING)
        return 0;
    return 1;
}

static void domains(struct xend_buf *out)
{
    struct xend_err err = {0};
    (void)xend_domain_refresh_all_cached(&err); /* stale states beat no answer */
    struct xend_domain **all = NULL;
    size_t n = xend_domain_all(&all);
    unsigned long long count[NSTATES] = {0};
    for (size_t i = 0; i < n; i++)
        count[state_of(all[i])]++;
    free(all);
    xend_metrics_family(out, "xend_domains", "gauge", "Domains by state.");
    char labels[48];
    for (size_t i = 0; i < NSTATES; i++) {
        snprintf(labels, sizeof(labels), "state=\"%s\"", state_names[i]);
        xend_metrics_sample(out, "xend_domains", labels, (double)count[i]);
    }
}

/* Resident set of this process, from /proc/self/statm; -1 when unknown. */
static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == NULL)
        return -1;
    unsigned long long size, resident;
    /* NOLINTNEXTLINE(cert-err34-c): the kernel's own numbers; anything else is "unknown" */
    int got = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    return got == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : -1;
}

static void memory(struct xend_buf *out)
{
    struct xend_physinfo pi = {.size = sizeof(pi)};
    struct xend_err err = {0};
    if (XEND_HV_CALL(physinfo, &err, &pi) == 0) {
        xend_metrics_family(out, "xend_host_memory_bytes", "gauge",
                            "Memory of the host as the hypervisor reports it.");
        xend_metrics_sample(out, "xend_host_memory_bytes", "kind=\"total\"",
                            (double)pi.total_kb * 1024.0);
        xend_metrics_sample(out, "xend_host_memory_bytes", "kind=\"free\"",
                            (double)pi.free_kb * 1024.0);
    }
    double rss = rss_bytes();
    if (rss >= 0) {
        xend_metrics_family(out, "process_resident_memory_bytes", "gauge",
                            "Resident memory of the xend process.");
        xend_metrics_sample(out, "process_resident_memory_bytes", NULL, rss);
    }
}

static int metrics_get(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_buf out = XEND_BUF_INIT;
    domains(&out);
    xend_metrics_render(&out);
    xend_metrics_family(&out, "xend_http_connections", "gauge", "HTTP connections open.");
    xend_metrics_sample(&out, "xend_http_connections", NULL, xend_http_connections_open());
    xend_metrics_family(&out, "xend_http_connections_closed_total", "counter",
                        "HTTP connections closed.");
    xend_metrics_sample(&out, "xend_http_connections_closed_total", NULL,
                        (double)xend_http_connections_closed());
    const struct xend_lane *starts = xend_domain_http_starts();
    xend_metrics_family(&out, "xend_domain_starts", "gauge",
                        "Domain starts (create, restore) in progress and waiting in the lane.");
    xend_metrics_sample(&out, "xend_domain_starts", "state=\"running\"", starts->running);
    xend_metrics_sample(&out, "xend_domain_starts", "state=\"waiting\"", (double)starts->waiting);
    xend_metrics_family(&out, "xend_domain_starts_dropped_total", "counter",
                        "Waiting domain starts dropped because their client went.");
    xend_metrics_sample(&out, "xend_domain_starts_dropped_total", NULL, (double)starts->dropped);
    xend_metrics_family(&out, "xend_event_followers", "gauge",
                        "Event followers: GET /xend/event streams and event port connections.");
    xend_metrics_sample(&out, "xend_event_followers", "kind=\"http\"", xend_event_http_followers());
    xend_metrics_sample(&out, "xend_event_followers", "kind=\"port\"",
                        evport != NULL ? xend_event_port_connections(evport) : 0);
    xend_metrics_family(&out, "xend_event_seq", "gauge",
                        "Number of the last event (restarts at 0 with xend).");
    xend_metrics_sample(&out, "xend_event_seq", NULL, (double)xend_event_history_last());
    xend_metrics_family(&out, "xend_event_history_events", "gauge", "Events held for replay.");
    xend_metrics_sample(&out, "xend_event_history_events", NULL,
                        (double)xend_event_history_count());
    xend_metrics_family(&out, "xend_event_history_bytes", "gauge",
                        "Bytes held for replay (counted against event-backlog-budget).");
    xend_metrics_sample(&out, "xend_event_history_bytes", NULL, (double)xend_event_history_bytes());
    xend_metrics_family(&out, "xend_console_clients", "gauge",
                        "Console clients connected (from the console's events).");
    xend_metrics_sample(&out, "xend_console_clients", NULL,
                        consoles.connects > consoles.disconnects
                            ? (double)(consoles.connects - consoles.disconnects)
                            : 0);
    memory(&out);
    xend_http_host_table()->reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                                      xend_buf_str(&out), out.len);
    xend_buf_free(&out);
    return 0;
}

int xend_metrics_http_register(void)
{
    static const struct xend_route route = {
        XEND_ROUTE_INIT,         .methods = XEND_HTTP_GET,
        .path = "/xend/metrics", .op = NULL,
        .fn = metrics_get,       .doc = "Metrics in the Prometheus text format (version 0.0.4).",
        .role = XEND_ROLE_VIEWER};
    int rc = xend_http_route_add(NULL, &route);
    if (rc == 0)
        rc = xend_event_subscribe(&console_owner, "xend.console.connect", on_console, NULL);
    if (rc == 0)
        rc = xend_event_subscribe(&console_owner, "xend.console.disconnect", on_console, NULL);
    return rc;
}
