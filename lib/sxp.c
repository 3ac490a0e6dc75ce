/*
 * SXP values: construction, access, a bounded parser and the printer, with the rules of
 * the original xend's sxp.py so that the Xen 2.0 client reads what
 * we write and we read what it sends. Must never crash on malformed input.
 */
#include "sxp.h"
#include "hex.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SXP_MAGIC 0x53585031u /* "SXP1": checked where a plugin hands a node back */

struct xend_sxp {
    uint32_t magic;
    bool is_list;
    bool items_inline; /* a list's items follow its head bytes, in the node's allocation */
    bool packed;       /* one of the nodes of a block (see "Packed trees") */
    bool items_small;  /* a list's items array is a NODE_SMALL block (ITEMS_SMALL of them) */
    size_t len;        /* atom bytes, or number of items */
    size_t cap;        /* list capacity */
    union {
        char *text; /* atoms: points at inline[] */
        struct xend_sxp **items;
    } u;
    /* An atom's text lives in the same allocation: one malloc per atom, as a domain info of
     * a thousand domains is mostly atoms. A list keeps its head's name here (see
     * HEAD_BYTES), so that looking a child up by name reads each child node and not also
     * its items and its head atom: three cache misses per child were most of the time of
     * an info list of a thousand domains. */
    char inline_text[];
};

/* A list's inline_text: the first HEAD_BYTES - 2 bytes of its head atom's text, zero
 * padded, then a byte saying whether the head is an atom at all. */
#define HEAD_BYTES 8 /* a list node then takes the same malloc chunk as without it */
#define HEAD_IS_ATOM (HEAD_BYTES - 1)

/*
 * Small nodes freed on a thread that asked for it (xend's loop) are kept for its next ones:
 * the describers of a domain info build and free a couple of dozen nodes per domain, and
 * glibc serves only seven blocks of a size from its per-thread cache, the rest from its
 * slower bins (a third of a detail=1 list of 1,000 domains went to malloc and free). Two
 * block sizes: NODE_SMALL (lists, atoms of up to 7 bytes) and NODE_MEDIUM (atoms of up to
 * 23); such nodes are always allocated at those sizes, wherever, so any of them can be
 * reused. Sanitizer builds keep nothing, so that a use after free still shows.
 */
#define NODE_SMALL (sizeof(struct xend_sxp) + HEAD_BYTES)
#define NODE_MEDIUM (sizeof(struct xend_sxp) + 24)
#define NODE_CACHE_MAX 1024 /* blocks per size: at most 96 kB kept */

struct free_block {
    struct free_block *next;
};

static _Thread_local struct {
    bool on;
    struct free_block *free[2];
    size_t n[2];
} node_cache;

/* The block size class of a node of `size` bytes: 0, 1, or -1 (not cached). */
static int size_class(size_t size)
{
    return size <= NODE_SMALL ? 0 : size <= NODE_MEDIUM ? 1 : -1;
}

/* The class of an existing node's block (a list with inline items is larger). */
static int node_class(const struct xend_sxp *n)
{
    if (n->is_list)
        return n->items_inline ? -1 : 0;
    return size_class(sizeof(*n) + n->len + 1);
}

static void *node_alloc(size_t size, bool zero)
{
    int c = size_class(size);
    if (c >= 0) {
        size = c == 0 ? NODE_SMALL : NODE_MEDIUM;
        struct free_block *b = node_cache.free[c];
        if (b != NULL) {
            node_cache.free[c] = b->next;
            node_cache.n[c]--;
            if (zero)
                memset(b, 0, size);
            return b;
        }
    }
    return zero ? xend_xcalloc(1, size) : xend_xmalloc(size);
}

static void block_release(struct xend_sxp *n);

/* A block of class c (or -1: not cached) goes back to the cache, or to the heap. */
static void class_release(void *p, int c)
{
    if (c >= 0 && node_cache.on && node_cache.n[c] < NODE_CACHE_MAX) {
        struct free_block *b = p;
        b->next = node_cache.free[c];
        node_cache.free[c] = b;
        node_cache.n[c]++;
        return;
    }
    free(p);
}

static void node_release(struct xend_sxp *n)
{
    if (n->packed) {
        block_release(n);
        return;
    }
    class_release(n, node_class(n));
}

/* A built list's first items array is a small block from the same cache: most lists are a
 * key and a value, and a malloc and a free for each was 3% of a create. */
#define ITEMS_SMALL (NODE_SMALL / sizeof(struct xend_sxp *))

static void items_release(struct xend_sxp *list)
{
    if (list->items_inline)
        return;
    if (list->items_small)
        class_release(list->u.items, 0);
    else
        free(list->u.items);
}

void xend_sxp_node_cache(bool on)
{
#if defined(__SANITIZE_ADDRESS__)
    on = false;
#endif
    node_cache.on = on;
    if (!on)
        xend_sxp_node_cache_empty();
}

void xend_sxp_node_cache_empty(void)
{
    for (int c = 0; c < 2; c++) {
        while (node_cache.free[c] != NULL) {
            struct free_block *b = node_cache.free[c];
            node_cache.free[c] = b->next;
            free(b);
        }
        node_cache.n[c] = 0;
    }
}

static struct xend_sxp *node_new(bool is_list)
{
    struct xend_sxp *n = node_alloc(sizeof(*n) + (is_list ? HEAD_BYTES : 0), true);
    n->magic = SXP_MAGIC;
    n->is_list = is_list;
    return n;
}

