/*
 * The sim backend through its backend table only: hv-sim.so is loaded with the fake host,
 * its open() starts a real xend-simhv on a temporary socket, and every test drives
 * domains through the ops and checks what simhv reports. Nothing sleeps to synchronise:
 * each wait polls with a deadline.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_host.h"

#define MB 1024ull
#define DEADLINE_MS 5000

static char dir[64];
static char sock_path[128];
static char kernel[128];
/* A kernel of 4 MB (sparse): its guest's image spans several 255-page records. */
static char big_kernel[128];
static void *so;
static const struct xend_plugin_desc *desc;
static const struct xend_backend_ops *ops;
static void *ctx;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void run_stop(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(SIMHV_BIN, SIMHV_BIN, "--stop", "--socket", sock_path, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/simtest-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(sock_path, sizeof(sock_path), "%s/simhv.sock", dir);
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
    FILE *f = fopen(kernel, "w");
    for (int i = 0; i < 3000; i++) /* a few pages of "kernel" */
        fputs("simulated kernel image\n", f);
    fclose(f);
    snprintf(big_kernel, sizeof(big_kernel), "%s/vmlinuz-big", dir);
    f = fopen(big_kernel, "w");
    if (f == NULL || fclose(f) != 0 || truncate(big_kernel, 4 << 20) < 0)
        return -1;

    fake_host_new("hv-sim");
    fake_host_dir_set("state", dir);
    fake_host_config_set("simhv-path", SIMHV_BIN);
    fake_host_config_set("sim-memory", "1024");
    fake_host_config_set("sim-cpus", "2");
    fake_host_config_set("sim-shutdown-delay-ms", "50");
    so = dlopen(HV_SIM_SO, RTLD_NOW | RTLD_LOCAL);
    if (so == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    desc = dlsym(so, "xend_plugin_desc");
    if (desc == NULL || fake_host_init_plugin(desc) != 0)
        return -1;
    ops = fake_host_backend("sim", &ctx);
    if (ops == NULL)
        return -1;
    struct xend_err err = {0};
    if (ops->open(ctx, &err) != 0) {
        fprintf(stderr, "open: %s\n", xend_err_msg(&err));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (ops != NULL)
        ops->close(ctx);
    if (desc != NULL)
        fake_host_fini_plugin(desc);
    fake_host_free();
    run_stop();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

/* ---- helpers ---- */

static struct xend_dominfo info_of(uint32_t domid)
{
    struct xend_err err = {0};
    struct xend_dominfo info;
    int rc = ops->dom_info(ctx, domid, &info, &err);
    if (rc != 0)
        fail_msg("dom_info %u: %s", domid, xend_err_msg(&err));
    return info;
}

static uint32_t make_domain_of(const char *kern, const char *name, uint64_t mem_kb,
                               const char *cmdline, bool run)
{
    struct xend_err err = {0};
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = name,
                                .mem_kb = mem_kb,
                                .maxmem_kb = mem_kb,
                                .vcpus = 1,
                                .want_domid = -1,
                                .cpu = -1};
    uint32_t domid = 0;
    assert_int_equal(ops->dom_create(ctx, &a, &domid, &err), 0);
    struct xend_dom_image img = {
        .size = sizeof(img), .builder = "linux", .kernel = kern, .cmdline = cmdline};
    int rc = ops->dom_build(ctx, domid, &img, &err);
    if (rc != 0)
        fail_msg("build: %s", xend_err_msg(&err));
    if (run)
        assert_int_equal(ops->dom_unpause(ctx, domid, &err), 0);
    return domid;
}

static uint32_t make_domain(const char *name, uint64_t mem_kb, const char *cmdline, bool run)
{
    return make_domain_of(kernel, name, mem_kb, cmdline, run);
}

static void destroy(uint32_t domid)
{
    struct xend_err err = {0};
    assert_int_equal(ops->dom_destroy(ctx, domid, &err), 0);
}

static uint64_t free_kb(void)
{
    struct xend_err err = {0};
    struct xend_physinfo pi;
    assert_int_equal(ops->physinfo(ctx, &pi, &err), 0);
    return pi.free_kb;
}

static uint64_t checksum(uint32_t domid)
{
    struct xend_err err = {0};
    uint64_t sum = 0;
    assert_int_equal(ops->mem_checksum(ctx, domid, &sum, &err), 0);
    return sum;
}

/* Poll dom_info until flags has all of `want`, or fail at the deadline. */
static struct xend_dominfo wait_flags(uint32_t domid, uint32_t want)
{
    uint64_t end = now_ms() + DEADLINE_MS;
    for (;;) {
        struct xend_dominfo i = info_of(domid);
        if ((i.flags & want) == want)
            return i;
        if (now_ms() > end)
            fail_msg("domain %u never got flags %#x (has %#x)", domid, want, i.flags);
        poll(NULL, 0, 5);
    }
}

static struct xend_dominfo wait_cpu_above(uint32_t domid, uint64_t ns)
{
    uint64_t end = now_ms() + DEADLINE_MS;
    for (;;) {
        struct xend_dominfo i = info_of(domid);
        if (i.cpu_time_ns > ns)
            return i;
        if (now_ms() > end)
            fail_msg("domain %u cpu time stuck at %llu", domid, (unsigned long long)i.cpu_time_ns);
        poll(NULL, 0, 5);
    }
}

struct list_seen {
    uint32_t domid;
    bool found;
    char name[64];
    size_t count;
};

static void on_dom(void *arg, const struct xend_dominfo *info)
{
    struct list_seen *s = arg;
    s->count++;
    if (info->domid == s->domid) {
        s->found = true;
        snprintf(s->name, sizeof(s->name), "%s", info->name);
    }
}

static struct list_seen list_find(uint32_t domid)
{
    struct list_seen s = {.domid = domid};
    struct xend_err err = {0};
    assert_int_equal(ops->dom_list(ctx, on_dom, &s, &err), 0);
    return s;
}

static bool notify_ready(void *arg)
{
    (void)arg;
    struct pollfd p = {.fd = ops->notify_fd(ctx), .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Read from a non-blocking fd until `needle` was seen; everything read goes to acc. */
static bool read_until(int fd, const char *needle, char *acc, size_t cap)
{
    size_t len = strlen(acc);
    uint64_t end = now_ms() + DEADLINE_MS;
    while (strstr(acc, needle) == NULL) {
        int left = (int)(end > now_ms() ? end - now_ms() : 0);
        if (left == 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = read(fd, acc + len, cap - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        acc[len] = '\0';
    }
    return true;
}

static int raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(sock_path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* ---- tests ---- */

static void test_open_started_simhv_with_domain0(void **state)
{
    (void)state;
    struct xend_err err = {0};
    struct xend_physinfo pi;
    assert_int_equal(ops->physinfo(ctx, &pi, &err), 0);
    assert_int_equal(pi.nr_cpus, 2);
    assert_int_equal(pi.total_kb, 1024 * MB);
    assert_int_equal(pi.free_kb, 512 * MB); /* Domain-0 holds the rest */
    assert_string_equal(pi.scheduler, "bvt");
    assert_non_null(strstr(pi.hypervisor, "simhv"));
    struct list_seen s = list_find(0);
    assert_true(s.found);
    assert_string_equal(s.name, "Domain-0");
    struct xend_dominfo d0 = info_of(0);
    assert_true(d0.flags & (XEND_DOMF_RUNNING | XEND_DOMF_BLOCKED));
    assert_false(d0.flags & XEND_DOMF_PAUSED);
    struct stat st;
    assert_int_equal(stat(sock_path, &st), 0); /* the default path under the state dir */
}

static void test_create_build_and_list(void **state)
{
    (void)state;
    uint32_t id = make_domain("vm-list", 32 * MB, "", false);
    struct list_seen s = list_find(id);
    assert_true(s.found);
    assert_string_equal(s.name, "vm-list");
    struct xend_dominfo i = info_of(id);
    assert_true(i.flags & XEND_DOMF_PAUSED);
    assert_int_equal(i.mem_kb, 32 * MB);
    assert_int_equal(i.vcpus, 1);
    destroy(id);
    assert_false(list_find(id).found);
    struct xend_err err = {0};
    struct xend_dominfo gone;
    assert_int_equal(ops->dom_info(ctx, id, &gone, &err), -XEND_ENOENT);
}

static void test_build_refuses_missing_kernel(void **state)
{
    (void)state;
    struct xend_err err = {0};
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "nokernel",
                                .mem_kb = 16 * MB,
                                .vcpus = 1,
                                .want_domid = -1,
                                .cpu = -1};
    uint32_t id;
    assert_int_equal(ops->dom_create(ctx, &a, &id, &err), 0);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-such-kernel", dir);
    struct xend_dom_image img = {
        .size = sizeof(img), .builder = "linux", .kernel = missing, .cmdline = ""};
    assert_int_equal(ops->dom_build(ctx, id, &img, &err), -XEND_ENOENT);
    char want[200];
    snprintf(want, sizeof(want), "Kernel image does not exist: %s", missing);
    assert_string_equal(err.msg, want);
    xend_err_clear(&err);
    assert_int_equal(ops->dom_unpause(ctx, id, &err), -XEND_EINVAL); /* nothing to run */
    destroy(id);
}

static void test_bad_guest_knob_is_refused(void **state)
{
    (void)state;
    struct xend_err err = {0};
    struct xend_dom_create a = {.size = sizeof(a), .mem_kb = 16 * MB, .want_domid = -1, .cpu = -1};
    uint32_t id;
    assert_int_equal(ops->dom_create(ctx, &a, &id, &err), 0);
    struct xend_dom_image img = {
        .size = sizeof(img), .kernel = kernel, .cmdline = "root=/dev/sda1 sim.load=150"};
    assert_int_equal(ops->dom_build(ctx, id, &img, &err), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "sim.load"));
    destroy(id);
}

static void test_paused_domain_gets_no_cpu_time(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-cpu", 16 * MB, "sim.load=100", true);
    struct xend_dominfo i = wait_cpu_above(id, 0);
    assert_int_equal(ops->dom_pause(ctx, id, &err), 0);
    uint64_t frozen = info_of(id).cpu_time_ns;
    assert_true(frozen >= i.cpu_time_ns);
    /* Watch it for 150 ms of real time: not a nanosecond more. */
    uint64_t end = now_ms() + 150;
    while (now_ms() < end) {
        struct xend_dominfo p = info_of(id);
        assert_int_equal(p.cpu_time_ns, frozen);
        assert_true(p.flags & XEND_DOMF_PAUSED);
        assert_false(p.flags & XEND_DOMF_RUNNING);
        poll(NULL, 0, 10);
    }
    assert_int_equal(ops->dom_unpause(ctx, id, &err), 0);
    wait_cpu_above(id, frozen);
    destroy(id);
}

static void test_shutdown_reason_is_reported_after_the_delay(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-reboot", 16 * MB, "", true);
    ops->notify_ack(ctx);
    assert_int_equal(ops->dom_shutdown(ctx, id, XEND_SHUTDOWN_REBOOT, &err), 0);
    struct xend_dominfo i = wait_flags(id, XEND_DOMF_SHUTDOWN);
    assert_int_equal(i.shutdown_reason, XEND_SHUTDOWN_REBOOT);
    assert_true(fake_host_loop_until(notify_ready, NULL, DEADLINE_MS));
    /* As in Xen, a shut down domain stays until it is destroyed. */
    assert_true(list_find(id).found);
    destroy(id);
}

static void test_ignore_shutdown_knob_keeps_it_running(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-stubborn", 16 * MB, "sim.ignore_shutdown=1", true);
    assert_int_equal(ops->dom_shutdown(ctx, id, XEND_SHUTDOWN_POWEROFF, &err), 0);
    uint64_t end = now_ms() + 200; /* four times the configured delay */
    while (now_ms() < end) {
        assert_false(info_of(id).flags & XEND_DOMF_SHUTDOWN);
        poll(NULL, 0, 10);
    }
    destroy(id);
}

static void test_sim_crash_sets_crashed_flag_and_notifies(void **state)
{
    (void)state;
    uint32_t id = make_domain("vm-crash", 16 * MB, "quiet sim.crash=0.2", false);
    fake_host_loop_until(notify_ready, NULL, 100);
    ops->notify_ack(ctx);
    assert_false(notify_ready(NULL));
    struct xend_err err = {0};
    assert_int_equal(ops->dom_unpause(ctx, id, &err), 0);
    struct xend_dominfo i = wait_flags(id, XEND_DOMF_CRASHED);
    assert_int_equal(i.shutdown_reason, XEND_SHUTDOWN_CRASH);
    assert_false(i.flags & XEND_DOMF_RUNNING);
    assert_true(fake_host_loop_until(notify_ready, NULL, DEADLINE_MS));
    ops->notify_ack(ctx);
    destroy(id);
}

static void test_sim_exit_knob_shuts_itself_down(void **state)
{
    (void)state;
    uint32_t id = make_domain("vm-exit", 16 * MB, "sim.exit=poweroff:0.1", true);
    struct xend_dominfo i = wait_flags(id, XEND_DOMF_SHUTDOWN);
    assert_int_equal(i.shutdown_reason, XEND_SHUTDOWN_POWEROFF);
    destroy(id);
}

static void test_memory_is_accounted(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint64_t before = free_kb();
    struct xend_dom_create big = {.size = sizeof(big),
                                  .name = "too-big",
                                  .mem_kb = before + 4 * MB,
                                  .want_domid = -1,
                                  .cpu = -1};
    uint32_t id;
    assert_int_equal(ops->dom_create(ctx, &big, &id, &err), -XEND_ENOMEM);
    assert_memory_equal(err.msg, "Out of memory: ", 15);
    assert_int_equal(free_kb(), before);

    id = make_domain("vm-mem", 256 * MB, "", false);
    assert_int_equal(free_kb(), before - 256 * MB);
    xend_err_clear(&err);
    big.mem_kb = before - 255 * MB; /* fitted before, not with vm-mem there */
    uint32_t id2;
    assert_int_equal(ops->dom_create(ctx, &big, &id2, &err), -XEND_ENOMEM);
    destroy(id);
    assert_int_equal(free_kb(), before);
}

static void test_want_domid_is_honoured_when_free(void **state)
{
    (void)state;
    struct xend_err err = {0};
    struct xend_dom_create a = {.size = sizeof(a), .mem_kb = 8 * MB, .want_domid = 77, .cpu = -1};
    uint32_t id, id2;
    assert_int_equal(ops->dom_create(ctx, &a, &id, &err), 0);
    assert_int_equal(id, 77);
    assert_int_equal(ops->dom_create(ctx, &a, &id2, &err), 0);
    assert_int_not_equal(id2, 77);
    destroy(id);
    destroy(id2);
}

static void test_console_shows_boot_lines_and_echoes(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-console", 16 * MB, "console=xvc0", true);
    int fd;
    assert_int_equal(ops->console_open(ctx, id, &fd, &err), 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    char acc[8192] = "";
    assert_true(read_until(fd, "login: ", acc, sizeof(acc)));
    assert_non_null(strstr(acc, "Linux version"));
    assert_non_null(strstr(acc, "console=xvc0"));
    assert_int_equal(write(fd, "uname -a\r\n", 10), 10);
    assert_true(read_until(fd, "echo: uname -a\r\n", acc, sizeof(acc)));
    destroy(id);
    /* The console ends with the domain. */
    char buf[64];
    uint64_t end = now_ms() + DEADLINE_MS;
    ssize_t n;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 50);
        n = read(fd, buf, sizeof(buf));
        if (n == 0 || now_ms() > end)
            break;
    }
    assert_int_equal(n, 0);
    close(fd);
}

static void test_console_output_is_kept_until_a_client_attaches(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-late", 16 * MB, "", true);
    int fd;
    assert_int_equal(ops->console_open(ctx, id, &fd, &err), 0);
    char acc[8192] = "";
    assert_true(read_until(fd, "vm-late login: ", acc, sizeof(acc)));
    close(fd);
    destroy(id);
}

struct progress_seen {
    uint64_t calls, done, total;
};

static int on_progress(void *arg, uint64_t done, uint64_t total)
{
    struct progress_seen *p = arg;
    p->calls++;
    p->done = done;
    p->total = total;
    assert_true(done <= total);
    return 0;
}

/* Says stop on its fourth call, as xend's does when an operator cancels. */
static int stop_at_fourth(void *arg, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    struct progress_seen *p = arg;
    return ++p->calls == 4 ? -XEND_ECANCELED : 0;
}

static void save_restore(bool live)
{
    struct xend_err err = {0};
    uint32_t id = make_domain(live ? "vm-live" : "vm-save", 32 * MB, "sim.dirty_rate=2000", true);
    uint64_t first = checksum(id);
    uint64_t end = now_ms() + DEADLINE_MS;
    while (checksum(id) == first) { /* it dirties its memory while it runs */
        assert_true(now_ms() < end);
        poll(NULL, 0, 5);
    }
    char path[160];
    snprintf(path, sizeof(path), "%s/%s.img", dir, live ? "live" : "plain");
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    struct progress_seen prog = {0};
    int rc = ops->save(ctx, id, fd, live, on_progress, &prog, &err);
    if (rc != 0)
        fail_msg("save: %s", xend_err_msg(&err));
    close(fd);
    assert_true(prog.calls > 0);
    assert_true(prog.done > 0);
    struct xend_dominfo i = info_of(id);
    assert_true(i.flags & XEND_DOMF_PAUSED); /* the save leaves it paused */
    uint64_t saved = checksum(id);
    destroy(id);

    fd = open(path, O_RDONLY);
    struct xend_dom_create a = {.size = sizeof(a), .name = "restored", .want_domid = -1, .cpu = -1};
    uint32_t nid = 0;
    rc = ops->restore(ctx, fd, &a, &nid, on_progress, &prog, &err);
    if (rc != 0)
        fail_msg("restore: %s", xend_err_msg(&err));
    close(fd);
    assert_int_equal(checksum(nid), saved);
    struct xend_dominfo r = info_of(nid);
    assert_true(r.flags & XEND_DOMF_PAUSED);
    assert_int_equal(r.mem_kb, 32 * MB);
    assert_int_equal(ops->dom_unpause(ctx, nid, &err), 0); /* and it runs again */
    wait_cpu_above(nid, 0);
    destroy(nid);
}

static void test_save_then_restore_keeps_the_memory_checksum(void **state)
{
    (void)state;
    save_restore(false);
}

static void test_live_save_then_restore_keeps_the_memory_checksum(void **state)
{
    (void)state;
    save_restore(true);
}

/* A byte inside the last page's data changed; the file rewound. */
static void flip_a_page_byte(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size > 20000);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, size - 5000), 1);
    b ^= 0xff;
    assert_int_equal(pwrite(fd, &b, 1, size - 5000), 1);
    lseek(fd, 0, SEEK_SET);
}

static void test_restore_refuses_a_corrupt_image(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-corrupt", 16 * MB, "", false);
    char path[160];
    snprintf(path, sizeof(path), "%s/corrupt.img", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    assert_int_equal(ops->save(ctx, id, fd, false, NULL, NULL, &err), 0);
    destroy(id);
    flip_a_page_byte(fd);
    uint64_t before = free_kb();
    struct xend_dom_create a = {.size = sizeof(a), .want_domid = -1, .cpu = -1};
    uint32_t nid;
    assert_int_equal(ops->restore(ctx, fd, &a, &nid, NULL, NULL, &err), -XEND_EIO);
    assert_non_null(strstr(err.msg, "corrupt page"));
    close(fd);
    assert_int_equal(free_kb(), before); /* the half-restored domain is gone */
}

/* A child that moves bytes from `from` to `to` until `from` ends (the other side of a
 * handed descriptor: a relocation connection's peer). Its pid. */
static pid_t pump_child(int from, int to, int close_in_child)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(close_in_child);
        char buf[65536];
        ssize_t n;
        while ((n = read(from, buf, sizeof(buf))) > 0)
            if (write(to, buf, (size_t)n) != n)
                _exit(1);
        _exit(n == 0 ? 0 : 1);
    }
    return pid;
}

/* Where the fd is a socket, simhv takes it with the request and moves the image itself
 * (docs/simhv.md, "Handed descriptors"): a live save's rounds, progress and pace still come
 * through the plugin, a restore checks every page, and a stop leaves things as they were. */
static void test_a_handed_descriptor_carries_the_image(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-handed", 32 * MB, "sim.dirty_rate=2000", true);
    char path[160];
    snprintf(path, sizeof(path), "%s/handed.img", dir);
    int file = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    pid_t pid = pump_child(sp[1], file, sp[0]);
    close(sp[1]);
    struct progress_seen prog = {0};
    struct xend_save_args a = {.size = sizeof(a),
                               .live = 1,
                               .progress = on_progress,
                               .progress_arg = &prog,
                               .rate_bytes_s = 64u << 20};
    if (ops->save_with(ctx, id, sp[0], &a, &err) != 0)
        fail_msg("save: %s", xend_err_msg(&err));
    close(sp[0]); /* simhv closed its copy: the peer sees the end */
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(status, 0);
    assert_true(prog.calls > 2);
    assert_true(info_of(id).flags & XEND_DOMF_PAUSED);
    uint64_t saved = checksum(id);
    destroy(id);

    /* Restored from a socket fed with the image: the same memory. */
    lseek(file, 0, SEEK_SET);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    pid = pump_child(file, sp[1], sp[0]);
    close(sp[1]);
    struct xend_dom_create c = {.size = sizeof(c), .name = "handed", .want_domid = -1, .cpu = -1};
    uint32_t nid = 0;
    prog = (struct progress_seen){0};
    if (ops->restore(ctx, sp[0], &c, &nid, on_progress, &prog, &err) != 0)
        fail_msg("restore: %s", xend_err_msg(&err));
    close(sp[0]);
    waitpid(pid, NULL, 0);
    assert_int_equal(checksum(nid), saved);
    assert_true(prog.calls > 2);
    destroy(nid);

    /* A changed byte is refused as from a file, and leaves no domain. */
    flip_a_page_byte(file);
    uint64_t before = free_kb();
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    pid = pump_child(file, sp[1], sp[0]);
    close(sp[1]);
    err = (struct xend_err){0};
    assert_int_equal(ops->restore(ctx, sp[0], &c, &nid, NULL, NULL, &err), -XEND_EIO);
    assert_non_null(strstr(err.msg, "corrupt page"));
    close(sp[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(free_kb(), before);
    close(file);

    /* Told to stop: the guest the save paused runs again. */
    id = make_domain_of(big_kernel, "vm-handed-stop", 32 * MB, "", true);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    int null = open("/dev/null", O_WRONLY);
    pid = pump_child(sp[1], null, sp[0]);
    close(sp[1]);
    close(null);
    prog = (struct progress_seen){0};
    a = (struct xend_save_args){.size = sizeof(a),
                                .progress = stop_at_fourth,
                                .progress_arg = &prog,
                                .rate_bytes_s = 1u << 20}; /* reports every 26 KiB */
    assert_int_equal(ops->save_with(ctx, id, sp[0], &a, &err), -XEND_ECANCELED);
    assert_int_equal(prog.calls, 4);
    close(sp[0]);
    waitpid(pid, NULL, 0);
    assert_false(info_of(id).flags & XEND_DOMF_PAUSED); /* simhv resumed it before the end */
    destroy(id);
}

/* A save told to stop (ABI 1.7's verdict) ends at once with that code, and the guest it
 * paused runs again; a stopped restore leaves no domain behind. */
static void test_a_stopped_save_or_restore_leaves_things_as_they_were(void **state)
{
    (void)state;
    struct xend_err err = {0};
    assert_true(ops->flags & XEND_BACKEND_TRANSFER_STOPS);
    /* Several records: the fourth report (the first is at 0) comes before the end. */
    uint32_t id = make_domain_of(big_kernel, "vm-stop", 32 * MB, "", true);
    char path[160];
    snprintf(path, sizeof(path), "%s/stopped.img", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    struct progress_seen prog = {0};
    assert_int_equal(ops->save(ctx, id, fd, false, stop_at_fourth, &prog, &err), -XEND_ECANCELED);
    assert_int_equal(prog.calls, 4);
    uint64_t end = now_ms() + DEADLINE_MS;
    while ((info_of(id).flags & XEND_DOMF_PAUSED) && now_ms() < end)
        poll(NULL, 0, 10);
    assert_false(info_of(id).flags & XEND_DOMF_PAUSED); /* simhv resumed it */

    /* The whole image, then a restore told to stop half-way. */
    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(ops->save(ctx, id, fd, false, NULL, NULL, &err), 0);
    destroy(id);
    lseek(fd, 0, SEEK_SET);
    uint64_t before = free_kb();
    struct xend_dom_create a = {.size = sizeof(a), .want_domid = -1, .cpu = -1};
    uint32_t nid = 0;
    prog.calls = 0;
    err = (struct xend_err){0};
    assert_int_equal(ops->restore(ctx, fd, &a, &nid, stop_at_fourth, &prog, &err), -XEND_ECANCELED);
    close(fd);
    end = now_ms() + DEADLINE_MS;
    while (free_kb() != before && now_ms() < end)
        poll(NULL, 0, 10);
    assert_int_equal(free_kb(), before); /* the half-restored domain is gone */
}

static void test_dirty_tracking_reports_written_pages(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-dirty", 16 * MB, "sim.dirty_rate=5000", false);
    assert_int_equal(ops->dirty_begin(ctx, id, &err), 0);
    uint64_t npages = 16 * MB / 4;
    uint8_t *bits = calloc(npages / 8, 1);
    assert_int_equal(ops->dirty_read(ctx, id, bits, npages, &err), 0);
    size_t set = 0;
    for (size_t i = 0; i < npages / 8; i++)
        set += (size_t)__builtin_popcount(bits[i]);
    assert_int_equal(set, 0); /* paused: nothing written */
    assert_int_equal(ops->dom_unpause(ctx, id, &err), 0);
    uint64_t end = now_ms() + DEADLINE_MS;
    while (set == 0 && now_ms() < end) {
        poll(NULL, 0, 10);
        assert_int_equal(ops->dirty_read(ctx, id, bits, npages, &err), 0);
        for (size_t i = 0; i < npages / 8; i++)
            set += (size_t)__builtin_popcount(bits[i]);
    }
    assert_true(set > 0);
    assert_int_equal(ops->dirty_end(ctx, id, &err), 0);
    assert_int_equal(ops->dirty_read(ctx, id, bits, npages, &err), -XEND_EINVAL);
    free(bits);
    destroy(id);
}

static void test_devices_get_backend_names(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-dev", 16 * MB, "", false);
    char name[64];
    assert_int_equal(ops->dev_attach(ctx, id, "vif", 0, NULL, name, sizeof(name), &err), 0);
    char want[32];
    snprintf(want, sizeof(want), "vif%u.0", id);
    assert_string_equal(name, want);
    assert_int_equal(ops->dev_attach(ctx, id, "vif", 0, NULL, name, sizeof(name), &err),
                     -XEND_EEXIST);
    xend_err_clear(&err);
    assert_int_equal(ops->dev_attach(ctx, id, "usb", 2, NULL, name, sizeof(name), &err), 0);
    snprintf(want, sizeof(want), "usb-%u.2", id);
    assert_string_equal(name, want);
    assert_int_equal(ops->dev_detach(ctx, id, "usb", 2, &err), 0);
    assert_int_equal(ops->dev_detach(ctx, id, "usb", 2, &err), -XEND_ENOENT);
    destroy(id);
}

static void test_other_scheduler_is_not_supported(void **state)
{
    (void)state;
    struct xend_err err = {0};
    struct xend_sched_value v = {.name = "slice", .value = 0};
    assert_int_equal(ops->sched_get(ctx, 0, "atropos", &v, 1, &err), -XEND_ENOTSUP);
    assert_non_null(strstr(err.msg, "bvt"));
}

static void test_malformed_requests_get_errors_and_simhv_keeps_serving(void **state)
{
    (void)state;
    int fd = raw_connect();
    const char *req = "(garbage\n(nosuch 5)\n(dom_info 6 (domid banana))\n(hello 7)\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char acc[4096] = "";
    assert_true(read_until(fd, "(ok 7", acc, sizeof(acc)));
    assert_non_null(strstr(acc, "(err 0 1 "));
    assert_non_null(strstr(acc, "(err 5 5 "));
    assert_non_null(strstr(acc, "(err 6 1 "));
    close(fd);
    struct xend_err err = {0};
    struct xend_physinfo pi;
    assert_int_equal(ops->physinfo(ctx, &pi, &err), 0);
}

static bool domain_count_is(size_t want)
{
    struct list_seen s = list_find(UINT32_MAX);
    return s.count == want;
}

static void test_killed_clients_leave_no_half_made_domain(void **state)
{
    (void)state;
    size_t doms = list_find(UINT32_MAX).count;
    uint64_t before = free_kb();

    /* A client that creates a domain, starts another request and dies. */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = raw_connect();
        const char *req = "(dom_create 1 (name orphan) (mem_kb 131072))\n";
        if (write(fd, req, strlen(req)) < 0)
            _exit(1);
        char acc[512] = "";
        if (!read_until(fd, "\n", acc, sizeof(acc)))
            _exit(1);
        if (write(fd, "(dom_build 2 (domid", 19) < 0) /* half a request */
            _exit(1);
        raise(SIGKILL);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    uint64_t end = now_ms() + DEADLINE_MS;
    while (!domain_count_is(doms) || free_kb() != before) {
        assert_true(now_ms() < end);
        poll(NULL, 0, 5);
    }

    /* A restore that dies half way through the image. */
    uint32_t id = make_domain("vm-src", 64 * MB, "", false);
    char path[160];
    snprintf(path, sizeof(path), "%s/half.img", dir);
    int img = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    struct xend_err err = {0};
    assert_int_equal(ops->save(ctx, id, img, false, NULL, NULL, &err), 0);
    destroy(id);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid = fork();
    if (pid == 0) {
        close(p[1]);
        struct xend_dom_create a = {.size = sizeof(a), .name = "half", .want_domid = -1, .cpu = -1};
        uint32_t nid;
        ops->restore(ctx, p[0], &a, &nid, NULL, NULL, &err);
        _exit(0);
    }
    close(p[0]);
    char chunk[30000];
    ssize_t n = pread(img, chunk, sizeof(chunk), 0);
    assert_true(n == (ssize_t)sizeof(chunk));
    assert_int_equal(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    /* simhv has the header: the domain being restored shows up... */
    end = now_ms() + DEADLINE_MS;
    while (!domain_count_is(doms + 1)) {
        assert_true(now_ms() < end);
        poll(NULL, 0, 5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(p[1]);
    close(img);
    /* ...and goes with the client. */
    end = now_ms() + DEADLINE_MS;
    while (!domain_count_is(doms) || free_kb() != before) {
        assert_true(now_ms() < end);
        poll(NULL, 0, 5);
    }
    struct xend_physinfo pi;
    assert_int_equal(ops->physinfo(ctx, &pi, &err), 0);
}

/* ---- pipelined creates (dom_create_async, dom_confirm) ---- */

struct made {
    bool returned; /* dom_create_async had returned when done ran */
    bool called;
    bool called_early;
    int rc;
    struct xend_dominfo info;
    char msg[200];
};

static bool create_returned;

static void on_made(void *arg, int rc, const struct xend_dominfo *info, const struct xend_err *err)
{
    struct made *m = arg;
    m->called_early = m->called_early || !create_returned;
    m->called = true;
    m->rc = rc;
    if (rc == 0)
        m->info = *info;
    else
        snprintf(m->msg, sizeof(m->msg), "%.199s", xend_err_msg(err));
}

static void make_async(struct made *m, const char *name, const char *kern, bool hold)
{
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = name,
                                .mem_kb = 4 * MB,
                                .maxmem_kb = 4 * MB,
                                .vcpus = 1,
                                .want_domid = -1,
                                .cpu = -1,
                                .flags = hold ? XEND_DOM_CREATE_HOLD : 0};
    struct xend_dom_image img = {
        .size = sizeof(img), .builder = "linux", .kernel = kern, .cmdline = ""};
    create_returned = false;
    ops->dom_create_async(ctx, &a, &img, on_made, m);
    create_returned = true;
}

struct made_set {
    struct made *v;
    size_t n;
};

static bool all_made(void *arg)
{
    struct made_set *s = arg;
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].called)
            return false;
    return true;
}

static void test_creates_in_flight_all_come_back_built_and_paused(void **state)
{
    (void)state;
    enum { N = 40 };
    struct made m[N] = {{0}};
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "pipe%d", i);
        make_async(&m[i], names[i], kernel, false);
    }
    struct made_set set = {m, N};
    assert_true(fake_host_loop_until(all_made, &set, DEADLINE_MS));
    for (int i = 0; i < N; i++) {
        assert_false(m[i].called_early);
        if (m[i].rc != 0)
            fail_msg("create %d: %s", i, m[i].msg);
        assert_string_equal(m[i].info.name, names[i]);
        assert_true(m[i].info.flags & XEND_DOMF_PAUSED);
        assert_int_equal(m[i].info.mem_kb, 4 * MB);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(m[i].info.domid, m[j].info.domid);
        /* simhv has it, built: it can run */
        struct xend_err err = {0};
        assert_int_equal(ops->dom_unpause(ctx, m[i].info.domid, &err), 0);
        assert_true(list_find(m[i].info.domid).found);
    }
    for (int i = 0; i < N; i++)
        destroy(m[i].info.domid);
}

static void test_a_failed_async_build_leaves_no_domain(void **state)
{
    (void)state;
    size_t doms = list_find(UINT32_MAX).count;
    uint64_t before = free_kb();
    struct made m = {0};
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-such-kernel", dir);
    make_async(&m, "nokernel", missing, true);
    struct made_set set = {&m, 1};
    assert_true(fake_host_loop_until(all_made, &set, DEADLINE_MS));
    assert_false(m.called_early);
    assert_int_equal(m.rc, -XEND_ENOENT);
    assert_non_null(strstr(m.msg, "Kernel image does not exist"));
    assert_int_equal(list_find(UINT32_MAX).count, doms);
    assert_int_equal(free_kb(), before);
}

static bool gone(void *arg)
{
    return !list_find(*(uint32_t *)arg).found;
}

/*
 * XEND_DOM_CREATE_HOLD: a held domain goes with the connection that made it (xend
 * crashed before its record was durable), a confirmed one stays, even when the confirm
 * was sent just before the hang-up and never answered.
 */
static void test_a_held_domain_dies_with_its_creator_unless_confirmed(void **state)
{
    (void)state;
    struct made kept = {0}, dropped = {0};
    make_async(&kept, "kept", kernel, true);
    make_async(&dropped, "dropped", kernel, true);
    struct made_set one = {&kept, 1}, two = {&dropped, 1};
    assert_true(fake_host_loop_until(all_made, &one, DEADLINE_MS));
    assert_true(fake_host_loop_until(all_made, &two, DEADLINE_MS));
    assert_int_equal(kept.rc, 0);
    assert_int_equal(dropped.rc, 0);
    struct xend_err err = {0};
    assert_int_equal(ops->dom_confirm(ctx, kept.info.domid, &err), 0);
    /* The backend goes away with the confirm's answer still due (as in a crash). */
    ops->close(ctx);
    assert_int_equal(ops->open(ctx, &err), 0);
    uint32_t id = dropped.info.domid;
    assert_true(fake_host_loop_until(gone, &id, DEADLINE_MS));
    assert_true(list_find(kept.info.domid).found);
    destroy(kept.info.domid);
}

/* ---- pipelined destroys (dom_destroy_async) ---- */

struct unmade {
    bool returned; /* dom_destroy_async had returned when done ran */
    bool called;
    bool called_early;
    int rc;
    char msg[200];
};

static void on_unmade(void *arg, int rc, const struct xend_err *err)
{
    struct unmade *u = arg;
    u->called_early = u->called_early || !u->returned;
    u->called = true;
    u->rc = rc;
    if (rc < 0)
        snprintf(u->msg, sizeof(u->msg), "%.199s", xend_err_msg(err));
}

static void unmake_async(struct unmade *u, uint32_t domid)
{
    u->returned = false;
    ops->dom_destroy_async(ctx, domid, on_unmade, u);
    u->returned = true;
}

static bool unmade(void *arg)
{
    return ((struct unmade *)arg)->called;
}

/*
 * A pipelined destroy answers later, never from inside the call, with the domain gone and
 * its memory back; a destroy of a domain that is not there answers as dom_destroy does.
 */
static void test_a_pipelined_destroy_answers_later_and_frees_the_memory(void **state)
{
    (void)state;
    size_t doms = list_find(UINT32_MAX).count;
    uint64_t before = free_kb();
    struct made m = {0};
    make_async(&m, "unmade", kernel, false);
    struct made_set set = {&m, 1};
    assert_true(fake_host_loop_until(all_made, &set, DEADLINE_MS));
    assert_int_equal(m.rc, 0);
    assert_true(list_find(m.info.domid).found);
    struct unmade u = {0};
    unmake_async(&u, m.info.domid);
    assert_false(u.called); /* never before it returns */
    assert_true(fake_host_loop_until(unmade, &u, DEADLINE_MS));
    assert_false(u.called_early);
    if (u.rc != 0)
        fail_msg("destroy: %s", u.msg);
    assert_false(list_find(m.info.domid).found);
    assert_int_equal(list_find(UINT32_MAX).count, doms);
    assert_int_equal(free_kb(), before);

    struct unmade again = {0};
    unmake_async(&again, m.info.domid);
    assert_true(fake_host_loop_until(unmade, &again, DEADLINE_MS));
    assert_int_equal(again.rc, -XEND_ENOENT);
    assert_true(again.msg[0] != '\0');
}

static void test_a_console_for_a_missing_domain_just_ends(void **state)
{
    (void)state;
    int fd = -1;
    struct xend_err err = {0};
    /* No round trip for the console's request: a refusal shows as the end of the stream. */
    assert_int_equal(ops->console_open(ctx, 4000, &fd, &err), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
    char c;
    assert_int_equal(read(fd, &c, 1), 0); /* the end, not a reply line */
    close(fd);
}

static void test_dmesg_tells_what_happened(void **state)
{
    (void)state;
    struct xend_err err = {0};
    uint32_t id = make_domain("vm-dmesg", 8 * MB, "", false);
    char *text = ops->dmesg(ctx, true, &err);
    assert_non_null(text);
    char want[64];
    snprintf(want, sizeof(want), "domain %u created", id);
    assert_non_null(strstr(text, want));
    free(text);
    text = ops->dmesg(ctx, false, &err);
    assert_string_equal(text, ""); /* cleared */
    free(text);
    destroy(id);
}

/* ---- starting simhv: each test loads the plugin afresh ---- */

static int load_plugin(const char *simhv_path, const char *scheduler)
{
    fake_host_new("hv-sim");
    fake_host_dir_set("state", dir);
    fake_host_config_set("simhv-path", simhv_path);
    fake_host_config_set("sim-memory", "1024");
    if (scheduler != NULL)
        fake_host_config_set("scheduler", scheduler);
    if (fake_host_init_plugin(desc) != 0)
        return -1;
    ops = fake_host_backend("sim", &ctx);
    return ops ? 0 : -1;
}

static void unload_plugin(void)
{
    ops->close(ctx);
    fake_host_fini_plugin(desc);
    fake_host_free();
}

static int start_group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/simstart-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(sock_path, sizeof(sock_path), "%s/simhv.sock", dir);
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
    FILE *f = fopen(kernel, "w");
    fputs("kernel\n", f);
    fclose(f);
    return 0;
}

static int start_group_teardown(void **state)
{
    (void)state;
    run_stop();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_open_explains_a_missing_simhv(void **state)
{
    (void)state;
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no/xend-simhv", dir);
    assert_int_equal(load_plugin(missing, NULL), 0);
    struct xend_err err = {0};
    assert_int_equal(ops->open(ctx, &err), -XEND_EBACKEND);
    assert_non_null(strstr(err.msg, "cannot start xend-simhv"));
    assert_non_null(strstr(err.msg, missing));
    unload_plugin();
}

static void test_open_passes_on_what_simhv_refused(void **state)
{
    (void)state;
    assert_int_equal(load_plugin(SIMHV_BIN, "lottery"), 0);
    struct xend_err err = {0};
    assert_int_equal(ops->open(ctx, &err), -XEND_EBACKEND);
    assert_non_null(strstr(err.msg, "lottery")); /* simhv's own words */
    unload_plugin();
}

/* A simhv of an older protocol (left running across an upgrade) is named, with the fix. */
static void test_open_refuses_a_simhv_of_an_older_protocol(void **state)
{
    (void)state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    unlink(sock_path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    pid_t pid = fork();
    if (pid == 0) { /* the old simhv: answers hello with version 1, then waits */
        int fd = accept(lfd, NULL, NULL);
        char line[256] = "";
        size_t n = 0;
        while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
            n++;
        long id = 0;
        sscanf(line, "(hello %ld", &id);
        char reply[128];
        int len =
            snprintf(reply, sizeof(reply), "(ok %ld (version 1) (hypervisor 'simhv old'))\n", id);
        if (write(fd, reply, (size_t)len) != len)
            _exit(1);
        char c;
        while (read(fd, &c, 1) > 0)
            ;
        _exit(0);
    }
    close(lfd);
    assert_int_equal(load_plugin(SIMHV_BIN, NULL), 0);
    struct xend_err err = {0};
    assert_int_equal(ops->open(ctx, &err), -XEND_EBACKEND);
    if (strstr(err.msg, "speaks protocol 1, this plugin speaks 2 to 3") == NULL ||
        strstr(err.msg, "xend-simhv --stop") == NULL)
        fail_msg("%s", err.msg);
    unload_plugin();
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(sock_path);
}

/* With simhv gone, a create ends with the reason, later, never inside the call. */
static void test_a_create_with_simhv_gone_fails_later_with_the_reason(void **state)
{
    (void)state;
    struct xend_err err = {0};
    assert_int_equal(load_plugin(SIMHV_BIN, NULL), 0);
    assert_int_equal(ops->open(ctx, &err), 0);
    run_stop();
    struct made m = {0};
    make_async(&m, "orphan", kernel, true);
    struct made_set set = {&m, 1};
    assert_true(fake_host_loop_until(all_made, &set, DEADLINE_MS));
    assert_false(m.called_early);
    assert_int_equal(m.rc, -XEND_EBACKEND);
    if (strstr(m.msg, "cannot connect to xend-simhv") == NULL)
        fail_msg("%s", m.msg);
    unload_plugin();
}

static void test_simhv_outlives_the_backend(void **state)
{
    (void)state;
    struct xend_err err = {0};
    assert_int_equal(load_plugin(SIMHV_BIN, NULL), 0);
    assert_int_equal(ops->open(ctx, &err), 0);
    uint32_t id = make_domain("survivor", 16 * MB, "", true);
    unload_plugin(); /* xend stops */

    assert_int_equal(load_plugin(SIMHV_BIN, NULL), 0); /* xend starts again */
    assert_int_equal(ops->open(ctx, &err), 0);
    struct xend_dominfo i = info_of(id);
    assert_string_equal(i.name, "survivor");
    assert_false(i.flags & XEND_DOMF_PAUSED);
    destroy(id);
    unload_plugin();
}

/* Run xend-simhv with args (NULL-terminated); its exit status, stderr into err. */
static int run_simhv(char *err, size_t err_len, ...)
{
    const char *argv[16] = {SIMHV_BIN};
    va_list ap;
    va_start(ap, err_len);
    for (int i = 1; i < 15 && (argv[i] = va_arg(ap, const char *)) != NULL; i++)
        ;
    va_end(ap);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        execv(SIMHV_BIN, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    ssize_t n = read(p[0], err, err_len - 1);
    err[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_simhv_refuses_a_second_instance_and_stops_when_its_socket_goes(void **state)
{
    (void)state;
    char sock[160], pidfile[160], err[512];
    snprintf(sock, sizeof(sock), "%s/own/simhv.sock", dir);
    snprintf(pidfile, sizeof(pidfile), "%s/simhv.pid", dir);
    assert_int_equal(run_simhv(err, sizeof(err), "--socket", sock, "--pidfile", pidfile, "--memory",
                               "256", (char *)NULL),
                     0);
    assert_int_equal(run_simhv(err, sizeof(err), "--socket", sock, (char *)NULL), 1);
    assert_non_null(strstr(err, "already running"));
    FILE *f = fopen(pidfile, "r");
    int pid = 0;
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    assert_int_equal(kill(pid, 0), 0);
    unlink(sock); /* as when its state dir is deleted */
    uint64_t end = now_ms() + DEADLINE_MS;
    while (kill(pid, 0) == 0) {
        assert_true(now_ms() < end);
        poll(NULL, 0, 20);
    }
    assert_int_equal(run_simhv(err, sizeof(err), "--stop", "--socket", sock, (char *)NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_started_simhv_with_domain0),
        cmocka_unit_test(test_create_build_and_list),
        cmocka_unit_test(test_build_refuses_missing_kernel),
        cmocka_unit_test(test_bad_guest_knob_is_refused),
        cmocka_unit_test(test_paused_domain_gets_no_cpu_time),
        cmocka_unit_test(test_shutdown_reason_is_reported_after_the_delay),
        cmocka_unit_test(test_ignore_shutdown_knob_keeps_it_running),
        cmocka_unit_test(test_sim_crash_sets_crashed_flag_and_notifies),
        cmocka_unit_test(test_sim_exit_knob_shuts_itself_down),
        cmocka_unit_test(test_memory_is_accounted),
        cmocka_unit_test(test_want_domid_is_honoured_when_free),
        cmocka_unit_test(test_console_shows_boot_lines_and_echoes),
        cmocka_unit_test(test_console_output_is_kept_until_a_client_attaches),
        cmocka_unit_test(test_save_then_restore_keeps_the_memory_checksum),
        cmocka_unit_test(test_live_save_then_restore_keeps_the_memory_checksum),
        cmocka_unit_test(test_restore_refuses_a_corrupt_image),
        cmocka_unit_test(test_a_handed_descriptor_carries_the_image),
        cmocka_unit_test(test_a_stopped_save_or_restore_leaves_things_as_they_were),
        cmocka_unit_test(test_dirty_tracking_reports_written_pages),
        cmocka_unit_test(test_devices_get_backend_names),
        cmocka_unit_test(test_other_scheduler_is_not_supported),
        cmocka_unit_test(test_malformed_requests_get_errors_and_simhv_keeps_serving),
        cmocka_unit_test(test_killed_clients_leave_no_half_made_domain),
        cmocka_unit_test(test_dmesg_tells_what_happened),
        cmocka_unit_test(test_creates_in_flight_all_come_back_built_and_paused),
        cmocka_unit_test(test_a_failed_async_build_leaves_no_domain),
        cmocka_unit_test(test_a_held_domain_dies_with_its_creator_unless_confirmed),
        cmocka_unit_test(test_a_pipelined_destroy_answers_later_and_frees_the_memory),
        cmocka_unit_test(test_a_console_for_a_missing_domain_just_ends),
    };
    const struct CMUnitTest start_tests[] = {
        cmocka_unit_test(test_open_explains_a_missing_simhv),
        cmocka_unit_test(test_open_passes_on_what_simhv_refused),
        cmocka_unit_test(test_open_refuses_a_simhv_of_an_older_protocol),
        cmocka_unit_test(test_a_create_with_simhv_gone_fails_later_with_the_reason),
        cmocka_unit_test(test_simhv_outlives_the_backend),
        cmocka_unit_test(test_simhv_refuses_a_second_instance_and_stops_when_its_socket_goes),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    return failed + cmocka_run_group_tests(start_tests, start_group_setup, start_group_teardown);
}
