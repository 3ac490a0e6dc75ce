/*
 * xend-simhv's parts without sockets or the real clock: memory images, guest knobs,
 * consoles, the machine's memory accounting and guest timing, save/restore streams and
 * the protocol dispatcher. Time is whatever the test says it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <xend/backend.h>

#include "console.h"
#include "domain.h"
#include "guest.h"
#include "image.h"
#include "memimg.h"
#include "proto.h"
#include "sxp.h"

#define MS 1000000ull
#define T0 (1000 * MS)

static char kernel[64];

static int setup(void **state)
{
    (void)state;
    snprintf(kernel, sizeof(kernel), "/tmp/simhv-unit-XXXXXX");
    int fd = mkstemp(kernel);
    if (fd < 0 || write(fd, "kernel", 6) != 6)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(kernel);
    return 0;
}

static struct simhv_machine *machine(uint64_t mb)
{
    struct simhv_machine_cfg cfg = {
        .cpus = 2, .memory_mb = mb, .scheduler = "bvt", .slice_ms = 10, .shutdown_delay_ms = 200};
    struct xend_err err = {0};
    struct simhv_machine *m = simhv_machine_new(&cfg, T0, &err);
    if (m == NULL)
        fail_msg("machine: %s", xend_err_msg(&err));
    return m;
}

static struct simhv_domain *domain(struct simhv_machine *m, uint64_t mb, const char *cmdline,
                                   const void *owner, bool build)
{
    struct xend_err err = {0};
    struct simhv_dom_args a = {.name = "d", .mem_kb = mb * 1024, .want_domid = -1, .cpu = -1};
    struct simhv_domain *d = NULL;
    assert_int_equal(simhv_dom_create(m, &a, owner, &d, &err), 0);
    if (build)
        assert_int_equal(simhv_dom_build(m, d, kernel, NULL, cmdline, &err), 0);
    return d;
}

/* ---- memory image ---- */

static void test_page_bytes_check_and_detect_damage(void **state)
{
    (void)state;
    uint8_t page[SIMHV_PAGE_SIZE];
    uint32_t gen = 0;
    simhv_mem_page_bytes(42, 7, 3, page);
    assert_int_equal(simhv_mem_page_check(42, 7, page, &gen), 0);
    assert_int_equal(gen, 3);
    assert_int_equal(simhv_mem_page_check(42, 8, page, &gen), -1); /* other pfn */
    assert_int_equal(simhv_mem_page_check(43, 7, page, &gen), -1); /* other image */
    page[SIMHV_PAGE_SIZE - 1] ^= 1;
    assert_int_equal(simhv_mem_page_check(42, 7, page, &gen), -1);
}

static void test_checksum_follows_generations_not_history(void **state)
{
    (void)state;
    struct simhv_mem a, b;
    simhv_mem_init(&a, 100, 9);
    simhv_mem_init(&b, 100, 9);
    assert_int_equal(simhv_mem_checksum(&a), simhv_mem_checksum(&b));
    simhv_mem_touch(&a, 5);
    simhv_mem_touch(&a, 5);
    assert_int_not_equal(simhv_mem_checksum(&a), simhv_mem_checksum(&b));
    simhv_mem_set(&b, 5, 2);
    assert_int_equal(simhv_mem_checksum(&a), simhv_mem_checksum(&b));
    assert_int_equal(a.present, 1);
    simhv_mem_free(&a);
    simhv_mem_free(&b);
}

static void test_dirty_tracking_sees_each_touch_once(void **state)
{
    (void)state;
    struct simhv_mem m;
    simhv_mem_init(&m, 64, 1);
    simhv_mem_touch(&m, 1); /* before tracking: not seen */
    simhv_mem_track_begin(&m, SIMHV_MEM_TRACK_API);
    simhv_mem_touch(&m, 3);
    simhv_mem_touch(&m, 3);
    simhv_mem_touch(&m, 63);
    uint8_t bits[8];
    assert_int_equal(simhv_mem_track_take(&m, SIMHV_MEM_TRACK_API, bits, 64), 2);
    assert_int_equal(bits[0], 1u << 3);
    assert_int_equal(bits[7], 1u << 7);
    assert_int_equal(simhv_mem_track_take(&m, SIMHV_MEM_TRACK_API, bits, 64), 0);
    simhv_mem_free(&m);
}

/* ---- guest knobs ---- */

static void test_guest_knobs_parse_from_the_command_line(void **state)
{
    (void)state;
    struct simhv_guest_knobs k;
    char err[128];
    assert_int_equal(simhv_guest_parse("root=/dev/sda1 ro", &k, err, sizeof(err)), 0);
    assert_int_equal(k.load_pct, SIMHV_GUEST_DEFAULT_LOAD);
    assert_int_equal(k.crash_ms, -1);
    assert_int_equal(k.exit_reason, -1);
    assert_int_equal(simhv_guest_parse("sim.load=100 sim.crash=1.5 sim.ignore_shutdown=1 "
                                       "sim.dirty_rate=300 sim.shutdown_delay_ms=7 "
                                       "sim.exit=reboot:2",
                                       &k, err, sizeof(err)),
                     0);
    assert_int_equal(k.load_pct, 100);
    assert_int_equal(k.crash_ms, 1500);
    assert_true(k.ignore_shutdown);
    assert_int_equal(k.dirty_rate, 300);
    assert_int_equal(k.shutdown_delay_ms, 7);
    assert_int_equal(k.exit_reason, XEND_SHUTDOWN_REBOOT);
    assert_int_equal(k.exit_ms, 2000);
}