/* After any change to item 0 of a list. */
static void head_sync(struct xend_sxp *l)
{
    memset(l->inline_text, 0, HEAD_BYTES);
    if (l->len > 0 && !l->u.items[0]->is_list) {
        const struct xend_sxp *h = l->u.items[0];
        memcpy(l->inline_text, h->u.text, h->len < HEAD_BYTES - 2 ? h->len : HEAD_BYTES - 2);
        l->inline_text[HEAD_IS_ATOM] = 1;
    }
}

/*
 * Packed trees. A parsed value and a copy are built in one allocation, a block, instead of
 * one (or three, for a list being parsed) per node: a start that reads 10,000 domain
 * records spent a quarter of its cpu in malloc and in the page faults of the heaps it grew.
 * A node of a block is a node like any other: it may be changed, detached, kept and freed
 * alone. Freeing it only counts it; the block goes with its last node, whichever thread
 * frees it. Each node is preceded by its block's address. The price: a node kept from a
 * tree keeps the whole block, so a part that outlives a large tree is copied out.
 */
struct sxp_block {
    atomic_size_t live; /* its nodes not yet freed */
};

#define BLOCK_PREFIX sizeof(struct sxp_block *)
#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)
_Static_assert(sizeof(struct xend_sxp) % 8 == 0, "nodes of a block stay aligned");
_Static_assert(sizeof(struct sxp_block) == 8, "a block's nodes stay aligned");

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SXP_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n) /* a use after free still shows */
#else
#define SXP_POISON(p, n) ((void)(p), (void)(n))
#endif

static void block_release(struct xend_sxp *n)
{
    struct sxp_block *b;
    memcpy(&b, (char *)n - BLOCK_PREFIX, sizeof(b));
    SXP_POISON(n, sizeof(*n) + (n->is_list ? HEAD_BYTES : n->len + 1));
    if (atomic_fetch_sub_explicit(&b->live, 1, memory_order_acq_rel) == 1)
        free(b);
}

/* A block under construction: nodes laid out in the order they are completed (children
 * before their list), each at an offset, as the bytes move when they grow. A list's items
 * hold offsets until pack_finish makes them addresses. */
#define PACK_LOCAL 8192 /* a domain record of a few devices fits: no allocation but the block */
struct pack {
    char *data; /* local, or owned once it grew */
    size_t len, cap, nodes;
    _Alignas(16) char local[PACK_LOCAL];
};

/* Offsets of finished nodes waiting for their list (or of open lists' first items). */
#define OFFS_LOCAL 64
struct offs {
    size_t *v; /* local, or owned once it grew */
    size_t n, cap;
    size_t local[OFFS_LOCAL];
};

static void offs_init(struct offs *o)
{
    o->v = o->local;
    o->n = 0;
    o->cap = OFFS_LOCAL;
}

static void offs_push(struct offs *o, size_t x)
{
    if (o->n == o->cap) {
        size_t cap = o->cap * 2;
        size_t *v = xend_xmalloc(cap * sizeof(*v));
        memcpy(v, o->v, o->n * sizeof(*v));
        if (o->v != o->local)
            free(o->v);
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = x;
}

static void offs_free(struct offs *o)
{
    if (o->v != o->local)
        free(o->v);
}

static void pack_init(struct pack *pk)
{
    pk->data = pk->local;
    pk->len = 0;
    pk->cap = PACK_LOCAL;
    pk->nodes = 0;
}

static void pack_free(struct pack *pk)
{
    if (pk->data != pk->local)
        free(pk->data);
}

/* n more bytes at the end; their offset. */
static size_t pack_raw(struct pack *pk, size_t n)
{
    if (pk->cap - pk->len < n) {
        size_t cap = pk->cap;
        while (cap - pk->len < n)
            cap *= 2;
        if (pk->data == pk->local) {
            pk->data = xend_xmalloc(cap);
            memcpy(pk->data, pk->local, pk->len);
        } else {
            pk->data = xend_xrealloc(pk->data, cap);
        }
        pk->cap = cap;
    }
    size_t off = pk->len;
    pk->len += n;
    return off;
}

#define PACK_NODE(pk, off) ((struct xend_sxp *)(void *)((pk)->data + (off)))

/* A node of `size` bytes (its block address before it); the node's offset. */
static size_t pack_node(struct pack *pk, size_t size)
{
    pk->nodes++;
    return pack_raw(pk, BLOCK_PREFIX + ALIGN8(size)) + BLOCK_PREFIX;
}

static void atom_header(struct xend_sxp *a, size_t len)
{
    memset(a, 0, sizeof(*a));
    a->magic = SXP_MAGIC;
    a->len = len;
}

static size_t pack_atom(struct pack *pk, const char *text, size_t len)
{
    size_t off = pack_node(pk, sizeof(struct xend_sxp) + len + 1);
    struct xend_sxp *a = PACK_NODE(pk, off);
    atom_header(a, len);
    memcpy(a->inline_text, text, len);
    a->inline_text[len] = '\0';
    return off;
}

/* The list of the nodes at items->v[from...], which it takes off the stack; its offset. */
static size_t pack_list(struct pack *pk, struct offs *items, size_t from)
{
    size_t n = items->n - from;
    size_t off = pack_node(pk, sizeof(struct xend_sxp) + HEAD_BYTES + n * sizeof(uintptr_t));
    struct xend_sxp *l = PACK_NODE(pk, off);
    memset(l, 0, sizeof(*l) + HEAD_BYTES);
    l->magic = SXP_MAGIC;
    l->is_list = true;
    l->len = n;
    l->cap = n;
    l->items_inline = n > 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t o = items->v[from + i];
        memcpy(l->inline_text + HEAD_BYTES + i * sizeof(o), &o, sizeof(o));
    }
    if (n > 0) { /* as head_sync, from the head's bytes: addresses come later */
        const struct xend_sxp *h = PACK_NODE(pk, items->v[from]);
        if (!h->is_list) {
            memcpy(l->inline_text, h->inline_text,
                   h->len < HEAD_BYTES - 2 ? h->len : HEAD_BYTES - 2);
            l->inline_text[HEAD_IS_ATOM] = 1;
        }
    }
    items->n = from;
    return off;
}

