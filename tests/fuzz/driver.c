/*
 * The plain fuzz driver: runs a target of fuzz.h over every file of its seed corpus, then
 * over N inputs made by a seeded pseudo-random mutator, so that any compiler (gcc, the
 * sanitizer build, CI) exercises the parsers without libFuzzer and every run is
 * reproducible from (seed, iteration).
 *
 *   fuzz_<target>_driver [--seed S] [--iterations N] [--max-len L] [--seconds T]
 *                        [--dump K FILE] PATH...
 *
 * PATH is a file (run once, as libFuzzer does with a crash file) or a directory (each
 * regular file in it, sorted by name, also the pool the mutator starts from). On a crash
 * the input that caused it is written to ./crash-<target>-<hash> before the process dies.
 *
 * Must never: use the wall clock or anything but (seed, corpus) to choose inputs; --seconds
 * only stops early, and says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define DRIVER_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define DRIVER_SANITIZED 1
#endif
#endif
#ifdef DRIVER_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

struct input {
    uint8_t *data;
    size_t len;
};

struct pool {
    struct input *v;
    size_t n, cap;
};

/* The input being run, for the crash handler. */
static const uint8_t *current;
static size_t current_len;
static uint64_t current_iter; /* 0 for a corpus file, else the mutator's iteration */

/* ---- crash reporting ---- */

