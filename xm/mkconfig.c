/*
 * The domain config builder of `xm create` (see mkconfig.h).
 */
#include "mkconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "suggest.h"

#define VAR(n, t, v, u, d)                                                                         \
    {                                                                                              \
        {(n), 0, XM_OPT_VAR, (v), (u), (d)}, (t)                                                   \
    }

/* The variables of the 2.0 xm create, in its order, with its help texts and defaults. */
const struct xm_var_spec xm_mkconfig_vars[] = {
    VAR("name", XM_VAR_STR, "NAME", "Domain name. Must be unique.", NULL),
    VAR("kernel", XM_VAR_STR, "FILE", "Path to kernel image.", NULL),
    VAR("ramdisk", XM_VAR_STR, "FILE", "Path to ramdisk.", NULL),
    VAR("builder", XM_VAR_STR, "FUNCTION", "Function to use to build the domain.", "linux"),
    VAR("memory", XM_VAR_INT, "MEMORY", "Domain memory in MB.", "128"),
    VAR("maxmem", XM_VAR_INT, "MEMORY", "Maximum domain memory in MB.", NULL),
    VAR("cpu", XM_VAR_INT, "CPU", "CPU to run the domain on.", NULL),
    VAR("cpu_weight", XM_VAR_FLOAT, "WEIGHT",
        "Set the new domain's cpu weight.\n"
        "WEIGHT is a float that controls the domain's share of the cpu.",
        NULL),
    VAR("console", XM_VAR_INT, "PORT", "Console port to use. Default is 9600 + domain id.", NULL),
    VAR("restart", XM_VAR_STR, "onreboot|always|never",
        "Whether the domain should be restarted on exit.\n"
        "- onreboot: restart on exit with shutdown code reboot\n"
        "- always:   always restart on exit, ignore exit code\n"
        "- never:    never restart on exit, ignore exit code",
        NULL),
    VAR("blkif", XM_VAR_BOOL, "no|yes", "Make the domain a block device backend.", NULL),
    VAR("netif", XM_VAR_BOOL, "no|yes", "Make the domain a network interface backend.", NULL),
    VAR("disk", XM_VAR_LIST, "phy:DEV,VDEV,MODE[,DOM]",
        "Add a disk device to a domain. The physical device is DEV,\n"
        "which is exported to the domain as VDEV. The disk is read-only if MODE\n"
        "is 'r', read-write if MODE is 'w'. If DOM is specified it defines the\n"
        "backend driver domain to use for the disk.\n"
        "The option may be repeated to add more than one disk.",
        NULL),
    VAR("pci", XM_VAR_LIST, "BUS,DEV,FUNC",
        "Add a PCI device to a domain, using given params (in hex).\n"
        "For example 'pci=c0,02,1a'.\n"
        "The option may be repeated to add more than one pci device.",
        NULL),
    VAR("ipaddr", XM_VAR_LIST, "IPADDR", "Add an IP address to the domain.", NULL),
    VAR("vif", XM_VAR_LIST, "mac=MAC,bridge=BRIDGE,script=SCRIPT,backend=DOM,ip=IPADDR",
        "Add a network interface with the given MAC address and bridge.\n"
        "The vif is configured by calling the given configuration script.\n"
        "If mac is not specified a random MAC address is used.\n"
        "If bridge is not specified the default bridge is used.\n"
        "If script is not specified the default script is used.\n"
        "If backend is not specified the default backend driver domain is used.\n"
        "This option may be repeated to add more than one vif.\n"
        "Specifying vifs will increase the number of interfaces as needed.",
        NULL),
    VAR("nics", XM_VAR_INT, "NUM",
        "Set the number of network interfaces.\n"
        "Use the vif option to define interface parameters, otherwise\n"
        "defaults are used. Specifying vifs will increase the\n"
        "number of interfaces as needed.",
        "1"),
    VAR("root", XM_VAR_STR, "DEVICE",
        "Set the root= parameter on the kernel command line.\n"
        "Use a device, e.g. /dev/sda1, or /dev/nfs for NFS root.",
        NULL),
    VAR("extra", XM_VAR_STR, "ARGS", "Set extra arguments to append to the kernel command line.",
        NULL),
    VAR("ip", XM_VAR_STR, "IPADDR", "Set the kernel IP interface address.", NULL),
    VAR("gateway", XM_VAR_STR, "IPADDR", "Set the kernel IP gateway.", NULL),
    VAR("netmask", XM_VAR_STR, "MASK", "Set the kernel IP netmask.", NULL),
    VAR("hostname", XM_VAR_STR, "NAME", "Set the kernel IP hostname.", NULL),
    VAR("interface", XM_VAR_STR, "INTF", "Set the kernel IP interface name.", "eth0"),
    VAR("dhcp", XM_VAR_STR, "off|dhcp", "Set the kernel dhcp option.", "off"),
    VAR("nfs_server", XM_VAR_STR, "IPADDR", "Set the address of the NFS server for NFS root.",
        NULL),
    VAR("nfs_root", XM_VAR_STR, "PATH", "Set the path of the root NFS directory.", NULL),
};

