/*
 * The domain config builder of `xm create` (see mkconfig.h).
 */
#include "xmconfig.h"

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
        (n), (v), (u), (d), (t)                                                                    \
    }

/* The variables of the 2.0 xm create, in its order, with its help texts and defaults. */
const struct xend_xmvar_spec xend_xmconfig_vars[] = {
    VAR("name", XEND_XMVAR_STR, "NAME", "Domain name. Must be unique.", NULL),
    VAR("kernel", XEND_XMVAR_STR, "FILE", "Path to kernel image.", NULL),
    VAR("ramdisk", XEND_XMVAR_STR, "FILE", "Path to ramdisk.", NULL),
    VAR("builder", XEND_XMVAR_STR, "FUNCTION", "Function to use to build the domain.", "linux"),
    VAR("memory", XEND_XMVAR_INT, "MEMORY", "Domain memory in MB.", "128"),
    VAR("maxmem", XEND_XMVAR_INT, "MEMORY", "Maximum domain memory in MB.", NULL),
    VAR("cpu", XEND_XMVAR_INT, "CPU", "CPU to run the domain on.", NULL),
    VAR("cpu_weight", XEND_XMVAR_FLOAT, "WEIGHT",
        "Set the new domain's cpu weight.\n"
        "WEIGHT is a float that controls the domain's share of the cpu.",
        NULL),
    VAR("console", XEND_XMVAR_INT, "PORT", "Console port to use. Default is 9600 + domain id.",
        NULL),
    VAR("restart", XEND_XMVAR_STR, "onreboot|always|never",
        "Whether the domain should be restarted on exit.\n"
        "- onreboot: restart on exit with shutdown code reboot\n"
        "- always:   always restart on exit, ignore exit code\n"
        "- never:    never restart on exit, ignore exit code",
        NULL),
    VAR("blkif", XEND_XMVAR_BOOL, "no|yes", "Make the domain a block device backend.", NULL),
    VAR("netif", XEND_XMVAR_BOOL, "no|yes", "Make the domain a network interface backend.", NULL),
    VAR("disk", XEND_XMVAR_LIST, "phy:DEV,VDEV,MODE[,DOM]",
        "Add a disk device to a domain. The physical device is DEV,\n"
        "which is exported to the domain as VDEV. The disk is read-only if MODE\n"
        "is 'r', read-write if MODE is 'w'. If DOM is specified it defines the\n"
        "backend driver domain to use for the disk.\n"
        "The option may be repeated to add more than one disk.",
        NULL),
    VAR("pci", XEND_XMVAR_LIST, "BUS,DEV,FUNC",
        "Add a PCI device to a domain, using given params (in hex).\n"
        "For example 'pci=c0,02,1a'.\n"
        "The option may be repeated to add more than one pci device.",
        NULL),
    VAR("ipaddr", XEND_XMVAR_LIST, "IPADDR", "Add an IP address to the domain.", NULL),
    VAR("vif", XEND_XMVAR_LIST, "mac=MAC,bridge=BRIDGE,script=SCRIPT,backend=DOM,ip=IPADDR",
        "Add a network interface with the given MAC address and bridge.\n"
        "The vif is configured by calling the given configuration script.\n"
        "If mac is not specified a random MAC address is used.\n"
        "If bridge is not specified the default bridge is used.\n"
        "If script is not specified the default script is used.\n"
        "If backend is not specified the default backend driver domain is used.\n"
        "This option may be repeated to add more than one vif.\n"
        "Specifying vifs will increase the number of interfaces as needed.",
        NULL),
    VAR("nics", XEND_XMVAR_INT, "NUM",
        "Set the number of network interfaces.\n"
        "Use the vif option to define interface parameters, otherwise\n"
        "defaults are used. Specifying vifs will increase the\n"
        "number of interfaces as needed.",
        "1"),
    VAR("root", XEND_XMVAR_STR, "DEVICE",
        "Set the root= parameter on the kernel command line.\n"
        "Use a device, e.g. /dev/sda1, or /dev/nfs for NFS root.",
        NULL),
    VAR("extra", XEND_XMVAR_STR, "ARGS",
        "Set extra arguments to append to the kernel command line.", NULL),
    VAR("ip", XEND_XMVAR_STR, "IPADDR", "Set the kernel IP interface address.", NULL),
    VAR("gateway", XEND_XMVAR_STR, "IPADDR", "Set the kernel IP gateway.", NULL),
    VAR("netmask", XEND_XMVAR_STR, "MASK", "Set the kernel IP netmask.", NULL),
    VAR("hostname", XEND_XMVAR_STR, "NAME", "Set the kernel IP hostname.", NULL),
    VAR("interface", XEND_XMVAR_STR, "INTF", "Set the kernel IP interface name.", "eth0"),
    VAR("dhcp", XEND_XMVAR_STR, "off|dhcp", "Set the kernel dhcp option.", "off"),
    VAR("nfs_server", XEND_XMVAR_STR, "IPADDR", "Set the address of the NFS server for NFS root.",
        NULL),
    VAR("nfs_root", XEND_XMVAR_STR, "PATH", "Set the path of the root NFS directory.", NULL),
};