/* The block of what pk holds, root at offset `root`: its nodes get their addresses. */
static struct xend_sxp *pack_finish(struct pack *pk, size_t root)
{
    struct sxp_block *b = xend_xmalloc(sizeof(*b) + pk->len);
    char *base = (char *)(b + 1);
    memcpy(base, pk->data, pk->len);
    atomic_init(&b->live, pk->nodes);
    for (size_t off = 0; off < pk->len;) {
        memcpy(base + off, &b, sizeof(b));
        struct xend_sxp *n = (struct xend_sxp *)(void *)(base + off + BLOCK_PREFIX);
        n->packed = true;
        size_t size = sizeof(*n);
        if (!n->is_list) {
            n->u.text = n->inline_text;
            size += n->len + 1;
        } else {
            char *slots = n->inline_text + HEAD_BYTES;
            n->u.items = n->len > 0 ? (struct xend_sxp **)(void *)slots : NULL;
            for (size_t i = 0; i < n->len; i++) {
                uintptr_t o;
                memcpy(&o, slots + i * sizeof(o), sizeof(o));
                n->u.items[i] = (struct xend_sxp *)(void *)(base + o);
            }
            size += HEAD_BYTES + n->len * sizeof(uintptr_t);
        }
        off += BLOCK_PREFIX + ALIGN8(size);
    }
    return (struct xend_sxp *)(void *)(base + root);
}

static size_t pack_copy(struct pack *pk, struct offs *items, const struct xend_sxp *node)
{
    if (!node->is_list)
        return pack_atom(pk, node->u.text, node->len);
    size_t from = items->n;
    for (size_t i = 0; i < node->len; i++)
        offs_push(items, pack_copy(pk, items, node->u.items[i]));
    return pack_list(pk, items, from);
}

struct xend_sxp *xend_sxp_list(void)
{
    return node_new(true);
}

struct xend_sxp *xend_sxp_atom_len(const char *text, size_t len)
{
    struct xend_sxp *n = node_alloc(sizeof(*n) + len + 1, false);
    n->items_inline = false;
    n->packed = false;
    n->items_small = false;
    n->magic = SXP_MAGIC;
    n->is_list = false;
    n->cap = 0;
    n->len = len;
    n->u.text = n->inline_text;
    memcpy(n->inline_text, text, len);
    n->inline_text[len] = '\0';
    return n;
}

struct xend_sxp *xend_sxp_atom(const char *text)
{
    return xend_sxp_atom_len(text, strlen(text));
}

struct xend_sxp *xend_sxp_atom_int(long long value)
{
    char tmp[32];
    struct xend_buf b = {tmp, 0, sizeof(tmp)};
    xend_buf_put_int(&b, value); /* fits: never reallocates the stack buffer */
    return xend_sxp_atom_len(tmp, b.len);
}

struct xend_sxp *xend_sxp_atom_fmt(const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(tmp))
        return xend_sxp_atom_len(tmp, (size_t)n);
    struct xend_buf b = XEND_BUF_INIT;
    va_start(ap, fmt);
    xend_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    struct xend_sxp *a = xend_sxp_atom_len(xend_buf_str(&b), b.len);
    xend_buf_free(&b);
    return a;
}

/*
 * %.12g in fixed notation without printf, for the values an info list prints thousands of
 * (times in seconds): 12 significant digits of |v| in [1e-4, 1e12), rounded half to even
 * as printf does, with Python's ".0" after a whole number. Returns the length, or 0 when
 * the value needs another form (or rounding reaches 13 digits, or it is too close to a
 * half-way point to round without the exact value), and the caller asks printf.
 */