const size_t xm_mkconfig_nvars = sizeof(xm_mkconfig_vars) / sizeof(xm_mkconfig_vars[0]);

const struct xm_var_spec *xm_mkconfig_var(const char *name)
{
    for (size_t i = 0; i < xm_mkconfig_nvars; i++)
        if (strcmp(xm_mkconfig_vars[i].opt.name, name) == 0)
            return &xm_mkconfig_vars[i];
    return NULL;
}

int xm_mkconfig_check_vars(const struct xm_pyvars *vars, const char *file, bool strict,
                           struct xend_buf *warnings, struct xend_err *err)
{
    const char **names = xend_xcalloc(xm_mkconfig_nvars, sizeof(*names));
    for (size_t i = 0; i < xm_mkconfig_nvars; i++)
        names[i] = xm_mkconfig_vars[i].opt.name;
    int rc = 0;
    for (size_t i = 0; i < vars->n && rc == 0; i++) {
        const struct xm_pyvar *v = &vars->v[i];
        if (v->cmdline || v->read || v->line == 0 || xm_mkconfig_var(v->name) != NULL)
            continue;
        const char *best = xend_suggest(v->name, names, xm_mkconfig_nvars);
        char hint[96] = "";
        if (best != NULL)
            snprintf(hint, sizeof(hint), "; did you mean '%s'?", best);
        if (strict)
            rc = xend_err_set(err, XEND_EINVAL, "%s:%d: unknown variable '%s'%s", file, v->line,
                              v->name, hint);
        else
            xend_buf_printf(warnings, "Warning: %s:%d: unknown variable '%s'%s\n", file, v->line,
                            v->name, hint);
    }
    free(names);
    return rc;
}

void xm_random_mac(uint32_t r, char out[18])
{
    snprintf(out, 18, "aa:00:00:%02x:%02x:%02x", (unsigned)((r >> 16) & 0x7f),
             (unsigned)((r >> 8) & 0xff), (unsigned)(r & 0xff));
}