static void test_guest_knobs_refuse_bad_values(void **state)
{
    (void)state;
    struct simhv_guest_knobs k;
    char err[128];
    assert_int_equal(simhv_guest_parse("sim.load=101", &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sim.load=101"));
    assert_int_equal(simhv_guest_parse("sim.frobnicate=1", &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown simulated guest option: sim.frobnicate"));
    assert_int_equal(simhv_guest_parse("sim.exit=explode:1", &k, err, sizeof(err)), -1);
    assert_int_equal(simhv_guest_parse("sim.crash=soon", &k, err, sizeof(err)), -1);
}

/* ---- console ---- */

static void test_console_keeps_the_newest_output(void **state)
{
    (void)state;
    struct simhv_console c;
    simhv_console_init(&c);
    char big[SIMHV_CONSOLE_OUT_MAX];
    memset(big, 'a', sizeof(big));
    simhv_console_write(&c, big, sizeof(big));
    simhv_console_write(&c, "tail", 4);
    assert_int_equal(c.out_len, SIMHV_CONSOLE_OUT_MAX);
    assert_memory_equal(c.out + c.out_len - 4, "tail", 4);
    simhv_console_free(&c);
}

static void test_dmesg_drops_whole_old_lines_and_keeps_the_newest(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(256);
    for (int i = 0; i < 5000; i++)
        simhv_dmesg(m, "line %05d of a long boot", i);
    char *log = simhv_dmesg_read(m, false);
    size_t len = strlen(log);
    assert_true(len < SIMHV_DMESG_MAX);
    assert_true(len > SIMHV_DMESG_MAX / 2);      /* a cut frees a quarter, not everything */
    assert_memory_equal(log, "(XEN) line ", 11); /* starts on a whole line */
    assert_non_null(strstr(log, "(XEN) line 04999 of a long boot\n"));
    /* every line present is whole and in order, none missing in between */
    int first = atoi(log + 11), n = 0;
    for (const char *p = log; (p = strstr(p, "(XEN) line ")) != NULL; p++, n++)
        assert_int_equal(atoi(p + 11), first + n);
    assert_int_equal(first + n, 5000);
    free(log);
    simhv_machine_free(m);
}

static void test_console_lines_split_across_writes(void **state)
{
    (void)state;
    struct simhv_console c;
    simhv_console_init(&c);
    char line[64];
    simhv_console_input(&c, "ls -", 4);
    assert_int_equal(simhv_console_take_line(&c, line, sizeof(line)), -1);
    simhv_console_input(&c, "l\r", 2);
    assert_int_equal(simhv_console_take_line(&c, line, sizeof(line)), 5);
    assert_string_equal(line, "ls -l");
    simhv_console_input(&c, "\npwd\n", 5); /* the LF belongs to the CR before it */
    assert_int_equal(simhv_console_take_line(&c, line, sizeof(line)), 3);
    assert_string_equal(line, "pwd");
    assert_int_equal(simhv_console_take_line(&c, line, sizeof(line)), -1);
    simhv_console_free(&c);
}

/* ---- machine and guests ---- */

static void test_memory_is_accounted_and_returned(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    assert_int_equal(simhv_machine_free_kb(m), 512 * 1024);
    struct xend_err err = {0};
    struct simhv_dom_args a = {.mem_kb = 513 * 1024, .want_domid = -1, .cpu = -1};
    struct simhv_domain *d;
    assert_int_equal(simhv_dom_create(m, &a, NULL, &d, &err), -XEND_ENOMEM);
    assert_string_equal(err.msg, "Out of memory: domain needs 513 MB, 512 MB free");
    d = domain(m, 500, "", NULL, false);
    assert_int_equal(simhv_machine_free_kb(m), 12 * 1024);
    xend_err_clear(&err);
    assert_int_equal(simhv_dom_set_target(m, d, 520 * 1024, &err), -XEND_EINVAL); /* > max */
    assert_int_equal(simhv_dom_destroy(m, d, &err), 0);
    assert_int_equal(simhv_machine_free_kb(m), 512 * 1024);
    assert_int_equal(simhv_dom_destroy(m, simhv_dom_find(m, 0), &err), -XEND_EPERM);
    simhv_machine_free(m);
}

static void test_unfinished_domains_go_with_their_creator(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    static int client;
    struct simhv_domain *shell = domain(m, 16, "", &client, false);
    uint32_t shell_id = shell->domid;
    struct simhv_domain *built = domain(m, 16, "", &client, true);
    uint32_t built_id = built->domid;
    simhv_machine_owner_gone(m, &client);
    assert_null(simhv_dom_find(m, shell_id));
    assert_non_null(simhv_dom_find(m, built_id));
    simhv_machine_free(m);
}

/* As Xen raises VIRQ_DOM_EXC: an exit or a destroy is news; a create, build, pause or
 * unpause is not (whoever asked knows). */
static void test_only_exits_and_destroys_notify(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    uint64_t seq = m->change_seq;
    struct simhv_domain *d = domain(m, 16, "", NULL, true);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    assert_int_equal(simhv_dom_pause(m, d, &err), 0);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    assert_int_equal(m->change_seq, seq);
    simhv_dom_stopped(m, d, XEND_SHUTDOWN_REBOOT);
    assert_int_equal(m->change_seq, seq + 1);
    assert_int_equal(simhv_dom_destroy(m, d, &err), 0);
    assert_int_equal(m->change_seq, seq + 2);
    simhv_machine_free(m);
}

static void test_crash_counts_run_time_only(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(m, 16, "sim.crash=1", NULL, true);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    simhv_machine_advance(m, T0 + 600 * MS);
    assert_int_equal(simhv_dom_pause(m, d, &err), 0);
    simhv_machine_advance(m, T0 + 5000 * MS); /* paused: the clock of the guest stops */
    assert_false(d->crashed);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    assert_int_equal(simhv_machine_next_event(m), 400 * MS);
    uint64_t seq = m->change_seq;
    simhv_machine_advance(m, T0 + 5399 * MS);
    assert_false(d->crashed);
    simhv_machine_advance(m, T0 + 5400 * MS);
    assert_true(d->crashed);
    assert_int_equal(simhv_dom_flags(d), XEND_DOMF_CRASHED);
    assert_int_equal(d->shutdown_reason, XEND_SHUTDOWN_CRASH);
    assert_true(m->change_seq > seq);
    simhv_machine_free(m);
}

static void test_shutdown_takes_the_delay_and_halt_is_poweroff(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(m, 16, "sim.shutdown_delay_ms=50", NULL, true);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    assert_int_equal(simhv_dom_shutdown(m, d, XEND_SHUTDOWN_HALT, &err), 0);
    simhv_machine_advance(m, T0 + 49 * MS);
    assert_false(d->shutdown);
    simhv_machine_advance(m, T0 + 50 * MS);
    assert_true(d->shutdown);
    assert_int_equal(d->shutdown_reason, XEND_SHUTDOWN_POWEROFF);
    assert_int_equal(simhv_dom_flags(d), XEND_DOMF_SHUTDOWN);
    assert_int_equal(simhv_dom_shutdown(m, d, 9, &err), -XEND_EINVAL);
    simhv_machine_free(m);
}

static void test_boot_lines_then_echo(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(m, 16, "quiet", NULL, true);
    simhv_console_input(&d->console, "early\n", 6); /* typed before boot: kept */
    assert_int_equal(d->console.out_len, 0);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    char out[SIMHV_CONSOLE_OUT_MAX + 1];
    memcpy(out, d->console.out, d->console.out_len);
    out[d->console.out_len] = '\0';
    assert_non_null(strstr(out, "Linux version"));
    assert_non_null(strstr(out, "Kernel command line: quiet"));
    assert_non_null(strstr(out, "d login: echo: early\r\n"));
    simhv_machine_free(m);
}

/* ---- save and restore streams ---- */

static void restore_into(struct simhv_machine *m, const struct xend_buf *img, int want_rc,
                         uint32_t *domid, struct xend_err *err)
{
    struct simhv_dom_args a = {.want_domid = -1, .cpu = -1};
    static int owner;
    struct simhv_restorer *r = simhv_restorer_new(&a, &owner);
    int rc = 0;
    size_t off = 0;
    /* Odd-sized pieces, small and large by turns: units must be reassembled across feeds,
     * and pages whole in a piece are taken from it. */
    for (int k = 0; off < img->len && rc == 0; k++) {
        size_t piece = k % 2 ? 3 * (8 + SIMHV_PAGE_SIZE) + 5 : 777, used = 0;
        size_t n = img->len - off < piece ? img->len - off : piece;
        rc = simhv_restorer_feed(r, m, (const uint8_t *)img->data + off, n, &used, domid, err);
        off += used;
    }
    assert_int_equal(rc, want_rc);
    simhv_restorer_free(r, m);
}

/* The offset of the first record of an image (after its magic, version and header). */
static size_t first_record(const struct xend_buf *img)
{
    return 16 + simhv_get_le32((const uint8_t *)img->data + 12);
}

/* The record at *off: its type and length, *off moved past it; false past the end. */
static bool next_record(const struct xend_buf *img, size_t *off, uint32_t *type, uint32_t *len)
{
    if (*off + 8 > img->len)
        return false;
    *type = simhv_get_le32((const uint8_t *)img->data + *off);
    *len = simhv_get_le32((const uint8_t *)img->data + *off + 4);
    assert_true(*off + 8 + *len <= img->len);
    *off += 8 + *len;
    return true;
}

/* A plain save of a built 64 MB domain, whole. */
static void saved_image(struct simhv_machine *src, struct xend_buf *img)
{
    struct xend_err err = {0};
    struct simhv_domain *d = domain(src, 64, "", NULL, true);
    struct simhv_saver *s = simhv_saver_new(src, d, false, 0, 0, &err);
    assert_non_null(s);
    while (simhv_saver_step(s, src, img, 100000))
        ;
    simhv_saver_free(s, src);
}

/* A page lost or put in another's place on the way, or an image of the old version: each
 * refused, with nothing left behind. */
static void test_a_restore_refuses_a_lost_or_misplaced_page_and_an_old_version(void **state)
{
    (void)state;
    struct simhv_machine *src = machine(1024), *dst = machine(1024);
    struct xend_err err = {0};
    uint32_t domid = 0;
    struct xend_buf img = XEND_BUF_INIT;
    saved_image(src, &img);
    uint64_t free_before = simhv_machine_free_kb(dst);
    size_t off = first_record(&img), rec = off;
    uint32_t type = 0, len = 0;
    while (next_record(&img, &off, &type, &len) && type != SIMHV_REC_PAGES)
        rec = off;
    assert_int_equal(type, SIMHV_REC_PAGES);
    uint8_t *data = (uint8_t *)img.data;
    uint32_t n = simhv_get_le32(data + rec + 8);
    assert_true(n > 2 && n <= SIMHV_PAGES_PER_REC);
    const size_t entry = 8 + SIMHV_PAGE_SIZE, first = rec + 12;

    /* Misplaced: the second page's frame number said to be the first's. */
    struct xend_buf bad = XEND_BUF_INIT;
    xend_buf_append(&bad, img.data, img.len);
    memcpy(bad.data + first + entry, bad.data + first, 8);
    restore_into(dst, &bad, -XEND_EIO, &domid, &err);
    assert_non_null(strstr(xend_err_msg(&err), "corrupt page"));
    assert_int_equal(simhv_machine_free_kb(dst), free_before);

    /* Lost: the record's last page cut out, its count and length made to match. */
    xend_buf_reset(&bad);
    xend_buf_append(&bad, img.data, first + (n - 1) * entry);
    xend_buf_append(&bad, img.data + first + n * entry, img.len - (first + n * entry));
    simhv_put_le32((uint8_t *)bad.data + rec + 4, 4 + (n - 1) * (uint32_t)entry);
    simhv_put_le32((uint8_t *)bad.data + rec + 8, n - 1);
    xend_err_clear(&err);
    restore_into(dst, &bad, -XEND_EIO, &domid, &err);
    assert_non_null(strstr(xend_err_msg(&err), "checksum mismatch"));
    assert_int_equal(simhv_machine_free_kb(dst), free_before);

    /* Version 1 made its pages otherwise: refused by name, before any domain is made. */
    xend_buf_reset(&bad);
    xend_buf_append(&bad, img.data, img.len);
    simhv_put_le32((uint8_t *)bad.data + 8, 1);
    xend_err_clear(&err);
    restore_into(dst, &bad, -XEND_EINVAL, &domid, &err);
    assert_string_equal(xend_err_msg(&err), "simhv image version 1, this simhv reads 2");
    assert_int_equal(simhv_machine_free_kb(dst), free_before);

    /* And untouched, it restores. */
    xend_err_clear(&err);
    restore_into(dst, &img, 1, &domid, &err);
    xend_buf_free(&bad);
    xend_buf_free(&img);
    simhv_machine_free(src);
    simhv_machine_free(dst);
}

static void test_saved_image_restores_with_the_same_checksum(void **state)
{
    (void)state;
    struct simhv_machine *src = machine(1024), *dst = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(src, 64, "sim.dirty_rate=1000", NULL, true);
    assert_int_equal(simhv_dom_unpause(src, d, &err), 0);
    simhv_machine_advance(src, T0 + 500 * MS);
    struct simhv_saver *s = simhv_saver_new(src, d, false, 0, 0, &err);
    assert_non_null(s);
    assert_true(d->paused); /* a plain save pauses a running domain */
    struct xend_buf img = XEND_BUF_INIT;
    while (simhv_saver_step(s, src, &img, 100000))
        ;
    simhv_saver_free(s, src);
    uint32_t domid = 0;
    restore_into(dst, &img, 1, &domid, &err);
    struct simhv_domain *r = simhv_dom_find(dst, domid);
    assert_non_null(r);
    assert_int_equal(simhv_mem_checksum(&r->mem), simhv_mem_checksum(&d->mem));
    assert_int_equal(r->mem.present, d->mem.present);
    assert_true(r->paused && r->built && r->guest.booted);
    assert_int_equal(r->guest.knobs.dirty_rate, 1000);
    assert_null(r->owner);

    /* The same image with one byte of one page changed is refused, and leaves nothing. */
    uint64_t free_before = simhv_machine_free_kb(dst);
    img.data[img.len - 100] ^= 0x40;
    xend_err_clear(&err);
    restore_into(dst, &img, -XEND_EIO, &domid, &err);
    assert_int_equal(simhv_machine_free_kb(dst), free_before);
    xend_buf_free(&img);
    simhv_machine_free(src);
    simhv_machine_free(dst);
}

static void test_live_save_sends_dirty_rounds_then_pauses(void **state)
{
    (void)state;
    struct simhv_machine *src = machine(1024), *dst = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(src, 64, "sim.dirty_rate=20000", NULL, true);
    assert_int_equal(simhv_dom_unpause(src, d, &err), 0);
    simhv_machine_advance(src, T0 + 100 * MS);
    struct simhv_saver *s = simhv_saver_new(src, d, true, 0, 0, &err);
    assert_false(d->paused);
    uint64_t first_round = simhv_saver_pages(s);
    struct xend_buf img = XEND_BUF_INIT;
    uint64_t t = T0 + 100 * MS;
    while (simhv_saver_step(s, src, &img, 64 * 1024)) /* the guest writes between steps */
        simhv_machine_advance(src, t += 2 * MS);
    simhv_saver_free(s, src);
    assert_true(d->paused);
    assert_false(simhv_mem_tracking(&d->mem, SIMHV_MEM_TRACK_SAVE));
    /* Pages written during the first round were sent again. */
    char *log = simhv_dmesg_read(src, false);
    const char *done = strstr(log, "save done, ");
    unsigned long long sent = 0;
    assert_non_null(done);
    assert_int_equal(sscanf(done, "save done, %llu pages", &sent), 1);
    assert_true(sent > first_round);
    free(log);
    uint32_t domid = 0;
    restore_into(dst, &img, 1, &domid, &err);
    assert_int_equal(simhv_mem_checksum(&simhv_dom_find(dst, domid)->mem),
                     simhv_mem_checksum(&d->mem));
    xend_buf_free(&img);
    simhv_machine_free(src);
    simhv_machine_free(dst);
}

/* "save done, SENT pages in ROUNDS round(s), last round LAST pages" from the dmesg. */
static void save_done_counts(struct simhv_machine *m, unsigned long long *sent, unsigned *rounds,
                             unsigned long long *last)
{
    char *log = simhv_dmesg_read(m, false);
    const char *done = strstr(log, "save done, ");
    assert_non_null(done);
    assert_int_equal(
        sscanf(done, "save done, %llu pages in %u round(s), last round %llu", sent, rounds, last),
        3);
    assert_non_null(strstr(done, "paused "));
    free(log);
}

/* A guest that dirties every page between steps never converges, even slowed to 1%: the
 * save stops iterating after its most rounds, the last one included. */
static void test_live_save_of_a_guest_that_does_not_converge_stops_at_its_rounds(void **state)
{
    (void)state;
    struct simhv_machine *src = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(src, 16, "sim.dirty_rate=1000000", NULL, true);
    assert_int_equal(simhv_dom_unpause(src, d, &err), 0);
    simhv_machine_advance(src, T0 + 100 * MS);
    struct simhv_saver *s = simhv_saver_new(src, d, true, 5, 0, &err);
    struct xend_buf img = XEND_BUF_INIT;
    uint64_t t = T0 + 100 * MS;
    while (simhv_saver_step(s, src, &img, 64 * 1024))
        simhv_machine_advance(src, t += 50 * MS);
    simhv_saver_free(s, src);
    unsigned long long sent = 0, last = 0;
    unsigned rounds = 0;
    save_done_counts(src, &sent, &rounds, &last);
    assert_int_equal(rounds, 5);
    assert_true(sent <= 5 * d->mem.npages);
    assert_int_equal(d->guest.throttle_pct, 0); /* the guest runs at its pace again */
    xend_buf_free(&img);
    simhv_machine_free(src);
}

/* A guest that dirties pages four times faster than the stream moves is slowed until its
 * dirty set fits the last round's bound, within a few rounds; each round is in the image
 * as a ROUND record, which a restore passes over. */
static void test_live_save_slows_a_fast_guest_until_the_last_round_fits(void **state)
{
    (void)state;
    struct simhv_machine *src = machine(1024), *dst = machine(1024);
    struct xend_err err = {0};
    /* 4096 pages at 16 pages a step, 4 ms a step: 4000 pages/s sent, 16000 dirtied */
    struct simhv_domain *d = domain(src, 16, "sim.dirty_rate=16000", NULL, true);
    assert_int_equal(simhv_dom_unpause(src, d, &err), 0);
    simhv_machine_advance(src, T0 + 100 * MS);
    struct simhv_saver *s = simhv_saver_new(src, d, true, 0, 64, &err);
    struct xend_buf img = XEND_BUF_INIT;
    uint64_t t = T0 + 100 * MS;
    while (simhv_saver_step(s, src, &img, 64 * 1024))
        simhv_machine_advance(src, t += 4 * MS);
    simhv_saver_free(s, src);
    unsigned long long sent = 0, last = 0;
    unsigned rounds = 0;
    save_done_counts(src, &sent, &rounds, &last);
    assert_true(last <= 64);
    assert_true(rounds < 10);
    uint32_t domid = 0;
    restore_into(dst, &img, 1, &domid, &err);
    assert_int_equal(simhv_mem_checksum(&simhv_dom_find(dst, domid)->mem),
                     simhv_mem_checksum(&d->mem));
    xend_buf_free(&img);
    simhv_machine_free(src);
    simhv_machine_free(dst);
}

/* A save stopped by its reader (or freed before its end) resumes the guest it paused. */
static void test_a_stopped_save_resumes_the_guest_it_paused(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(m, 64, "sim.dirty_rate=1000", NULL, true);
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    struct simhv_saver *s = simhv_saver_new(m, d, false, 0, 0, &err);
    assert_true(d->paused);
    struct xend_buf img = XEND_BUF_INIT;
    assert_true(simhv_saver_step(s, m, &img, 1000));
    assert_true(simhv_saver_stop(s, m));
    assert_false(d->paused);
    assert_false(simhv_saver_stop(s, m)); /* once */
    assert_false(simhv_saver_step(s, m, &img, 1000));
    simhv_saver_free(s, m);

    s = simhv_saver_new(m, d, false, 0, 0, &err);
    assert_true(d->paused);
    assert_true(simhv_saver_step(s, m, &img, 1000));
    simhv_saver_free(s, m); /* its reader went away */
    assert_false(d->paused);

    /* A domain its user paused stays paused. */
    assert_int_equal(simhv_dom_pause(m, d, &err), 0);
    s = simhv_saver_new(m, d, false, 0, 0, &err);
    assert_true(simhv_saver_stop(s, m));
    assert_true(d->paused);
    simhv_saver_free(s, m);
    xend_buf_free(&img);
    simhv_machine_free(m);
}

static void test_save_stream_aborts_when_the_domain_vanishes(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *d = domain(m, 64, "", NULL, true);
    struct simhv_saver *s = simhv_saver_new(m, d, false, 0, 0, &err);
    struct xend_buf img = XEND_BUF_INIT;
    assert_true(simhv_saver_step(s, m, &img, 1000));
    assert_int_equal(simhv_dom_destroy(m, d, &err), 0);
    assert_false(simhv_saver_step(s, m, &img, 1000));
    simhv_saver_free(s, m);
    /* The last record is ABORT with ENOENT, after the page record begun was ended. */
    assert_non_null(memmem(img.data, img.len, "went away during the save", 25));
    size_t off = first_record(&img);
    uint32_t type = 0, len = 0, last = 0;
    while (next_record(&img, &off, &type, &len))
        last = type;
    assert_int_equal(off, img.len);
    assert_int_equal(last, SIMHV_REC_ABORT);
    xend_buf_free(&img);
    simhv_machine_free(m);
}

/* ---- protocol ---- */

static char *handle(struct simhv_machine *m, const char *line, struct simhv_proto_result *res)
{
    struct xend_buf out = XEND_BUF_INIT;
    simhv_proto_handle(m, NULL, line, strlen(line), T0, &out, res);
    return xend_buf_steal(&out);
}

static void test_protocol_answers_bad_requests_with_errors(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct simhv_proto_result res;
    static const struct {
        const char *req, *reply;
    } cases[] = {
        {"(dom_info", "(err 0 1 "},
        {"just-an-atom", "(err 0 1 "},
        {"(hello x)", "(err 0 1 "},
        {"(launch_missiles 4)", "(err 4 5 'unknown request: launch_missiles')\n"},
        {"(dom_info 5)", "(err 5 1 'missing argument: domid')\n"},
        {"(dom_info 6 (domid 99))", "(err 6 2 'No such domain: 99')\n"},
        {"(dom_create 7 (mem_kb -5))", "(err 7 1 "},
        {"(hello 8)", "(ok 8 (version 3) (hypervisor 'simhv 1.0'))\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = handle(m, cases[i].req, &res);
        if (strncmp(out, cases[i].reply, strlen(cases[i].reply)) != 0)
            fail_msg("%s -> %s", cases[i].req, out);
        assert_int_equal(res.action, SIMHV_ACT_NONE);
        free(out);
    }
    simhv_machine_free(m);
}

static void test_protocol_stream_requests_switch_the_connection(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct simhv_proto_result res;
    char *out = handle(m, "(notify 1)", &res);
    assert_string_equal(out, "(ok 1)\n");
    assert_int_equal(res.action, SIMHV_ACT_NOTIFY);
    free(out);
    out = handle(m, "(restore 2 (name r))", &res);
    assert_string_equal(out, ""); /* the reply comes when the image has arrived */
    assert_int_equal(res.action, SIMHV_ACT_RESTORE);
    assert_int_equal(res.req_id, 2);
    simhv_restorer_free(res.restorer, m);
    free(out);
    out = handle(m, "(console 3 (domid 0))", &res);
    assert_int_equal(res.action, SIMHV_ACT_NONE);
    assert_non_null(strstr(out, "(err 3 5 "));
    free(out);
    simhv_machine_free(m);
}

/* The compact list is what xend reads every domain from: every domain once, in id order,
 * gaps and all, each field as printf's %u / %d / %llu would print it. */
static void test_the_compact_list_has_every_domain_in_id_order(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct xend_err err = {0};
    struct simhv_domain *a = domain(m, 16, "", NULL, true);
    struct simhv_domain *gone = domain(m, 16, "", NULL, false);
    struct simhv_dom_args far = {.name = "far away",
                                 .mem_kb = 3 * 1024,
                                 .maxmem_kb = 7 * 1024,
                                 .want_domid = 4000,
                                 .cpu = -1};
    struct simhv_domain *d;
    assert_int_equal(simhv_dom_create(m, &far, NULL, &d, &err), 0);
    assert_int_equal(simhv_dom_unpause(m, a, &err), 0);
    simhv_machine_advance(m, T0 + 500 * MS); /* cpu time that is not 0 */
    assert_int_equal(simhv_dom_destroy(m, gone, &err), 0);

    struct xend_buf want = XEND_BUF_INIT;
    xend_buf_puts(&want, "(ok 9");
    size_t n = 0;
    for (const struct simhv_domain *x = m->domains; x != NULL; x = x->next, n++) {
        xend_buf_printf(&want, " (d %u %u %u %u %d %llu %llu %llu ", x->domid, simhv_dom_flags(x),
                        x->shutdown_reason, x->nvcpus, x->nvcpus ? x->vcpus[0].last_cpu : 0,
                        (unsigned long long)simhv_dom_cpu_time(x), (unsigned long long)x->mem_kb,
                        (unsigned long long)x->maxmem_kb);
        xend_sxp_print_atom(x->name, strlen(x->name), &want);
        xend_buf_putc(&want, ')');
    }
    xend_buf_puts(&want, ")\n");
    assert_int_equal(n, 3); /* Domain-0, a, far */
    assert_true(simhv_dom_cpu_time(a) > 0);

    struct simhv_proto_result res;
    char *out = handle(m, "(dom_list 9 (compact 1))", &res);
    assert_string_equal(out, xend_buf_str(&want));
    free(out);
    xend_buf_free(&want);
    simhv_machine_free(m);
}

/* (fd 1): the image goes through the descriptor that came with the request, which only a
 * request that came with one may say; its rounds go apart, to the control records. */
static void test_a_handed_save_needs_its_descriptor_and_keeps_rounds_apart(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct simhv_domain *d = domain(m, 16, "sim.dirty_rate=0", NULL, true);
    struct xend_err err = {0};
    assert_int_equal(simhv_dom_unpause(m, d, &err), 0);
    struct simhv_proto_result res;
    struct xend_buf out = XEND_BUF_INIT;
    char req[128];
    snprintf(req, sizeof(req), "(save 1 (domid %u) (live 1) (fd 1))", d->domid);
    simhv_proto_handle(m, NULL, req, strlen(req), T0, &out, &res);
    assert_non_null(strstr(out.data, "(err 1 1 '(fd 1) but no descriptor came with the request')"));
    assert_int_equal(res.action, SIMHV_ACT_NONE);
    assert_false(d->paused);
    xend_buf_reset(&out);
    snprintf(req, sizeof(req), "(save 2 (domid %u) (live 1) (fd 1) (report 65536))", d->domid);
    simhv_proto_handle_with(m, NULL, req, strlen(req), T0, true, &out, &res);
    assert_int_equal(res.action, SIMHV_ACT_SAVE);
    assert_true(res.handed);
    assert_int_equal(res.report_bytes, 65536);
    struct xend_buf img = XEND_BUF_INIT, ctl = XEND_BUF_INIT;
    simhv_saver_rounds_to(res.saver, &ctl);
    while (simhv_saver_step(res.saver, m, &img, 64 * 1024))
        ;
    /* two rounds (every page, then the last, paused), each a ROUND record of its own */
    assert_int_equal(ctl.len, 2 * (8 + SIMHV_ROUND_LEN));
    assert_int_equal(simhv_get_le32((const uint8_t *)ctl.data), SIMHV_REC_ROUND);
    uint32_t domid = 0;
    struct simhv_machine *dst = machine(1024);
    restore_into(dst, &img, 1, &domid, &err);
    assert_int_equal(simhv_mem_checksum(&simhv_dom_find(dst, domid)->mem),
                     simhv_mem_checksum(&d->mem));
    simhv_saver_free(res.saver, m);
    xend_buf_free(&img);
    xend_buf_free(&ctl);
    xend_buf_free(&out);
    simhv_machine_free(dst);
    simhv_machine_free(m);
}

static void test_dom_make_holds_until_confirmed(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    static int client;
    struct simhv_proto_result res;
    struct xend_buf out = XEND_BUF_INIT;
    char req[512];
    /* made and built in one request, answered with the compact info; held */
    snprintf(req, sizeof(req), "(dom_make 1 (name held) (mem_kb 16384) (kernel %s) (hold 1))",
             kernel);
    simhv_proto_handle(m, &client, req, strlen(req), T0, &out, &res);
    assert_true(strncmp(out.data, "(ok 1 (d ", 9) == 0);
    unsigned held_id = 0;
    assert_int_equal(sscanf(out.data + 9, "%u", &held_id), 1);
    xend_buf_reset(&out);
    snprintf(req, sizeof(req), "(dom_make 2 (name kept) (mem_kb 16384) (kernel %s) (hold 1))",
             kernel);
    simhv_proto_handle(m, &client, req, strlen(req), T0, &out, &res);
    unsigned kept_id = 0;
    assert_int_equal(sscanf(out.data + 9, "%u", &kept_id), 1);
    assert_true(simhv_dom_find(m, kept_id)->built);
    xend_buf_reset(&out);
    snprintf(req, sizeof(req), "(dom_confirm 3 (domid %u))", kept_id);
    simhv_proto_handle(m, &client, req, strlen(req), T0, &out, &res);
    assert_string_equal(out.data, "(ok 3)\n");
    /* the creator goes: the held one with it, the confirmed one stays */
    simhv_machine_owner_gone(m, &client);
    assert_null(simhv_dom_find(m, held_id));
    assert_non_null(simhv_dom_find(m, kept_id));
    /* a failed build leaves no domain */
    xend_buf_reset(&out);
    uint64_t free_kb = simhv_machine_free_kb(m);
    const char *bad = "(dom_make 4 (name nokernel) (mem_kb 16384) (kernel /nonexistent))";
    simhv_proto_handle(m, &client, bad, strlen(bad), T0, &out, &res);
    assert_non_null(strstr(out.data, "(err 4 2 'Kernel image does not exist"));
    assert_int_equal(simhv_machine_free_kb(m), free_kb);
    xend_buf_free(&out);
    simhv_machine_free(m);
}

static void test_a_quiet_request_gets_no_reply_and_a_failed_one_hangs_up(void **state)
{
    (void)state;
    struct simhv_machine *m = machine(1024);
    struct simhv_proto_result res;
    struct simhv_domain *d = domain(m, 16, "", NULL, true);
    char req[128];
    snprintf(req, sizeof(req), "(console 1 (domid %u) (quiet 1))", d->domid);
    char *out = handle(m, req, &res);
    assert_string_equal(out, "");
    assert_int_equal(res.action, SIMHV_ACT_CONSOLE);
    free(out);
    out = handle(m, "(console 2 (domid 77) (quiet 1))", &res);
    assert_string_equal(out, "");
    assert_int_equal(res.action, SIMHV_ACT_HANGUP);
    free(out);
    simhv_machine_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_bytes_check_and_detect_damage),
        cmocka_unit_test(test_checksum_follows_generations_not_history),
        cmocka_unit_test(test_dirty_tracking_sees_each_touch_once),
        cmocka_unit_test(test_guest_knobs_parse_from_the_command_line),
        cmocka_unit_test(test_guest_knobs_refuse_bad_values),
        cmocka_unit_test(test_console_keeps_the_newest_output),
        cmocka_unit_test(test_dmesg_drops_whole_old_lines_and_keeps_the_newest),
        cmocka_unit_test(test_console_lines_split_across_writes),
        cmocka_unit_test(test_memory_is_accounted_and_returned),
        cmocka_unit_test(test_unfinished_domains_go_with_their_creator),
        cmocka_unit_test(test_only_exits_and_destroys_notify),
        cmocka_unit_test(test_dom_make_holds_until_confirmed),
        cmocka_unit_test(test_a_quiet_request_gets_no_reply_and_a_failed_one_hangs_up),
        cmocka_unit_test(test_crash_counts_run_time_only),
        cmocka_unit_test(test_shutdown_takes_the_delay_and_halt_is_poweroff),
        cmocka_unit_test(test_boot_lines_then_echo),
        cmocka_unit_test(test_saved_image_restores_with_the_same_checksum),
        cmocka_unit_test(test_a_restore_refuses_a_lost_or_misplaced_page_and_an_old_version),
        cmocka_unit_test(test_live_save_sends_dirty_rounds_then_pauses),
        cmocka_unit_test(test_live_save_of_a_guest_that_does_not_converge_stops_at_its_rounds),
        cmocka_unit_test(test_live_save_slows_a_fast_guest_until_the_last_round_fits),
        cmocka_unit_test(test_a_stopped_save_resumes_the_guest_it_paused),
        cmocka_unit_test(test_save_stream_aborts_when_the_domain_vanishes),
        cmocka_unit_test(test_protocol_answers_bad_requests_with_errors),
        cmocka_unit_test(test_protocol_stream_requests_switch_the_connection),
        cmocka_unit_test(test_the_compact_list_has_every_domain_in_id_order),
        cmocka_unit_test(test_a_handed_save_needs_its_descriptor_and_keeps_rounds_apart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