static size_t fixed_12g(double v, char *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    static const double exp10[] = {1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2,  1e3,
                                   1e4,  1e5,  1e6,  1e7,  1e8, 1e9, 1e10, 1e11};
    double a = v < 0 ? -v : v;
    if (v == 0) { /* the cpu time of every domain that never ran */
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        strcpy(out, bits >> 63 ? "-0.0" : "0.0");
        return bits >> 63 ? 4 : 3;
    }
    if (!(a >= 1e-4 && a < 1e12))
        return 0;
    int x = -4; /* the decimal exponent of a; off by one at a boundary, which the range
                 * check of the scaled value below sends to printf */
    while (x < 11 && a >= exp10[x + 5])
        x++;
    int decimals = 11 - x;
    double product = a * pow10[decimals];
    /* Round to an integer, half to even, without libm (xend's only use of it, and its code
     * pages cost resident memory): below 2^52, adding 2^52 leaves no fraction bits. */
    double scaled = (product + 0x1p52) - 0x1p52;
    /* Near a half-way point the product's own rounding (at most 2^-13 here) could decide
     * the digit: printf, which rounds the exact value, decides instead. */
    double off = product > scaled ? product - scaled : scaled - product;
    if (scaled >= 1e12 || scaled < 1e11 || (off > 0.499 && off < 0.501))
        return 0;
    uint64_t m = (uint64_t)scaled;
    char digits[13];
    for (int i = 11; i >= 0; i--) {
        digits[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int int_digits = 12 - decimals; /* may be <= 0: 0.000123 */
    int last = 11;                  /* the last digit kept: trailing fraction zeros go */
    while (last >= int_digits && last >= 0 && digits[last] == '0')
        last--;
    char *p = out;
    if (v < 0)
        *p++ = '-';
    if (int_digits <= 0) {
        *p++ = '0';
    } else {
        memcpy(p, digits, (size_t)int_digits);
        p += int_digits;
    }
    if (last >= int_digits) {
        *p++ = '.';
        for (int i = int_digits; i < 0; i++)
            *p++ = '0';
        int from = int_digits < 0 ? 0 : int_digits;
        int tail = last - from + 1;
        memcpy(p, digits + from, (size_t)tail);
        p += tail;
    } else {
        /* Python 2's str() always shows a float as a float: 12.0, not 12. */
        memcpy(p, ".0", 2);
        p += 2;
    }
    *p = '\0';
    return (size_t)(p - out);
}

/* The text of value into out (40 bytes); its length. */
static size_t double_text(double value, char *out)
{
    size_t n = fixed_12g(value, out);
    if (n > 0)
        return n;
    snprintf(out, sizeof(((struct xend_sxp_double *)0)->text) - 2, "%.12g", value);
    if (strpbrk(out, ".eEn") == NULL)
        strcat(out, ".0");
    return strlen(out);
}

struct xend_sxp_double xend_sxp_double_text(double value)
{
    struct xend_sxp_double d;
    double_text(value, d.text);
    return d;
}

struct xend_sxp *xend_sxp_atom_double(double value)
{
    return xend_sxp_atom(xend_sxp_double_text(value).text);
}

void xend_sxp_free(struct xend_sxp *node)
{
    if (node == NULL)
        return;
    if (node->is_list) {
        for (size_t i = 0; i < node->len; i++)
            xend_sxp_free(node->u.items[i]);
        items_release(node);
    }
    node->magic = 0;
    node_release(node);
}

struct xend_sxp *xend_sxp_copy(const struct xend_sxp *node)
{
    if (!node->is_list) /* one node: a block would only add its header */
        return xend_sxp_atom_len(node->u.text, node->len);
    struct pack pk;
    struct offs items;
    pack_init(&pk);
    offs_init(&items);
    size_t root = pack_copy(&pk, &items, node);
    struct xend_sxp *c = pack_finish(&pk, root);
    offs_free(&items);
    pack_free(&pk);
    return c;
}

struct xend_sxp *xend_sxp_append_take(struct xend_sxp *list, struct xend_sxp *item)
{
    if (list->len == list->cap) {
        if (list->cap == 0 && !list->items_inline) {
            list->u.items = node_alloc(NODE_SMALL, false);
            list->items_small = true;
            list->cap = ITEMS_SMALL;
        } else if (list->items_inline || list->items_small) {
            size_t cap = list->cap * 2;
            struct xend_sxp **items = xend_xmalloc(cap * sizeof(*items));
            memcpy(items, list->u.items, list->len * sizeof(*items));
            items_release(list);
            list->u.items = items;
            list->items_inline = false;
            list->items_small = false;
            list->cap = cap;
        } else {
            list->cap *= 2;
            list->u.items = xend_xrealloc(list->u.items, list->cap * sizeof(*list->u.items));
        }
    }
    list->u.items[list->len++] = item;
    if (list->len == 1)
        head_sync(list);
    return list;
}

struct xend_sxp *xend_sxp_add_kv_take(struct xend_sxp *list, const char *key,
                                      struct xend_sxp *value)
{
    struct xend_sxp *kv = xend_sxp_list();
    xend_sxp_append_take(kv, xend_sxp_atom(key));
    xend_sxp_append_take(kv, value);
    return xend_sxp_append_take(list, kv);
}

struct xend_sxp *xend_sxp_add_kv(struct xend_sxp *list, const char *key, const char *value)
{
    return xend_sxp_add_kv_take(list, key, xend_sxp_atom(value));
}

struct xend_sxp *xend_sxp_add_kv_int(struct xend_sxp *list, const char *key, long long value)
{
    return xend_sxp_add_kv_take(list, key, xend_sxp_atom_int(value));
}

struct xend_sxp *xend_sxp_list_of(const char *name, ...)
{
    struct xend_sxp *l = xend_sxp_list();
    xend_sxp_append_take(l, xend_sxp_atom(name));
    va_list ap;
    va_start(ap, name);
    for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *))
        xend_sxp_append_take(l, xend_sxp_atom(s));
    va_end(ap);
    return l;
}

void xend_sxp_remove(struct xend_sxp *list, size_t i)
{
    xend_sxp_free(xend_sxp_detach(list, i));
}

struct xend_sxp *xend_sxp_detach(struct xend_sxp *list, size_t i)
{
    if (!list->is_list || i >= list->len)
        return NULL;
    struct xend_sxp *item = list->u.items[i];
    memmove(&list->u.items[i], &list->u.items[i + 1], (list->len - i - 1) * sizeof(*list->u.items));
    list->len--;
    if (i == 0)
        head_sync(list);
    return item;
}