char *xm_abspath(const char *path)
{
    struct xend_buf joined = XEND_BUF_INIT;
    if (path[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        xend_buf_puts(&joined, cwd != NULL ? cwd : "/");
        free(cwd);
        xend_buf_putc(&joined, '/');
    }
    xend_buf_puts(&joined, path);
    /* Normalise lexically (as os.path.normpath): drop "." and "", fold "..". */
    char *in = xend_buf_steal(&joined);
    size_t n = strlen(in);
    char *out = xend_xmalloc(n + 2);
    size_t len = 0;
    for (char *seg = in; seg != NULL;) {
        char *slash = strchr(seg, '/');
        if (slash != NULL)
            *slash = '\0';
        if (strcmp(seg, "..") == 0) {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (seg[0] != '\0' && strcmp(seg, ".") != 0) {
            out[len++] = '/';
            size_t sl = strlen(seg);
            memcpy(out + len, seg, sl);
            len += sl;
        }
        seg = slash != NULL ? slash + 1 : NULL;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(in);
    return out;
}

/* ---- typed access to the variables ------------------------------------------------- */

struct build {
    const struct xm_pyvars *vars;
    const struct xm_build_ctx *ctx;
    struct xend_err *err;
};

/* An error about variable v: "FILE:LINE: " first when it came from the file. */
__attribute__((format(printf, 3, 4))) static int var_err(struct build *b, const struct xm_pyvar *v,
                                                         const char *fmt, ...)
{
    char msg[XEND_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v != NULL && v->line > 0 && b->ctx->file != NULL)
        return xend_err_set(b->err, XEND_EINVAL, "%s:%d: %s", b->ctx->file, v->line, msg);
    return xend_err_set(b->err, XEND_EINVAL, "%s", msg);
}

static const struct xm_pyvar *get_var(struct build *b, const char *name)
{
    const struct xm_pyvar *v = xm_pyvars_get(b->vars, name);
    return v != NULL && v->val.type != XM_PY_NONE ? v : NULL;
}

/* A string variable: numbers are taken as their text, as the SXP would show them. Returns
 * 0 and *out (owned, NULL when unset or None), or an error. */
static int get_str(struct build *b, const char *name, char **out)
{
    *out = NULL;
    const struct xm_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XM_PY_STR || v->val.type == XM_PY_INT || v->val.type == XM_PY_FLOAT) {
        struct xend_buf s = XEND_BUF_INIT;
        xm_pyval_str(&v->val, false, &s);
        *out = s.data != NULL ? xend_buf_steal(&s) : xend_xstrdup("");
        return 0;
    }
    return var_err(b, v, "%s: expected a string", name);
}

static int get_int(struct build *b, const char *name, bool *set, long long *out)
{
    *set = false;
    const struct xm_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XM_PY_INT || v->val.type == XM_PY_BOOL) {
        *out = v->val.i;
    } else if (v->val.type != XM_PY_STR || !xend_sxp_text_int(v->val.s, out)) {
        if (v->cmdline && v->val.type == XM_PY_STR)
            return var_err(b, v, "Invalid value: %s", v->val.s);
        return var_err(b, v, "%s: expected an integer", name);
    }
    *set = true;
    return 0;
}

/* cpu_weight: an integer stays one, anything else becomes a python float. */
static int get_number(struct build *b, const char *name, struct xend_sxp **out)
{
    *out = NULL;
    const struct xm_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XM_PY_INT && !v->cmdline) {
        *out = xend_sxp_atom_int(v->val.i);
        return 0;
    }
    if (v->val.type == XM_PY_FLOAT) {
        *out = xend_sxp_atom_double(v->val.f);
        return 0;
    }
    if (v->val.type == XM_PY_STR && v->val.s[0] != '\0') {
        char *e;
        errno = 0;
        double d = strtod(v->val.s, &e);
        if (*e == '\0' && errno == 0) {
            *out = xend_sxp_atom_double(d);
            return 0;
        }
        if (v->cmdline)
            return var_err(b, v, "Invalid value: %s", v->val.s);
    }
    return var_err(b, v, "%s: expected a number", name);
}

static int get_bool(struct build *b, const char *name, bool *out)
{
    *out = false;
    const struct xm_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XM_PY_INT || v->val.type == XM_PY_BOOL) {
        *out = v->val.i != 0;
        return 0;
    }
    if (v->val.type == XM_PY_STR) {
        static const char *const yes[] = {"yes", "1", "true", "on"};
        static const char *const no[] = {"no", "0", "false", "off", ""};
        for (size_t i = 0; i < 4; i++)
            if (strcasecmp(v->val.s, yes[i]) == 0)
                return *out = true, 0;
        for (size_t i = 0; i < 5; i++)
            if (strcasecmp(v->val.s, no[i]) == 0)
                return 0;
        return var_err(b, v, "Invalid value:%s", v->val.s);
    }
    return var_err(b, v, "%s: expected yes or no", name);
}

/* A list of strings; *v_out is the variable (for messages), NULL when unset. */
static int get_list(struct build *b, const char *name, const struct xm_pyvar **v_out)
{
    const struct xm_pyvar *v = get_var(b, name);
    *v_out = v;
    if (v == NULL)
        return 0;
    if (v->val.type == XM_PY_LIST || v->val.type == XM_PY_TUPLE) {
        for (size_t i = 0; i < v->val.n; i++)
            if (v->val.items[i].type != XM_PY_STR)
                return var_err(b, v, "%s: expected a list of strings", name);
        return 0;
    }
    return var_err(b, v, "%s: expected a list of strings", name);
}

/* ---- pieces of the config ---------------------------------------------------------- */

static char *split_next(char **p, char sep)
{
    char *s = *p;
    if (s == NULL)
        return NULL;
    char *e = strchr(s, sep);
    if (e != NULL) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = NULL;
    }
    return s;
}