const size_t xend_xmconfig_nvars = sizeof(xend_xmconfig_vars) / sizeof(xend_xmconfig_vars[0]);

const struct xend_xmvar_spec *xend_xmconfig_var(const char *name)
{
    for (size_t i = 0; i < xend_xmconfig_nvars; i++)
        if (strcmp(xend_xmconfig_vars[i].name, name) == 0)
            return &xend_xmconfig_vars[i];
    return NULL;
}

size_t xend_xmconfig_unknown_vars(const struct xend_pyvars *vars,
                                  void (*fn)(void *arg, int line, const char *msg), void *arg)
{
    const char **names = xend_xcalloc(xend_xmconfig_nvars, sizeof(*names));
    for (size_t i = 0; i < xend_xmconfig_nvars; i++)
        names[i] = xend_xmconfig_vars[i].name;
    size_t n = 0;
    for (size_t i = 0; i < vars->n; i++) {
        const struct xend_pyvar *v = &vars->v[i];
        if (v->cmdline || v->read || v->line == 0 || xend_xmconfig_var(v->name) != NULL)
            continue;
        const char *best = xend_suggest(v->name, names, xend_xmconfig_nvars);
        char msg[256];
        if (best != NULL)
            snprintf(msg, sizeof(msg), "unknown variable '%s'; did you mean '%s'?", v->name, best);
        else
            snprintf(msg, sizeof(msg), "unknown variable '%s'", v->name);
        fn(arg, v->line, msg);
        n++;
    }
    free(names);
    return n;
}

struct unknown_out {
    const char *file;
    bool strict;
    struct xend_buf *warnings;
    struct xend_err *err;
    int rc;
};

static void unknown_out(void *arg, int line, const char *msg)
{
    struct unknown_out *u = arg;
    if (u->strict && u->rc == 0)
        u->rc = xend_err_set(u->err, XEND_EINVAL, "%s:%d: %s", u->file, line, msg);
    else if (!u->strict)
        xend_buf_printf(u->warnings, "Warning: %s:%d: %s\n", u->file, line, msg);
}

int xend_xmconfig_check_vars(const struct xend_pyvars *vars, const char *file, bool strict,
                             struct xend_buf *warnings, struct xend_err *err)
{
    struct unknown_out u = {file, strict, warnings, err, 0};
    xend_xmconfig_unknown_vars(vars, unknown_out, &u);
    return u.rc;
}

void xend_random_mac(uint32_t r, char out[18])
{
    snprintf(out, 18, "aa:00:00:%02x:%02x:%02x", (unsigned)((r >> 16) & 0x7f),
             (unsigned)((r >> 8) & 0xff), (unsigned)(r & 0xff));
}