struct own_walk {
    const struct sxp_block *block; /* the one block its packed nodes are in, or NULL */
    size_t in_block;
    bool mixed; /* packed nodes of more than one block */
};

static void own_walk(const struct xend_sxp *n, struct own_walk *w)
{
    if (n->packed) {
        const struct sxp_block *b;
        memcpy(&b, (const char *)n - BLOCK_PREFIX, sizeof(b));
        if (w->block != NULL && w->block != b)
            w->mixed = true;
        w->block = b;
        w->in_block++;
    }
    if (n->is_list)
        for (size_t i = 0; i < n->len && !w->mixed; i++)
            own_walk(n->u.items[i], w);
}

/* A block's nodes go only when its last does: a tree of nodes each alone, or of the nodes
 * of one block that has no other live node, keeps nothing but itself. Live counts only
 * fall, so the answer holds whatever other threads free meanwhile. */
struct xend_sxp *xend_sxp_detach_own(struct xend_sxp *list, size_t i)
{
    struct xend_sxp *item = xend_sxp_detach(list, i);
    if (item == NULL)
        return NULL;
    struct own_walk w = {0};
    own_walk(item, &w);
    if (!w.mixed && (w.block == NULL ||
                     atomic_load_explicit(&w.block->live, memory_order_acquire) == w.in_block))
        return item;
    struct xend_sxp *copy = xend_sxp_copy(item);
    xend_sxp_free(item);
    return copy;
}

void xend_sxp_replace_take(struct xend_sxp *list, size_t i, struct xend_sxp *item)
{
    if (!list->is_list || i >= list->len) {
        xend_sxp_free(item);
        return;
    }
    xend_sxp_free(list->u.items[i]);
    list->u.items[i] = item;
    if (i == 0)
        head_sync(list);
}

bool xend_sxp_is_list(const struct xend_sxp *node)
{
    return node != NULL && node->is_list;
}

const char *xend_sxp_atom_text(const struct xend_sxp *node)
{
    return node != NULL && !node->is_list ? node->u.text : NULL;
}

size_t xend_sxp_length(const struct xend_sxp *node)
{
    return node != NULL && node->is_list ? node->len : 0;
}

struct xend_sxp *xend_sxp_nth(const struct xend_sxp *list, size_t i)
{
    if (list == NULL || !list->is_list || i >= list->len)
        return NULL;
    return list->u.items[i];
}

const char *xend_sxp_name(const struct xend_sxp *node)
{
    if (node == NULL || !node->is_list || node->len == 0 || node->u.items[0]->is_list)
        return NULL;
    return node->u.items[0]->u.text;
}

long xend_sxp_child_index(const struct xend_sxp *list, const char *name)
{
    if (list == NULL || !list->is_list)
        return -1;
    char want[HEAD_BYTES] = {0};
    size_t n = strlen(name);
    memcpy(want, name, n < HEAD_BYTES - 2 ? n : HEAD_BYTES - 2);
    want[HEAD_IS_ATOM] = 1;
    for (size_t i = 0; i < list->len; i++)
        __builtin_prefetch(list->u.items[i]); /* see xend_sxp_print_buf */
    for (size_t i = 0; i < list->len; i++) {
        const struct xend_sxp *c = list->u.items[i];
        /* The stored prefix decides for every name shorter than it holds. */
        if (c->is_list && memcmp(c->inline_text, want, HEAD_BYTES) == 0 &&
            (n < HEAD_BYTES - 2 || strcmp(c->u.items[0]->u.text, name) == 0))
            return (long)i;
    }
    return -1;
}

struct xend_sxp *xend_sxp_child(const struct xend_sxp *list, const char *name)
{
    long i = xend_sxp_child_index(list, name);
    return i < 0 ? NULL : list->u.items[i];
}

const char *xend_sxp_child_value(const struct xend_sxp *list, const char *name, const char *dflt)
{
    const char *v = xend_sxp_atom_text(xend_sxp_nth(xend_sxp_child(list, name), 1));
    return v != NULL ? v : dflt;
}

bool xend_sxp_text_int(const char *text, long long *out)
{
    if (text == NULL || *text == '\0')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text)
        return false;
    *out = v;
    return true;
}

int xend_sxp_child_int(const struct xend_sxp *list, const char *name, long long *out)
{
    struct xend_sxp *c = xend_sxp_child(list, name);
    if (c == NULL)
        return -XEND_ENOENT;
    if (!xend_sxp_text_int(xend_sxp_atom_text(xend_sxp_nth(c, 1)), out))
        return -XEND_EINVAL;
    return 0;
}

bool xend_sxp_equal(const struct xend_sxp *a, const struct xend_sxp *b)
{
    if (a->is_list != b->is_list || a->len != b->len)
        return false;
    if (!a->is_list)
        return memcmp(a->u.text, b->u.text, a->len) == 0;
    for (size_t i = 0; i < a->len; i++)
        if (!xend_sxp_equal(a->u.items[i], b->u.items[i]))
            return false;
    return true;
}

static void measure(const struct xend_sxp *n, size_t level, size_t *depth, size_t *nodes)
{
    (*nodes)++;
    if (!n->is_list)
        return;
    if (level > *depth)
        *depth = level;
    for (size_t i = 0; i < n->len; i++)
        measure(n->u.items[i], level + 1, depth, nodes);
}