static char *strip(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* A kernel or ramdisk made absolute; relative ones missing from the current directory are
 * tried beside the config file, so that a shipped example runs from anywhere. */
static char *resolve_image(struct build *b, const char *path)
{
    char *abs = xm_abspath(path);
    if (path[0] == '/' || access(abs, F_OK) == 0 || b->ctx->config_dir == NULL)
        return abs;
    char *joined = xend_xasprintf("%s/%s", b->ctx->config_dir, path);
    char *alt = xm_abspath(joined);
    free(joined);
    if (access(alt, F_OK) == 0) {
        free(abs);
        return alt;
    }
    free(alt);
    return abs;
}

static uint32_t default_random(void *arg)
{
    (void)arg;
    uint32_t r;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)rand();
    return r;
}

static int add_disks(struct build *b, struct xend_sxp *vm)
{
    const struct xm_pyvar *v;
    int rc = get_list(b, "disk", &v);
    for (size_t i = 0; rc == 0 && v != NULL && i < v->val.n; i++) {
        const char *spec = v->val.items[i].s;
        char *copy = xend_xstrdup(spec), *p = copy;
        char *f[5];
        int n = 0;
        while (p != NULL && n < 5)
            f[n++] = split_next(&p, ',');
        if (p != NULL || (n != 3 && n != 4)) {
            rc = var_err(b, v, "Invalid disk specifier: %s", spec);
        } else {
            struct xend_sxp *vbd = xend_sxp_list_of("vbd", NULL);
            xend_sxp_append_take(vbd, xend_sxp_list_of("uname", f[0], NULL));
            xend_sxp_append_take(vbd, xend_sxp_list_of("dev", f[1], NULL));
            xend_sxp_append_take(vbd, xend_sxp_list_of("mode", f[2], NULL));
            if (n == 4 && f[3][0] != '\0')
                xend_sxp_append_take(vbd, xend_sxp_list_of("backend", f[3], NULL));
            xend_sxp_add_kv_take(vm, "device", vbd);
        }
        free(copy);
    }
    return rc;
}

static bool is_hex(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (strchr("0123456789abcdefABCDEF", *s) == NULL)
            return false;
    return true;
}

static int add_pcis(struct build *b, struct xend_sxp *vm)
{
    const struct xm_pyvar *v;
    int rc = get_list(b, "pci", &v);
    for (size_t i = 0; rc == 0 && v != NULL && i < v->val.n; i++) {
        const char *spec = v->val.items[i].s;
        char *copy = xend_xstrdup(spec), *p = copy;
        char *f[4];
        int n = 0;
        while (p != NULL && n < 4)
            f[n++] = strip(split_next(&p, ','));
        if (p != NULL || n != 3 || !is_hex(f[0]) || !is_hex(f[1]) || !is_hex(f[2])) {
            rc = var_err(b, v, "Invalid pci specifier: %s", spec);
        } else {
            /* the components are hex: the 2.0 xm sent them with a 0x prefix */
            static const char *const keys[] = {"bus", "dev", "func"};
            struct xend_sxp *pci = xend_sxp_list_of("pci", NULL);
            for (int k = 0; k < 3; k++)
                xend_sxp_add_kv_take(pci, keys[k], xend_sxp_atom_fmt("0x%s", f[k]));
            xend_sxp_add_kv_take(vm, "device", pci);
        }
        free(copy);
    }
    return rc;
}