char *xend_abspath(const char *path)
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
    const struct xend_pyvars *vars;
    const struct xend_xmconfig_ctx *ctx;
    struct xend_err *err;
};

/* An error about variable v: "FILE:LINE: " first when it came from the file. */
__attribute__((format(printf, 3, 4))) static int
var_err(struct build *b, const struct xend_pyvar *v, const char *fmt, ...)
{
    char msg[XEND_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (b->ctx->problem != NULL)
        b->ctx->problem(b->ctx->problem_arg, v != NULL ? v->line : 0, msg);
    if (v != NULL && v->line > 0 && b->ctx->file != NULL)
        return xend_err_set(b->err, XEND_EINVAL, "%s:%d: %s", b->ctx->file, v->line, msg);
    return xend_err_set(b->err, XEND_EINVAL, "%s", msg);
}
#ifdef __clang_analyzer__
/* As for xend_err_set (abi.h): the analyzer does not follow a variadic call. */
#define var_err(...) xend_err_negative((var_err)(__VA_ARGS__))
#endif

static const struct xend_pyvar *get_var(struct build *b, const char *name)
{
    const struct xend_pyvar *v = xend_pyvars_get(b->vars, name);
    return v != NULL && v->val.type != XEND_PY_NONE ? v : NULL;
}

/* A string variable: numbers are taken as their text, as the SXP would show them. Returns
 * 0 and *out (owned, NULL when unset or None), or an error. */
static int get_str(struct build *b, const char *name, char **out)
{
    *out = NULL;
    const struct xend_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XEND_PY_STR || v->val.type == XEND_PY_INT || v->val.type == XEND_PY_FLOAT) {
        struct xend_buf s = XEND_BUF_INIT;
        xend_pyval_str(&v->val, false, &s);
        *out = s.data != NULL ? xend_buf_steal(&s) : xend_xstrdup("");
        return 0;
    }
    return var_err(b, v, "%s: expected a string", name);
}

