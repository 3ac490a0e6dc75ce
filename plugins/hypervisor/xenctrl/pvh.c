/*
 * PVH domains: a Linux kernel booted at its PVH entry point inside an HVM container with
 * hardware-assisted paging and no device model. Debian's Xen 4.17 has no shadow paging, so
 * a PV guest cannot enter log-dirty mode and cannot be migrated live; a PVH guest can
 * (HAP tracks its dirty pages). Laid out as libxl lays out a PVH guest without ACPI
 * tables: RAM from 0, the special pages (xenstore, console, ...) reserved below 4 GiB,
 * a hole for the local APIC.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xc_priv.h"

/* The bottom of the hole below 4 GiB libxl leaves for a PVH guest without a device model:
 * the lowest of the special pages, the local APIC and the ACPI info page. */
#define XCB_PVH_HOLE_START 0xfc000000ull
#define XCB_4G (1ull << 32)
/* Xen's HVM_PARAM_TIMER_MODE value libxl sets by default (no_delay_for_missed_ticks). */
#define XCB_TIMER_MODE_DEFAULT 1
/* The migration stream's domain header type for an HVM container (PVH included). */
#define XCB_DHDR_TYPE_X86_HVM 2u
/* Image header (24 bytes: marker, id, version, options, reserved), then the domain header
 * whose first 32-bit word is its type; all big-endian except the domain header. */
#define XCB_STREAM_IHDR_LEN 24
#define XCB_STREAM_PEEK_LEN (XCB_STREAM_IHDR_LEN + 4)
/* How long a migration's sender may take to send those bytes. */
#define XCB_STREAM_PEEK_WAIT_MS 30000

bool xcb_config_wants_pvh(struct xcb *c, const char *name)
{
    const struct xend_host_domain *d = c->host->domain;
    if (name == NULL || d == NULL || d->lookup == NULL || d->config == NULL)
        return false;
    struct xend_domain *dom = d->lookup(name);
    const struct xend_sxp *vm = dom ? d->config(dom) : NULL;
    const struct xend_sxp *image = vm ? c->host->sxp->child(vm, "image") : NULL;
    const char *builder = image ? c->host->sxp->name(c->host->sxp->nth(image, 1)) : NULL;
    return builder != NULL && strcmp(builder, "pvh") == 0;
}

bool xcb_is_pvh(const xc_domaininfo_t *x)
{
    return (x->flags & XEN_DOMINF_hvm_guest) &&
           (x->arch_config.emulation_flags & ~(uint32_t)XEN_X86_EMU_LAPIC) == 0;
}

int xcb_pvh_config(struct xcb_conn *h, const xc_physinfo_t *pi, const char *name,
                   struct xen_domctl_createdomain *cfg, struct xend_err *err)
{
    (void)h;
    if (!(pi->capabilities & XEN_SYSCTL_PHYSCAP_hap))
        return xend_err_set(err, XEND_ENOTSUP,
                            "cannot create PVH domain %s: this host's cpu has no "
                            "hardware-assisted paging (Xen reports no HAP; under QEMU, give it "
                            "-cpu ...,+svm,+npt)",
                            name);
    cfg->flags |= XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
    cfg->arch.emulation_flags = XEN_X86_EMU_LAPIC;
    return 0;
}

int xcb_pvh_prepare(struct xcb_conn *h, uint32_t domid, uint64_t maxmem_kb, unsigned vcpus,
                    struct xend_err *err)
{
    /* HAP's page-table pool, sized as libxl sizes it: 1 MiB per vcpu, 8 KiB per MiB. */
    uint64_t pool_kb = 4 * (256 * (uint64_t)vcpus + 2 * (maxmem_kb / 1024));
    if (xc_set_paging_mempool_size(h->xch, domid, pool_kb * 1024) < 0)
        return xcb_fail(h, err, errno, "cannot give PVH domain %u a %llu KiB paging pool", domid,
                        (unsigned long long)pool_kb);
    if (xc_hvm_param_set(h->xch, domid, HVM_PARAM_TIMER_MODE, XCB_TIMER_MODE_DEFAULT) < 0)
        return xcb_fail(h, err, errno, "cannot set the timer mode of PVH domain %u", domid);
    return 0;
}