static int add_vifs(struct build *b, struct xend_sxp *vm)
{
    static const char *const keys[] = {"mac", "bridge", "script", "backend", "ip"};
    const struct xm_pyvar *v;
    bool set;
    long long nics = 1;
    int rc = get_list(b, "vif", &v);
    if (rc == 0)
        rc = get_int(b, "nics", &set, &nics);
    if (rc < 0)
        return rc;
    if (!set)
        nics = 1;
    size_t nvif = v != NULL ? v->val.n : 0;
    long long count = nics > (long long)nvif ? nics : (long long)nvif;
    if (count > 1024)
        return var_err(b, xm_pyvars_get(b->vars, "nics"), "nics: too many interfaces");
    for (long long i = 0; rc == 0 && i < count; i++) {
        char *vals[5] = {NULL};
        char *copy = NULL;
        if ((size_t)i < nvif) {
            const char *spec = v->val.items[i].s;
            copy = xend_xstrdup(spec);
            char *p = copy;
            while (rc == 0 && p != NULL) {
                char *kv = strip(split_next(&p, ','));
                if (kv[0] == '\0')
                    continue; /* vif = [''] asks for an interface with defaults */
                char *eq = strchr(kv, '=');
                size_t k = 0;
                if (eq != NULL) {
                    *eq = '\0';
                    char *key = strip(kv);
                    for (; k < 5 && strcmp(key, keys[k]) != 0; k++)
                        ;
                }
                if (eq == NULL || k == 5)
                    rc = var_err(b, v, "Invalid vif specifier: %s", spec);
                else
                    vals[k] = strip(eq + 1);
            }
        }
        if (rc == 0) {
            char mac[18];
            if (vals[0] == NULL || vals[0][0] == '\0') {
                xm_random_mac(b->ctx->random != NULL ? b->ctx->random(b->ctx->random_arg)
                                                     : default_random(NULL),
                              mac);
                vals[0] = mac;
            }
            struct xend_sxp *vif = xend_sxp_list_of("vif", NULL);
            for (size_t k = 0; k < 5; k++)
                if (vals[k] != NULL && vals[k][0] != '\0')
                    xend_sxp_append_take(vif, xend_sxp_list_of(keys[k], vals[k], NULL));
            xend_sxp_add_kv_take(vm, "device", vif);
        }
        free(copy);
    }
    return rc;
}

/* The (ip IP:NFS:GW:MASK:HOST:IF:DHCP) kernel parameter, or NULL when not wanted. */
static int make_ip(struct build *b, char **out)
{
    static const char *const names[] = {"ip",       "nfs_server", "gateway", "netmask",
                                        "hostname", "interface",  "dhcp"};
    char *v[7] = {NULL};
    int rc = 0;
    for (int i = 0; i < 7 && rc == 0; i++)
        rc = get_str(b, names[i], &v[i]);
    *out = NULL;
    if (rc == 0) {
        const char *dhcp = v[6] != NULL ? v[6] : "off";
        if ((v[0] != NULL && v[0][0] != '\0') || strcmp(dhcp, "off") != 0) {
            *out = xend_xasprintf("%s:%s:%s:%s:%s:%s:%s", v[0] ? v[0] : "",
                                  v[1] && v[1][0] ? v[1] : "1.2.3.4", v[2] ? v[2] : "",
                                  v[3] ? v[3] : "", v[4] ? v[4] : "", v[5] ? v[5] : "eth0", dhcp);
        }
    }
    for (int i = 0; i < 7; i++)
        free(v[i]);
    return rc;
}

static const char *strip_prefix(const char *s, const char *pre)
{
    size_t n = strlen(pre);
    return strncmp(s, pre, n) == 0 ? s + n : s;
}

static int make_image(struct build *b, struct xend_sxp *vm)
{
    char *kernel = NULL, *ramdisk = NULL, *builder = NULL, *root = NULL, *extra = NULL;
    char *nfs_root = NULL, *nfs_server = NULL, *ip = NULL;
    int rc = get_str(b, "kernel", &kernel);
    if (rc == 0 && (kernel == NULL || kernel[0] == '\0'))
        rc = xend_err_set(b->err, XEND_EINVAL, "No kernel specified");
    if (rc == 0)
        rc = get_str(b, "ramdisk", &ramdisk);
    if (rc == 0)
        rc = get_str(b, "builder", &builder);
    if (rc == 0)
        rc = get_str(b, "root", &root);
    if (rc == 0)
        rc = get_str(b, "extra", &extra);
    if (rc == 0)
        rc = get_str(b, "nfs_root", &nfs_root);
    if (rc == 0)
        rc = get_str(b, "nfs_server", &nfs_server);
    if (rc == 0)
        rc = make_ip(b, &ip);
    if (rc == 0 && nfs_root != NULL && nfs_root[0] != '\0') {
        if (nfs_server == NULL || nfs_server[0] == '\0') {
            rc = xend_err_set(b->err, XEND_EINVAL, "Must set nfs root and nfs server");
        } else {
            char *e = xend_xasprintf("nfsroot=%s:%s %s", nfs_server, nfs_root,
                                     extra != NULL ? extra : "");
            free(extra);
            extra = e;
        }
    }
    if (rc == 0) {
        struct xend_sxp *img =
            xend_sxp_list_of(builder != NULL && builder[0] != '\0' ? builder : "linux", NULL);
        char *abs = resolve_image(b, kernel);
        xend_sxp_add_kv(img, "kernel", abs);
        free(abs);
        if (ramdisk != NULL && ramdisk[0] != '\0') {
            abs = resolve_image(b, ramdisk);
            xend_sxp_add_kv(img, "ramdisk", abs);
            free(abs);
        }
        if (ip != NULL)
            xend_sxp_add_kv(img, "ip", strip_prefix(ip, "ip="));
        if (root != NULL && root[0] != '\0')
            xend_sxp_add_kv(img, "root", strip_prefix(root, "root="));
        if (extra != NULL && extra[0] != '\0')
            xend_sxp_add_kv(img, "args", extra);
        xend_sxp_add_kv_take(vm, "image", img);
    }
    free(kernel);
    free(ramdisk);
    free(builder);
    free(root);
    free(extra);
    free(nfs_root);
    free(nfs_server);
    free(ip);
    return rc;
}

