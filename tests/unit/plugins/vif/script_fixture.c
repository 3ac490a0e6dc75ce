/* See script_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_host.h"
#include "script_fixture.h"

extern const struct xend_plugin_desc xend_plugin_desc;

char script_dir[64];
char script_logpath[128];
const struct xend_device_ops *ops;
void *ctx;

void script_fixture_setup(const char *who)
{
    snprintf(script_dir, sizeof(script_dir), "/tmp/xend-test-%s-XXXXXX", who);
    assert_non_null(mkdtemp(script_dir));
    snprintf(script_logpath, sizeof(script_logpath), "%s/argv.log", script_dir);
}

int script_fixture_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", script_dir);
    return system(cmd) == 0 ? 0 : -1;
}

void write_script(const char *name, const char *body)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", script_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\nrec=$(for a in \"$0\" \"$@\"; do printf '%%s\\n' \"$a\"; done; "
            "echo ---)\nprintf '%%s\\n' \"$rec\" >> %s\n%s\n",
            script_logpath, body);
    fclose(f);
    chmod(path, 0755);
}

char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return strdup("");
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

char *script_log(void)
{
    return slurp(script_logpath);
}

void reset_log(void)
{
    unlink(script_logpath);
}

char *expect_argv(const char *script, ...)
{
    static char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s/%s\n", script_dir, script);
    va_list ap;
    va_start(ap, script);
    for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *))
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\n", a);
    va_end(ap);
    snprintf(buf + n, sizeof(buf) - n, "---\n");
    return buf;
}

void class_init(const char *cls)
{
    assert_int_equal(fake_host_init_plugin(&xend_plugin_desc), 0);
    ops = fake_host_device_class(cls, &ctx);
    assert_non_null(ops);
}

static void free_priv(struct xend_device *dev, void *arg)
{
    (void)arg;
    ops->free(ctx, dev);
}

const struct xend_host *class_host_new(const char *plugin, struct xend_domain **dom0,
                                       struct xend_domain **vm1, struct xend_domain **vm2)
{
    const struct xend_host *host = fake_host_new(plugin);
    fake_host_dir_set("script", script_dir);
    struct xend_domain *d0 = fake_host_domain_add(0, "Domain-0", NULL);
    struct xend_domain *d1 = fake_host_domain_add(5, "vm1", NULL);
    struct xend_domain *d2 = fake_host_domain_add(7, "vm2", NULL);
    if (dom0)
        *dom0 = d0;
    if (vm1)
        *vm1 = d1;
    if (vm2)
        *vm2 = d2;
    return host;
}

int class_teardown(const struct xend_host *host, const char *cls)
{
    if (ops)
        host->device->foreach (cls, free_priv, NULL);
    ops = NULL;
    fake_host_free();
    return script_fixture_teardown();
}

int attach(struct xend_device *dev, char *msg, size_t msglen)
{
    struct xend_op *op = fake_host_op_new();
    ops->attach(ctx, dev, op);
    int rc = fake_host_op_wait(op, 5000);
    if (msg)
        snprintf(msg, msglen, "%s", rc < 0 ? fake_host_op_msg(op) : "");
    fake_host_op_free(op);
    return rc;
}

int detach(struct xend_device *dev)
{
    struct xend_op *op = fake_host_op_new();
    ops->detach(ctx, dev, XEND_DEV_NORMAL, op);
    int rc = fake_host_op_wait(op, 5000);
    fake_host_op_free(op);
    return rc;
}