void xcb_pvh_layout(struct xc_dom_image *dom, uint64_t mem_kb)
{
    uint64_t bytes = mem_kb * 1024;
    dom->container_type = XC_DOM_HVM_CONTAINER;
    dom->target_pages = bytes >> XC_PAGE_SHIFT;
    dom->mmio_size = XCB_4G - XCB_PVH_HOLE_START;
    dom->mmio_start = XCB_PVH_HOLE_START;
    dom->lowmem_end = bytes < XCB_PVH_HOLE_START ? bytes : XCB_PVH_HOLE_START;
    dom->highmem_end = bytes > XCB_PVH_HOLE_START ? XCB_4G + (bytes - XCB_PVH_HOLE_START) : 0;
    dom->vga_hole_size = 0;
    dom->device_model = false;
}

/*
 * Linux sets up its per-cpu timer (Xen's, for a PVH guest) only where firmware told it of
 * its local APICs; without that it waits for a PIT that a PVH guest has not, and never
 * wakes from a sleep. libxl writes ACPI tables for this; an Intel MP table (a processor
 * entry per vcpu, found where Linux scans for it) says the same in a few bytes.
 */
#define XCB_MP_PFN 0xf0 /* the floating pointer at 0xf0000, the BIOS area Linux scans */
#define XCB_MP_ADDR ((uint32_t)XCB_MP_PFN << 12)
#define XCB_MP_TABLE_OFF 16
#define XCB_MP_HDR_LEN 44
#define XCB_MP_CPU_LEN 20
#define XCB_LAPIC_BASE 0xfee00000u

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static unsigned char checksum(const unsigned char *p, size_t n)
{
    unsigned char sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (unsigned char)(sum + p[i]);
    return (unsigned char)-sum;
}

int xcb_pvh_mptable(struct xcb_conn *h, uint32_t domid, struct xc_dom_image *dom, unsigned vcpus,
                    struct xend_err *err)
{
    (void)h;
    size_t len = XCB_MP_HDR_LEN + (size_t)vcpus * XCB_MP_CPU_LEN;
    if (XCB_MP_TABLE_OFF + len > XC_PAGE_SIZE)
        return xend_err_set(err, XEND_EINVAL,
                            "cannot build domain %u: %u vcpus are too many "
                            "for its MP table",
                            domid, vcpus);
    unsigned char *page = xc_dom_pfn_to_ptr(dom, XCB_MP_PFN, 1);
    if (page == NULL)
        return xend_err_set(err, XEND_EIO, "cannot build domain %u: cannot map its page at %#x",
                            domid, XCB_MP_ADDR);
    memset(page, 0, XC_PAGE_SIZE);
    unsigned char *t = page + XCB_MP_TABLE_OFF;
    memcpy(t, "PCMP", 4);
    put16(t + 4, (uint16_t)len);
    t[6] = 4; /* MP spec 1.4 */
    memcpy(t + 8, "XEND    ", 8);
    memcpy(t + 16, "PVH         ", 12);
    put16(t + 34, (uint16_t)vcpus);
    put32(t + 36, XCB_LAPIC_BASE);
    for (unsigned i = 0; i < vcpus; i++) {
        unsigned char *e = t + XCB_MP_HDR_LEN + (size_t)i * XCB_MP_CPU_LEN;
        e[0] = 0;                               /* a processor */
        e[1] = (unsigned char)(2 * i);          /* Xen gives vcpu N local APIC id 2N */
        e[2] = 0x14;                            /* an integrated APIC */
        e[3] = (unsigned char)(i == 0 ? 3 : 1); /* enabled; vcpu 0 boots */
        put32(e + 8, 1u << 9);                  /* features: APIC */
    }
    t[7] = checksum(t, len);
    unsigned char *f = page;
    memcpy(f, "_MP_", 4);
    put32(f + 4, XCB_MP_ADDR + XCB_MP_TABLE_OFF);
    f[8] = 1; /* 16 bytes */
    f[9] = 4;
    f[10] = checksum(f, 16);
    return 0;
}