static void hex64(uint64_t v, char *out)
{
    for (int i = 15; i >= 0; i--) {
        out[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    out[16] = '\0';
}

/* Write the current input to ./crash-<name>-<fnv1a>; only async-signal-safe calls. */
static void save_current(void)
{
    static bool saved;
    if (saved || current == NULL)
        return;
    saved = true;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < current_len; i++)
        h = (h ^ current[i]) * 1099511628211ull;
    char path[256] = "crash-", hex[17];
    size_t n = strlen(path);
    for (const char *p = xend_fuzz_name; *p && n < 200; p++)
        path[n++] = *p;
    path[n++] = '-';
    hex64(h, hex);
    memcpy(path + n, hex, 17);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        size_t off = 0;
        while (off < current_len) {
            ssize_t w = write(fd, current + off, current_len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        close(fd);
    }
    static const char msg1[] = "fuzz driver: crashing input written to ";
    ssize_t ignored = write(2, msg1, sizeof(msg1) - 1);
    ignored = write(2, path, strlen(path));
    if (current_iter > 0) {
        static const char msg2[] = " (mutator iteration 0x";
        ignored = write(2, msg2, sizeof(msg2) - 1);
        hex64(current_iter, hex);
        ignored = write(2, hex, 16);
        ignored = write(2, "; --dump N FILE with the same --seed rewrites it)", 49);
    }
    ignored = write(2, "\n", 1);
    (void)ignored;
}

static void on_signal(int sig)
{
    save_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_handlers(void)
{
#ifdef DRIVER_SANITIZED
    /* The sanitizers own SIGSEGV/SIGFPE (their reports are the useful part) and call this
     * before exiting. */
    __sanitizer_set_death_callback(save_current);
#else
    signal(SIGSEGV, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGILL, on_signal);
#endif
    signal(SIGABRT, on_signal); /* FUZZ_CHECK, and the OOM policy's abort */
}

static int run(const uint8_t *data, size_t len)
{
    /* A private copy sized exactly, so that ASan catches a read one past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    if (len > 0)
        memcpy(copy, data, len);
    current = copy;
    current_len = len;
    int rc = xend_fuzz_target(copy, len);
    current = NULL;
    free(copy);
    return rc;
}

/* ---- corpus ---- */

static void pool_add(struct pool *p, const uint8_t *data, size_t len)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = realloc(p->v, p->cap * sizeof(*p->v));
        if (p->v == NULL)
            abort();
    }
    uint8_t *d = malloc(len ? len : 1);
    if (d == NULL)
        abort();
    if (len > 0)
        memcpy(d, data, len);
    p->v[p->n++] = (struct input){d, len};
}

static int read_file(const char *path, struct pool *p)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    uint8_t chunk[4096];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    pool_add(p, buf, len);
    free(buf);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (readdir order is not reproducible). */
static int read_dir(const char *dir, struct pool *p)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        if (names == NULL || (names[n] = strdup(e->d_name)) == NULL)
            abort();
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && read_file(path, p) < 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---- the mutator ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: small, fast, and the same sequence everywhere. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

struct mbuf {
    uint8_t *d;
    size_t len, max;
};

static void insert(struct mbuf *b, size_t at, const uint8_t *src, size_t n)
{
    if (b->len + n > b->max)
        n = b->max - b->len;
    if (n == 0)
        return;
    memmove(b->d + at + n, b->d + at, b->len - at);
    memcpy(b->d + at, src, n);
    b->len += n;
}

static void mutate_once(struct mbuf *b, const struct pool *p)
{
    static const uint8_t special[] = {0,    0xff, 0x7f, 0x80, '\n', '\r', '(', ')', '"', '\'',
                                      '\\', '%',  '=',  '&',  '-',  '#',  ' ', '[', ']', ';'};
    size_t pos = below(b->len + 1);
    switch (rnd() % 9) {
    case 0: /* flip a bit */
        if (b->len)
            b->d[below(b->len)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* a byte that means something to some parser */
        if (b->len)
            b->d[below(b->len)] = special[below(sizeof(special))];
        break;
    case 2: { /* insert a random byte */
        uint8_t c = (uint8_t)rnd();
        insert(b, pos, &c, 1);
        break;
    }
    case 3: { /* delete a range */
        if (pos < b->len) {
            size_t n = 1 + below(b->len - pos < 16 ? b->len - pos : 16);
            memmove(b->d + pos, b->d + pos + n, b->len - pos - n);
            b->len -= n;
        }
        break;
    }
    case 4: { /* duplicate a range elsewhere */
        if (b->len) {
            size_t from = below(b->len), n = 1 + below(b->len - from < 64 ? b->len - from : 64);
            uint8_t tmp[64];
            memcpy(tmp, b->d + from, n);
            insert(b, pos, tmp, n);
        }
        break;
    }
    case 5: { /* a token of the target's grammar */
        size_t nd = 0;
        while (xend_fuzz_dict[nd] != NULL)
            nd++;
        if (nd) {
            const char *t = xend_fuzz_dict[below(nd)];
            insert(b, pos, (const uint8_t *)t, strlen(t));
        }
        break;
    }
    case 6: { /* splice: this input's head, another's tail */
        const struct input *o = &p->v[below(p->n)];
        size_t from = below(o->len + 1);
        b->len = pos;
        insert(b, pos, o->data + from, o->len - from);
        break;
    }
    case 7: /* truncate */
        b->len = pos;
        break;
    case 8: { /* repeat a short chunk many times: deep nesting, long atoms */
        if (b->len) {
            size_t from = below(b->len), n = 1 + below(b->len - from < 4 ? b->len - from : 4);
            uint8_t tmp[4];
            memcpy(tmp, b->d + from, n);
            for (size_t k = 1 + below(300); k > 0; k--)
                insert(b, pos, tmp, n);
        }
        break;
    }
    }
}

/* ---- main ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--seed S] [--iterations N] [--max-len L] [--seconds T] "
            "[--dump K FILE] PATH...\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    unsigned long long iterations = 0, dump_at = 0;
    const char *dump_file = NULL;
    size_t max_len = 4096;
    double seconds = 0;
    struct pool pool = {0};
    size_t nseeds = 0;
    int failed = 0;

    install_crash_handlers();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(a, "--iterations") == 0 && i + 1 < argc) {
            iterations = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(a, "--max-len") == 0 && i + 1 < argc) {
            max_len = (size_t)strtoull(argv[++i], NULL, 0);
        } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(a, "--dump") == 0 && i + 2 < argc) {
            dump_at = strtoull(argv[++i], NULL, 0);
            dump_file = argv[++i];
        } else if (a[0] == '-') {
            usage(argv[0]);
        } else {
            struct stat st;
            if (stat(a, &st) != 0) {
                fprintf(stderr, "%s: %s\n", a, strerror(errno));
                return 2;
            }
            size_t before = pool.n;
            if ((S_ISDIR(st.st_mode) ? read_dir(a, &pool) : read_file(a, &pool)) < 0)
                return 2;
            for (size_t k = before; k < pool.n; k++)
                run(pool.v[k].data, pool.v[k].len);
        }
    }
    nseeds = pool.n;
    if (dump_file != NULL && iterations < dump_at)
        iterations = dump_at;
    if (pool.n == 0)
        pool_add(&pool, (const uint8_t *)"", 0);

    /* A seed of 0 would leave xorshift stuck at 0. */
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
    struct mbuf b = {malloc(max_len + 1), 0, max_len};
    if (b.d == NULL)
        abort();
    double start = now();
    unsigned long long done = 0;
    for (; done < iterations; done++) {
        if (seconds > 0 && (done & 63) == 0 && now() - start > seconds)
            break;
        const struct input *base = &pool.v[below(pool.n)];
        b.len = base->len < max_len ? base->len : max_len;
        memcpy(b.d, base->data, b.len);
        for (size_t k = 1 + below(6); k > 0; k--)
            mutate_once(&b, &pool);
        if (dump_file != NULL && done + 1 == dump_at) {
            FILE *f = fopen(dump_file, "wb");
            if (f == NULL || fwrite(b.d, 1, b.len, f) != b.len || fclose(f) != 0) {
                fprintf(stderr, "%s: cannot write\n", dump_file);
                return 2;
            }
            fprintf(stderr, "iteration %llu written to %s\n", dump_at, dump_file);
            break;
        }
        current_iter = done + 1;
        run(b.d, b.len);
        current_iter = 0;
        /* Let mutations compound: keep one input in 16, in a pool of bounded size. */
        if ((rnd() & 15) == 0) {
            if (pool.n < nseeds + 1024) {
                pool_add(&pool, b.d, b.len);
            } else {
                struct input *slot = &pool.v[nseeds + below(1024)];
                free(slot->data);
                slot->data = malloc(b.len ? b.len : 1);
                if (slot->data == NULL)
                    abort();
                memcpy(slot->data, b.d, b.len);
                slot->len = b.len;
            }
        }
    }
    free(b.d);
    for (size_t i = 0; i < pool.n; i++)
        free(pool.v[i].data);
    free(pool.v);
    if (done < iterations)
        printf("%s: stopped after %.0f s at iteration %llu of %llu (seed %llu)\n", xend_fuzz_name,
               seconds, done, iterations, (unsigned long long)seed);
    printf("%s: %zu seed inputs and %llu mutated inputs (seed %llu) ran without a crash\n",
           xend_fuzz_name, nseeds, done, (unsigned long long)seed);
    return failed;
}