static int make_head(struct build *b, struct xend_sxp *vm)
{
    char *name = NULL, *restart = NULL;
    long long memory = 128, maxmem, cpu, console;
    bool set_mem, set_max, set_cpu, set_console, blkif, netif;
    struct xend_sxp *weight = NULL;
    int rc = get_str(b, "name", &name);
    if (rc == 0 && (name == NULL || name[0] == '\0') && b->ctx->defconfig != NULL) {
        free(name);
        const char *base = strrchr(b->ctx->defconfig, '/');
        name = xend_xstrdup(base != NULL ? base + 1 : b->ctx->defconfig);
    }
    if (rc == 0)
        rc = get_int(b, "memory", &set_mem, &memory);
    if (rc == 0)
        rc = get_int(b, "maxmem", &set_max, &maxmem);
    if (rc == 0)
        rc = get_int(b, "cpu", &set_cpu, &cpu);
    if (rc == 0)
        rc = get_number(b, "cpu_weight", &weight);
    if (rc == 0)
        rc = get_bool(b, "blkif", &blkif);
    if (rc == 0)
        rc = get_bool(b, "netif", &netif);
    if (rc == 0)
        rc = get_str(b, "restart", &restart);
    if (rc == 0)
        rc = get_int(b, "console", &set_console, &console);
    if (rc == 0) {
        xend_sxp_add_kv(vm, "name", name != NULL ? name : "");
        xend_sxp_add_kv_int(vm, "memory", set_mem ? memory : 128);
        if (set_max && maxmem != 0)
            xend_sxp_add_kv_int(vm, "maxmem", maxmem);
        if (set_cpu)
            xend_sxp_add_kv_int(vm, "cpu", cpu);
        if (weight != NULL) {
            xend_sxp_add_kv_take(vm, "cpu_weight", weight);
            weight = NULL;
        }
        if (blkif)
            xend_sxp_add_kv_take(vm, "backend", xend_sxp_list_of("blkif", NULL));
        if (netif)
            xend_sxp_add_kv_take(vm, "backend", xend_sxp_list_of("netif", NULL));
        if (restart != NULL && restart[0] != '\0')
            xend_sxp_add_kv(vm, "restart", restart);
        if (set_console && console != 0)
            xend_sxp_add_kv_int(vm, "console", console);
    }
    xend_sxp_free(weight);
    free(name);
    free(restart);
    return rc;
}

int xm_mkconfig_build(const struct xm_pyvars *vars, const struct xm_build_ctx *ctx,
                      struct xend_sxp **out, struct xend_err *err)
{
    struct build b = {.vars = vars, .ctx = ctx, .err = err};
    struct xend_sxp *vm = xend_sxp_list_of("vm", NULL);
    int rc = make_head(&b, vm);
    if (rc == 0)
        rc = make_image(&b, vm);
    if (rc == 0)
        rc = add_disks(&b, vm);
    if (rc == 0)
        rc = add_pcis(&b, vm);
    if (rc == 0)
        rc = add_vifs(&b, vm);
    if (rc < 0) {
        xend_sxp_free(vm);
        *out = NULL;
        return rc;
    }
    *out = vm;
    return 0;
}