void xend_sxp_measure(const struct xend_sxp *node, size_t *depth, size_t *nodes)
{
    *depth = 0;
    *nodes = 0;
    measure(node, 1, depth, nodes);
}

/* ---- parser ---------------------------------------------------------------------- */

struct parser {
    const char *p, *end;
    const char *start, *err_at; /* the text, and where the first error was found */
    size_t depth, nodes;
    struct xend_sxp_limits lim;
    char *err;
    size_t err_len;
    int rc;
};

static void perr(struct parser *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr(struct parser *ps, int code, const char *fmt, ...)
{
    if (ps->rc != 0)
        return;
    ps->rc = -code;
    ps->err_at = ps->p;
    if (ps->err != NULL && ps->err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->err_len, fmt, ap);
        va_end(ap);
    }
}

/* Characters that end an atom; all but the parens and '#' start a new one (sxp.py). */
static bool is_special(char c)
{
    return strchr("{}<>[]!;", c) != NULL && c != '\0';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end) {
        if (is_space(*ps->p)) {
            ps->p++;
        } else if (*ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
        } else {
            break;
        }
    }
}

static bool count_node(struct parser *ps)
{
    if (++ps->nodes > ps->lim.max_nodes) {
        perr(ps, XEND_ELIMIT, "SXP too large: more than %zu values", ps->lim.max_nodes);
        return false;
    }
    return true;
}

/* A quoted string, its escapes decoded, as an atom of pk; its offset, or SIZE_MAX. */
static size_t parse_string(struct parser *ps, struct pack *pk)
{
    char quote = *ps->p++;
    size_t off = pack_node(pk, sizeof(struct xend_sxp)); /* the text follows, then its size */
    size_t len = 0;
    while (ps->p < ps->end && *ps->p != quote) {
        char c = *ps->p++;
        if (c == '\\') {
            if (ps->p >= ps->end)
                break;
            c = *ps->p++;
            switch (c) {
            case 'a':
                c = '\a';
                break;
            case 'b':
                c = '\b';
                break;
            case 't':
                c = '\t';
                break;
            case 'n':
                c = '\n';
                break;
            case 'v':
                c = '\v';
                break;
            case 'f':
                c = '\f';
                break;
            case 'r':
                c = '\r';
                break;
            case 'x': {
                int h1 = ps->p < ps->end ? xend_hex_value(ps->p[0]) : -1;
                int h2 = ps->p + 1 < ps->end ? xend_hex_value(ps->p[1]) : -1;
                if (h1 < 0 || h2 < 0) {
                    perr(ps, XEND_EINVAL, "invalid \\x escape in string");
                    return SIZE_MAX;
                }
                c = (char)(h1 * 16 + h2);
                ps->p += 2;
                break;
            }
            default:
                if (c >= '0' && c <= '7') {
                    int v = c - '0';
                    for (int k = 0; k < 2 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; k++)
                        v = v * 8 + (*ps->p++ - '0');
                    c = (char)v;
                }
                /* \\ \' \" and unknown escapes keep the character itself */
                break;
            }
        }
        if (len >= ps->lim.max_atom) {
            perr(ps, XEND_ELIMIT, "SXP string longer than %zu bytes", ps->lim.max_atom);
            return SIZE_MAX;
        }
        size_t at = pack_raw(pk, 1); /* may move pk->data */
        pk->data[at] = c;
        len++;
    }
    if (ps->p >= ps->end) {
        perr(ps, XEND_EINVAL, "unterminated string");
        return SIZE_MAX;
    }
    ps->p++; /* closing quote */
    size_t text_end = pack_raw(pk, ALIGN8(len + 1) - len);
    pk->data[text_end] = '\0';
    atom_header(PACK_NODE(pk, off), len);
    return off;
}

static size_t parse_atom(struct parser *ps, struct pack *pk)
{
    const char *start = ps->p;
    if (is_special(*ps->p))
        ps->p++;
    while (ps->p < ps->end && !is_space(*ps->p) && *ps->p != '(' && *ps->p != ')' &&
           *ps->p != '#' && *ps->p != '"' && *ps->p != '\'' && !is_special(*ps->p)) {
        if ((unsigned char)*ps->p < 0x20) {
            perr(ps, XEND_EINVAL, "invalid character 0x%02x", (unsigned char)*ps->p);
            return SIZE_MAX;
        }
        ps->p++;
    }
    size_t len = (size_t)(ps->p - start);
    if (len > ps->lim.max_atom) {
        perr(ps, XEND_ELIMIT, "SXP atom longer than %zu bytes", ps->lim.max_atom);
        return SIZE_MAX;
    }
    if (len == 0) {
        perr(ps, XEND_EINVAL, "invalid character 0x%02x", (unsigned char)*ps->p);
        return SIZE_MAX;
    }
    return pack_atom(pk, start, len);
}

/*
 * One value, or (all) every value up to the end as the items of one list, packed in one
 * block. Iterative, with the items of the open lists on one stack, so depth limits are
 * exact, deep input cannot exhaust the C stack, and a list is made once, when it closes.
 */
