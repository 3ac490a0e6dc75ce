/*
 * Test plugins `init_fails_KIND`: each registers one kind of thing whose callback is its
 * own code, then fails its init. The core must undo the registration before the plugin is
 * unloaded: a timer firing, a watch waking, a child's result, a worker job or a posted
 * call reaching the unmapped code would crash xend. Built once per kind (CMakeLists.txt)
 * with INIT_FAILS_KIND naming it:
 *
 *   timer    a one-shot timer (100 ms) and a repeating one (20 ms)
 *   watch    a read watch on a pipe that is already readable
 *   child    /bin/sleep 1 with a done callback
 *   work     a worker job that runs 200 ms (still running when init fails) and its done
 *   post     a call posted to the loop
 *   class    a device class "init_fails_dev"
 *   sched    a scheduler "init_fails_sched"
 *   backend  a backend "init_fails_hv"
 *   event    a subscription to every event
 *   describe a describer of every domain
 *   store    a record in its store namespace (data, not code: it stays; see docs)
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xend/host.h>
#include <xend/plugin.h>

#define STR2(x) #x
#define STR(x) STR2(x)

static void if_crash(void)
{
    abort(); /* never reached: the code is unloaded, or the call was dropped */
}

static void if_timer(void *arg)
{
    (void)arg;
    if_crash();
}

static void if_watch(int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    (void)arg;
    if_crash();
}

static void if_spawned(const struct xend_spawn_result *res, void *arg)
{
    (void)res;
    (void)arg;
    if_crash();
}

static _Atomic int if_work_started;

/* Runs on a worker while init fails: the core must wait for it before unloading. */
static void if_work(void *arg)
{
    (void)arg;
    if_work_started = 1;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void if_posted(void *arg)
{
    (void)arg;
    if_crash();
}

static int if_parse(void *ctx, struct xend_domain *dom, const struct xend_sxp *config,
                    struct xend_sxp **normalised, struct xend_err *err)
{
    (void)ctx;
    (void)dom;
    (void)config;
    (void)normalised;
    (void)err;
    if_crash();
    return 0;
}

static const struct xend_device_ops if_class = {XEND_DEVICE_OPS_INIT, .name = "init_fails_dev",
                                                .parse = if_parse};

static const char *const if_sched_ops[] = {"init_fails_sched_set", NULL};
static const struct xend_sched_ops if_sched = {XEND_SCHED_OPS_INIT, .name = "init_fails_sched",
                                               .domain_ops = if_sched_ops};

static bool if_probe(void *ctx)
{
    (void)ctx;
    if_crash();
    return false;
}

static const struct xend_backend_ops if_backend = {XEND_BACKEND_OPS_INIT, .name = "init_fails_hv",
                                                   .priority = 1000, .probe = if_probe};

static void if_event(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)value;
    (void)arg;
    if_crash();
}

static void if_describe(struct xend_domain *dom, struct xend_sxp *info, void *arg)
{
    (void)dom;
    (void)info;
    (void)arg;
    if_crash();
}

static int if_register(struct xend_plugin *self, const struct xend_host *h, const char *kind)
{
    if (strcmp(kind, "timer") == 0) {
        h->loop->timer_add(self, 100, false, if_timer, NULL);
        h->loop->timer_add(self, 20, true, if_timer, NULL);
    } else if (strcmp(kind, "watch") == 0) {
        int p[2];
        if (pipe(p) < 0 || write(p[1], "x", 1) != 1)
            return -XEND_EIO;
        h->loop->watch_add(self, p[0], XEND_WATCH_READ, if_watch, NULL);
    } else if (strcmp(kind, "child") == 0) {
        const char *argv[] = {"/bin/sleep", "1", NULL};
        return h->loop->spawn(self, argv, NULL, 5000, if_spawned, NULL);
    } else if (strcmp(kind, "work") == 0) {
        int rc = h->loop->work_submit(self, if_work, if_posted, NULL);
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000 * 1000};
        for (int i = 0; rc == 0 && !if_work_started && i < 5000; i++)
            nanosleep(&ts, NULL); /* fail only once a worker runs it */
        return rc;
    } else if (strcmp(kind, "post") == 0) {
        return h->loop->post(if_posted, NULL);
    } else if (strcmp(kind, "class") == 0) {
        return h->device->class_add(self, &if_class, NULL);
    } else if (strcmp(kind, "sched") == 0) {
        return h->sched->add(self, &if_sched, NULL);
    } else if (strcmp(kind, "backend") == 0) {
        return h->backend->add(self, &if_backend, NULL);
    } else if (strcmp(kind, "event") == 0) {
        return h->event->subscribe(self, "*", if_event, NULL);
    } else if (strcmp(kind, "describe") == 0) {
        return h->domain->describe_add(self, if_describe, NULL);
    } else if (strcmp(kind, "store") == 0) {
        struct xend_err err = {0};
        struct xend_sxp *v = h->sxp->atom("left-behind");
        int rc = h->store->put(self, "record", v, &err);
        h->sxp->free(v);
        return rc;
    }
    return 0;
}

static int if_init(struct xend_plugin *self, const struct xend_host *host)
{
    int rc = if_register(self, host, STR(INIT_FAILS_KIND));
    if (rc < 0)
        return rc;
    host->plugin_err_set(self, "failing on purpose after registering a " STR(INIT_FAILS_KIND));
    return -XEND_EINVAL;
}

XEND_PLUGIN(.name = "init_fails_" STR(INIT_FAILS_KIND), .version = "1.0",
            .description = "test plugin: init fails after registering a " STR(INIT_FAILS_KIND),
            .init = if_init);
