/*
 * What the unit tests of the script-running plugins (vif, vbd, vnet) share: a temporary
 * script-dir whose scripts record their argv (one argument a line, then ---) in a log the
 * test reads, and the device-class calls of vif and vbd, waited for on the fake host.
 * Compiled into each of those tests, as devscript.c is into the plugins. Tests only: it
 * uses cmocka's asserts and never cleans up anything but its own directory.
 */
#ifndef XEND_TEST_SCRIPT_FIXTURE_H
#define XEND_TEST_SCRIPT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <xend/device.h>
#include <xend/host.h>

extern char script_dir[64];      /* the script-dir, set by script_fixture_setup */
extern char script_logpath[128]; /* where the recording scripts write */

/* Make /tmp/xend-test-WHO-XXXXXX and name the log in it. */
void script_fixture_setup(const char *who);
/* Remove the directory; 0, or -1 when that failed. */
int script_fixture_teardown(void);

/* A script `name` in script_dir that records its argv in one write (so scripts running at
 * once cannot interleave their records), then runs the shell text `body`. */
void write_script(const char *name, const char *body);
/* The contents of path (owned, "" when it does not exist). */
char *slurp(const char *path);
/* The recorded argv blocks so far (owned). */
char *script_log(void);
void reset_log(void);
/* The argv block a recording script writes for script_dir/script + the arguments (a
 * NULL-terminated list). Points into a static buffer, valid until the next call. */
char *expect_argv(const char *script, ...) __attribute__((sentinel));

/* ---- device classes (vif, vbd) ---- */

extern const struct xend_device_ops *ops; /* the class under test, after class_init */
extern void *ctx;

/* The fake host for plugin `plugin` with script_dir as its script-dir and the domains
 * Domain-0 (0), vm1 (5) and vm2 (7) (pointers stored where not NULL). */
const struct xend_host *class_host_new(const char *plugin, struct xend_domain **dom0,
                                       struct xend_domain **vm1, struct xend_domain **vm2);
/* Free every device's state of class `cls`, the fake host and script_dir: 0, or -1. */
int class_teardown(const struct xend_host *host, const char *cls);
/* Init the plugin compiled into the test and find its class `cls`. */
void class_init(const char *cls);
/* attach / detach, waited for (5 s); msg gets the error text of a failure. */
int attach(struct xend_device *dev, char *msg, size_t msglen);
int detach(struct xend_device *dev);

#endif