static int get_int(struct build *b, const char *name, bool *set, long long *out)
{
    *set = false;
    const struct xend_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XEND_PY_INT || v->val.type == XEND_PY_BOOL) {
        *out = v->val.i;
    } else if (v->val.type != XEND_PY_STR || !xend_sxp_text_int(v->val.s, out)) {
        if (v->cmdline && v->val.type == XEND_PY_STR)
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
    const struct xend_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XEND_PY_INT && !v->cmdline) {
        *out = xend_sxp_atom_int(v->val.i);
        return 0;
    }
    if (v->val.type == XEND_PY_FLOAT) {
        *out = xend_sxp_atom_double(v->val.f);
        return 0;
    }
    if (v->val.type == XEND_PY_STR && v->val.s[0] != '\0') {
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
    const struct xend_pyvar *v = get_var(b, name);
    if (v == NULL)
        return 0;
    if (v->val.type == XEND_PY_INT || v->val.type == XEND_PY_BOOL) {
        *out = v->val.i != 0;
        return 0;
    }
    if (v->val.type == XEND_PY_STR) {
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
static int get_list(struct build *b, const char *name, const struct xend_pyvar **v_out)
{
    const struct xend_pyvar *v = get_var(b, name);
    *v_out = v;
    if (v == NULL)
        return 0;
    if (v->val.type == XEND_PY_LIST || v->val.type == XEND_PY_TUPLE) {
        for (size_t i = 0; i < v->val.n; i++)
            if (v->val.items[i].type != XEND_PY_STR)
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
    char *abs = xend_abspath(path);
    if (path[0] == '/' || b->ctx->absolute_only || access(abs, F_OK) == 0 ||
        b->ctx->config_dir == NULL)
        return abs;
    char *joined = xend_xasprintf("%s/%s", b->ctx->config_dir, path);
    char *alt = xend_abspath(joined);
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
        /* NOLINTNEXTLINE(cert-msc30-c): without getrandom; a MAC must differ, not be secret */
        r = (uint32_t)rand();
    return r;
}

static int add_disks(struct build *b, struct xend_sxp *vm)
{
    const struct xend_pyvar *v;
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
    const struct xend_pyvar *v;
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
    const struct xend_pyvar *v;
    bool set = false;
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
        return var_err(b, xend_pyvars_get(b->vars, "nics"), "nics: too many interfaces");
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
                xend_random_mac(b->ctx->random != NULL ? b->ctx->random(b->ctx->random_arg)
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

/* A relative kernel or ramdisk where the reader cannot resolve it (absolute_only). */
static int check_absolute(struct build *b, const char *name, const char *path)
{
    if (!b->ctx->absolute_only || path == NULL || path[0] == '\0' || path[0] == '/')
        return 0;
    return var_err(b, xend_pyvars_get(b->vars, name),
                   "%s: %s is a relative path: give the absolute path on the xend host", name,
                   path);
}

static int make_image(struct build *b, struct xend_sxp *vm)
{
    char *kernel = NULL, *ramdisk = NULL, *builder = NULL, *root = NULL, *extra = NULL;
    char *nfs_root = NULL, *nfs_server = NULL, *ip = NULL;
    int rc = get_str(b, "kernel", &kernel);
    if (rc == 0 && (kernel == NULL || kernel[0] == '\0'))
        rc = var_err(b, NULL, "No kernel specified");
    if (rc == 0)
        rc = check_absolute(b, "kernel", kernel);
    if (rc == 0)
        rc = get_str(b, "ramdisk", &ramdisk);
    if (rc == 0)
        rc = check_absolute(b, "ramdisk", ramdisk);
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
            rc = var_err(b, NULL, "Must set nfs root and nfs server"); /* the 2.0 text */
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

int xend_xmconfig_build(const struct xend_pyvars *vars, const struct xend_xmconfig_ctx *ctx,
                        struct xend_sxp **out, struct xend_err *err)
{
    struct build b = {.vars = vars, .ctx = ctx, .err = err};
    struct xend_sxp *vm = xend_sxp_list_of("vm", NULL);
    /* Each part on its own when problems are collected: one pass reports them all. */
    int (*const parts[])(struct build *, struct xend_sxp *) = {make_head, make_image, add_disks,
                                                               add_pcis, add_vifs};
    int rc = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (rc < 0 && ctx->problem == NULL)
            break;
        int prc = parts[i](&b, vm);
        if (rc == 0)
            rc = prc;
    }
    if (rc < 0) {
        xend_sxp_free(vm);
        *out = NULL;
        return rc;
    }
    *out = vm;
    return 0;
}

const char *xend_xmconfig_element_var(const struct xend_sxp *e, const struct xend_pyvars *vars)
{
    static const char *const same[] = {"name",    "memory",  "maxmem",    "cpu",
                                       "restart", "console", "cpu_weight"};
    const char *head = xend_sxp_name(e);
    if (head == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (strcmp(head, same[i]) == 0)
            return same[i];
    const char *inner = xend_sxp_name(xend_sxp_nth(e, 1));
    if (strcmp(head, "image") == 0)
        return "kernel";
    if (strcmp(head, "backend") == 0)
        return inner; /* blkif, netif */
    if (strcmp(head, "device") == 0 && inner != NULL) {
        if (strcmp(inner, "vbd") == 0)
            return "disk";
        if (strcmp(inner, "pci") == 0)
            return "pci";
        if (strcmp(inner, "vif") == 0)
            return xend_pyvars_get(vars, "vif") != NULL ? "vif" : "nics";
    }
    return NULL;
}

void xend_xmconfig_print_lines(const struct xend_sxp *vm, struct xend_buf *out)
{
    xend_buf_putc(out, '(');
    for (size_t i = 0; i < xend_sxp_length(vm); i++) {
        if (i > 0)
            xend_buf_puts(out, "\n ");
        xend_sxp_print_buf(xend_sxp_nth(vm, i), out);
    }
    xend_buf_puts(out, ")\n");
}
