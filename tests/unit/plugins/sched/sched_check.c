/* Shared checks for the scheduler plugin tests (sched_check.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "sched_check.h"

const struct xend_sched_ops *sched_check_load(const struct xend_plugin_desc *desc, const char *name)
{
    assert_non_null(fake_host_new(desc->name));
    assert_int_equal(fake_host_init_plugin(desc), 0);
    void *ctx = NULL;
    const struct xend_sched_ops *ops = fake_host_sched(name, &ctx);
    assert_non_null(ops);
    return ops;
}

void sched_check_unload(void)
{
    fake_host_free();
}

const struct xend_sched_param *sched_check_param(const struct xend_sched_ops *ops, const char *name)
{
    for (size_t i = 0; i < ops->nparams; i++)
        if (strcmp(ops->params[i].name, name) == 0)
            return &ops->params[i];
    fail_msg("%s has no parameter %s", ops->name, name);
    return NULL;
}

static size_t count(const char *const *l)
{
    size_t n = 0;
    while (l != NULL && l[n] != NULL)
        n++;
    return n;
}

void sched_check_ops(const char *const *got, const char *const *want)
{
    assert_int_equal(count(got), count(want));
    for (size_t i = 0; i < count(want); i++)
        assert_string_equal(got[i], want[i]);
}

void sched_check_schema(const struct xend_sched_ops *ops)
{
    assert_int_equal(ops->size, sizeof(struct xend_sched_ops));
    assert_int_equal(ops->flags, 0);
    assert_non_null(ops->params);
    assert_non_null(ops->domain_ops);
    assert_true(count(ops->domain_ops) + count(ops->node_ops) > 0);
    for (size_t i = 0; i < ops->nparams; i++) {
        const struct xend_sched_param *p = &ops->params[i];
        assert_non_null(p->name);
        assert_non_null(p->unit);
        assert_non_null(p->doc);
        assert_true(strlen(p->doc) > 10);
        assert_true(p->min <= p->dflt && p->dflt <= p->max);
        assert_true(p->scope == XEND_SCHED_DOMAIN || p->scope == XEND_SCHED_NODE);
        /* A scope's parameters must be settable by some op of that scope. */
        if (p->scope == XEND_SCHED_DOMAIN)
            assert_true(count(ops->domain_ops) > 0);
        else
            assert_true(count(ops->node_ops) > 0);
        for (size_t j = 0; j < ops->nparams; j++) {
            const struct xend_sched_param *q = &ops->params[j];
            if (j != i)
                assert_string_not_equal(p->name, q->name);
            if (q->alias != NULL)
                assert_string_not_equal(p->name, q->alias);
        }
    }
}

int sched_check_validate(const struct xend_sched_ops *ops, const struct xend_sched_value *v,
                         size_t n, char *msg, size_t msg_len)
{
    struct xend_err err = {0};
    assert_non_null(ops->validate);
    int rc = ops->validate(NULL, XEND_SCHED_DOMAIN, v, n, &err);
    snprintf(msg, msg_len, "%s", rc < 0 ? xend_err_msg(&err) : "");
    if (rc < 0)
        assert_int_equal(err.code, -rc);
    return rc;
}