static struct xend_sxp *parse_values(struct parser *ps, bool all)
{
    struct pack pk;
    struct offs items, open; /* open: where each open list's items start in items */
    pack_init(&pk);
    offs_init(&items);
    offs_init(&open);
    size_t root = SIZE_MAX;
    for (;;) {
        skip_space(ps);
        if (ps->p >= ps->end) {
            if (open.n > 0)
                perr(ps, XEND_EINVAL, "unexpected end of input: %zu unclosed list%s", open.n,
                     open.n == 1 ? "" : "s");
            else if (all)
                root = pack_list(&pk, &items, 0);
            else
                perr(ps, XEND_EINVAL, "no value");
            break;
        }
        char c = *ps->p;
        size_t v;
        if (c == '(') {
            ps->p++;
            if (!count_node(ps))
                break;
            if (open.n + 1 > ps->lim.max_depth) {
                perr(ps, XEND_ELIMIT, "SXP nested deeper than %zu", ps->lim.max_depth);
                break;
            }
            offs_push(&open, items.n);
            continue;
        }
        if (c == ')') {
            if (open.n == 0) {
                perr(ps, XEND_EINVAL, "syntax error: )");
                break;
            }
            ps->p++;
            v = pack_list(&pk, &items, open.v[--open.n]);
        } else {
            if (!count_node(ps))
                break;
            v = (c == '"' || c == '\'') ? parse_string(ps, &pk) : parse_atom(ps, &pk);
            if (v == SIZE_MAX)
                break;
        }
        if (open.n == 0 && !all) {
            root = v;
            break;
        }
        offs_push(&items, v);
    }
    struct xend_sxp *result = root == SIZE_MAX ? NULL : pack_finish(&pk, root);
    offs_free(&open);
    offs_free(&items);
    pack_free(&pk);
    return result;
}

static void parser_init(struct parser *ps, const char *text, size_t len,
                        const struct xend_sxp_limits *limits, char *err, size_t err_len)
{
    memset(ps, 0, sizeof(*ps));
    ps->p = text;
    ps->start = text;
    ps->end = text + len;
    ps->lim.max_depth = limits && limits->max_depth ? limits->max_depth : 64;
    ps->lim.max_nodes = limits && limits->max_nodes ? limits->max_nodes : 1000000;
    ps->lim.max_atom = limits && limits->max_atom ? limits->max_atom : (1u << 20);
    ps->err = err;
    ps->err_len = err_len;
    if (err && err_len)
        err[0] = '\0';
}

static int parse_one(struct parser *ps, struct xend_sxp **out)
{
    *out = NULL;
    struct xend_sxp *v = parse_values(ps, false);
    if (v == NULL)
        return ps->rc ? ps->rc : -XEND_EINVAL;
    skip_space(ps);
    if (ps->p < ps->end) {
        xend_sxp_free(v);
        perr(ps, XEND_EINVAL, "Too many sxprs");
        return ps->rc;
    }
    *out = v;
    return 0;
}

int xend_sxp_parse(const char *text, size_t len, const struct xend_sxp_limits *limits,
                   struct xend_sxp **out, char *err_msg, size_t err_len)
{
    struct parser ps;
    parser_init(&ps, text, len, limits, err_msg, err_len);
    return parse_one(&ps, out);
}

int xend_sxp_parse_line(const char *text, size_t len, const struct xend_sxp_limits *limits,
                        struct xend_sxp **out, char *err_msg, size_t err_len, unsigned *err_line)
{
    struct parser ps;
    parser_init(&ps, text, len, limits, err_msg, err_len);
    int rc = parse_one(&ps, out);
    *err_line = 0;
    if (rc < 0) {
        const char *at = ps.err_at != NULL ? ps.err_at : ps.p;
        *err_line = 1;
        for (const char *c = ps.start; c < at && c < ps.end; c++)
            *err_line += *c == '\n';
    }
    return rc;
}

int xend_sxp_parse_all(const char *text, size_t len, const struct xend_sxp_limits *limits,
                       struct xend_sxp **out, char *err_msg, size_t err_len)
{
    struct parser ps;
    parser_init(&ps, text, len, limits, err_msg, err_len);
    *out = parse_values(&ps, true);
    return *out != NULL ? 0 : ps.rc ? ps.rc : -XEND_EINVAL;
}

/* ---- printer --------------------------------------------------------------------- */

/* The characters an atom may have to be printed without quotes: letters, digits and
 * .-_:/~@, one bit per ASCII code (every byte of every printed atom comes here). */
static inline bool bare_char(unsigned char c)
{
    static const uint64_t bare_bits[2] = {0x07ffe00000000000u, 0x47fffffe87ffffffu};
    return c < 128 && ((bare_bits[c >> 6] >> (c & 63)) & 1u);
}