int xcb_pvh_memmap(struct xcb_conn *h, uint32_t domid, struct xc_dom_image *dom,
                   struct xend_err *err)
{
    /* The guest finds its memory in this map (start info, or XENMEM_memory_map). It lives
     * in the builder's pool so that it stays valid until xc_dom_release. */
    struct e820entry *map = xc_dom_malloc(dom, 5 * sizeof(*map));
    if (map == NULL)
        return xend_err_set(err, XEND_ENOMEM, "cannot build domain %u: no memory", domid);
    unsigned n = 0;
    /* the BIOS area, where the MP table is, kept from the allocator */
    map[n++] = (struct e820entry){.addr = 0, .size = XCB_MP_ADDR, .type = E820_RAM};
    map[n++] = (struct e820entry){
        .addr = XCB_MP_ADDR, .size = 0x100000 - XCB_MP_ADDR, .type = E820_RESERVED};
    map[n++] =
        (struct e820entry){.addr = 0x100000, .size = dom->lowmem_end - 0x100000, .type = E820_RAM};
    map[n++] = (struct e820entry){
        .addr = (uint64_t)(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES) << XC_PAGE_SHIFT,
        .size = (uint64_t)X86_HVM_NR_SPECIAL_PAGES << XC_PAGE_SHIFT,
        .type = E820_RESERVED};
    if (dom->highmem_end > XCB_4G)
        map[n++] =
            (struct e820entry){.addr = XCB_4G, .size = dom->highmem_end - XCB_4G, .type = E820_RAM};
    if (xc_domain_set_memory_map(h->xch, domid, map, n) < 0)
        return xcb_fail(h, err, errno, "cannot build domain %u: cannot set its memory map", domid);
    dom->e820 = map;
    dom->e820_entries = n;
    return 0;
}

int xcb_stream_is_hvm(int fd, bool *hvm, struct xend_err *err)
{
    unsigned char b[XCB_STREAM_PEEK_LEN];
    ssize_t n;
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at >= 0) {
        n = pread(fd, b, sizeof(b), at);
    } else {
        /* A socket (a migration): look without taking, since libxenguest reads it next;
         * the socket may be non-blocking, so wait for the whole header with a deadline. */
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
            if (n == (ssize_t)sizeof(b) || n == 0)
                break;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long ms = (now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (ms >= XCB_STREAM_PEEK_WAIT_MS) {
                n = n < 0 ? 0 : n;
                break;
            }
            struct pollfd p = {.fd = fd, .events = POLLIN};
            struct timespec some = {0, 10L * 1000 * 1000};
            if (n < 0)
                poll(&p, 1, 100); /* nothing yet */
            else
                nanosleep(&some, NULL); /* part of it: poll would not wait for the rest */
        }
        if (n < 0 && errno == ENOTSOCK)
            return xend_err_set(err, XEND_ENOTSUP,
                                "cannot restore: the image comes through a pipe, and the "
                                "xenctrl backend must see its first bytes to know its kind");
    }
    if (n < 0)
        return xend_err_set(err, XEND_EIO, "cannot read the image's header: %s", strerror(errno));
    *hvm = false;
    /* Not a whole Xen stream header: PV, and libxenguest says what is wrong with it. */
    static const unsigned char magic[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 'X',  'E',  'N',  'F'};
    if (n < (ssize_t)sizeof(b) || memcmp(b, magic, sizeof(magic)) != 0)
        return 0;
    /* The domain header is in the sender's byte order: x86, little-endian. */
    const unsigned char *t = b + XCB_STREAM_IHDR_LEN;
    uint32_t type =
        (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    *hvm = type == XCB_DHDR_TYPE_X86_HVM;
    return 0;
}