/* A control byte: printed as \xNN (or \n, \t, \r) inside quotes. */
static bool is_ctl_byte(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool is_bare_atom(const char *s, size_t len)
{
    if (len == 0)
        return false; /* sxp.py writes nothing; we write '' so the value survives */
    for (size_t i = 0; i < len; i++)
        if (!bare_char((unsigned char)s[i]))
            return false;
    return true;
}

void xend_sxp_print_atom(const char *s, size_t len, struct xend_buf *out)
{
    if (is_bare_atom(s, len)) {
        xend_buf_append(out, s, len);
        return;
    }
    /* Python repr(): single quotes unless the text has ' and no ". */
    bool has_sq = memchr(s, '\'', len) != NULL, has_dq = memchr(s, '"', len) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    xend_buf_putc(out, q);
    for (size_t i = 0; i < len; i++) {
        /* What needs no escape is copied a run at a time. */
        size_t run = i;
        while (run < len && !is_ctl_byte((unsigned char)s[run]) && s[run] != '\\' && s[run] != q)
            run++;
        if (run > i) {
            xend_buf_append(out, s + i, run - i);
            i = run - 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\n':
            xend_buf_puts(out, "\\n");
            break;
        case '\t':
            xend_buf_puts(out, "\\t");
            break;
        case '\r':
            xend_buf_puts(out, "\\r");
            break;
        case '\\':
            xend_buf_puts(out, "\\\\");
            break;
        default:
            if (c == (unsigned char)q) {
                xend_buf_putc(out, '\\');
                xend_buf_putc(out, (char)c);
            } else if (is_ctl_byte(c)) {
                xend_buf_printf(out, "\\x%02x", c);
            } else {
                xend_buf_putc(out, (char)c);
            }
        }
    }
    xend_buf_putc(out, q);
}

static void print_key(struct xend_buf *out, const char *key)
{
    xend_buf_put_lit(out, " (");
    xend_sxp_print_atom(key, strlen(key), out);
    xend_buf_putc(out, ' ');
}

void xend_sxp_print_kv(struct xend_buf *out, const char *key, const char *value)
{
    print_key(out, key);
    xend_sxp_print_atom(value, strlen(value), out);
    xend_buf_putc(out, ')');
}

void xend_sxp_print_kv_int(struct xend_buf *out, const char *key, long long value)
{
    print_key(out, key);
    xend_buf_put_int(out, value);
    xend_buf_putc(out, ')');
}

void xend_sxp_print_kv_double(struct xend_buf *out, const char *key, double value)
{
    print_key(out, key);
    /* Straight into the buffer: a list prints two of these per domain, and the copies and
     * scans around the digits cost as much as the digits. A number is never quoted. */
    char *p = xend_buf_reserve(out, sizeof(((struct xend_sxp_double *)0)->text) + 1);
    size_t n = double_text(value, p);
    p[n] = ')';
    xend_buf_commit(out, n + 1);
}

void xend_sxp_print_buf(const struct xend_sxp *node, struct xend_buf *out)
{
    if (!node->is_list) {
        xend_sxp_print_atom(node->u.text, node->len, out);
        return;
    }
    xend_buf_putc(out, '(');
    /* The nodes of a tree are scattered over the heap: ask for all the children at once
     * rather than missing the cache on each in turn (a list of a thousand infos is mostly
     * such misses). */
    for (size_t i = 0; i < node->len; i++)
        __builtin_prefetch(node->u.items[i]);
    for (size_t i = 0; i < node->len; i++) {
        if (i)
            xend_buf_putc(out, ' ');
        xend_sxp_print_buf(node->u.items[i], out);
    }
    xend_buf_putc(out, ')');
}

char *xend_sxp_print(const struct xend_sxp *node)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_print_buf(node, &b);
    return xend_buf_steal(&b);
}

/* Columns the 2.0 client's pretty printer fills (PrettyPrint.prettyprint's width). */
#define PRETTY_WIDTH 80

/* The width of node printed on one line. */
static size_t flat_width(const struct xend_sxp *node)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_print_buf(node, &b);
    size_t n = b.len;
    xend_buf_free(&b);
    return n;
}

static void newline_at(struct xend_buf *out, size_t col)
{
    xend_buf_putc(out, '\n');
    for (size_t k = 0; k < col; k++)
        xend_buf_putc(out, ' ');
}

/*
 * The layout of the 2.0 client's PrettyPrint (an Oppen-style printer), so `xm list -l`,
 * `call`, `restore` and the event port print what 2004's scripts and eyes expect: a list that
 * fits in what is left of the line stays on it; one that does not is broken at every item,
 * each item after the head on its own line four columns in from the list's '(', and the ')'
 * on a line of its own under the '('. col is the column node starts at; returns the column
 * after it.
 */
static size_t pretty(const struct xend_sxp *node, struct xend_buf *out, size_t col)
{
    size_t flat = flat_width(node);
    if (!node->is_list || col + flat <= PRETTY_WIDTH) {
        xend_sxp_print_buf(node, out);
        return col + flat;
    }
    xend_buf_putc(out, '(');
    size_t at = col + 1;
    for (size_t i = 0; i < node->len; i++) {
        if (i > 0) {
            newline_at(out, col + 4);
            at = col + 4;
        }
        at = pretty(node->u.items[i], out, at);
    }
    newline_at(out, col);
    xend_buf_putc(out, ')');
    return col + 1;
}

void xend_sxp_pretty_buf(const struct xend_sxp *node, struct xend_buf *out)
{
    pretty(node, out, 0);
}

/* ---- the host table ---------------------------------------------------------------- */

const struct xend_host_sxp xend_sxp_host_table = {
    .size = sizeof(struct xend_host_sxp),
    .list = xend_sxp_list,
    .atom = xend_sxp_atom,
    .atom_len = xend_sxp_atom_len,
    .atom_int = xend_sxp_atom_int,
    .atom_fmt = xend_sxp_atom_fmt,
    .copy = xend_sxp_copy,
    .free = xend_sxp_free,
    .append_take = xend_sxp_append_take,
    .add_kv = xend_sxp_add_kv,
    .add_kv_int = xend_sxp_add_kv_int,
    .is_list = xend_sxp_is_list,
    .atom_text = xend_sxp_atom_text,
    .length = xend_sxp_length,
    .nth = xend_sxp_nth,
    .name = xend_sxp_name,
    .child = xend_sxp_child,
    .child_value = xend_sxp_child_value,
    .child_int = xend_sxp_child_int,
    .parse = xend_sxp_parse,
    .print = xend_sxp_print,
};
