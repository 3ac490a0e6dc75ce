/*
 * The domain config builder of `xm create`: turns the variables of a config file and of the
 * command line into the (vm ...) SXP that xend's create takes, exactly as the 2.0 xm built
 * it (docs/xm.md): same variables and defaults, same element order, kernel and
 * ramdisk made absolute here on the client, vifs without a mac given a random aa:00:00 one,
 * disks as TYPE:DEV,VDEV,MODE[,DOM].
 *
 * Never talks to xend and never checks what only the server can know (that a kernel exists
 * on its host, that a device is free).
 */
#ifndef XEND_LIB_XMCONFIG_H
#define XEND_LIB_XMCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#include "buf.h"
#include "pyconf.h"
#include "sxp.h"

enum xend_xmvar_type {
    XEND_XMVAR_STR,
    XEND_XMVAR_INT,
    XEND_XMVAR_FLOAT,
    XEND_XMVAR_BOOL,
    XEND_XMVAR_LIST
};

/* A variable xm create understands: its help entry and its type. */
struct xend_xmvar_spec {
    const char *name;
    const char *val;  /* placeholder shown in help (FILE, NAME...) */
    const char *use;  /* help text; lines separated by '\n' */
    const char *dflt; /* default shown in help, NULL shows None */
    enum xend_xmvar_type type;
};

extern const struct xend_xmvar_spec xend_xmconfig_vars[];
extern const size_t xend_xmconfig_nvars;

/* The spec of variable `name`, or NULL when xm create does not know it. */
const struct xend_xmvar_spec *xend_xmconfig_var(const char *name);

struct xend_xmconfig_ctx {
    const char *file;              /* the config file, for messages; NULL when none */
    const char *config_dir;        /* its directory: a relative kernel not found from the current
                                      directory is looked up there; NULL for none */
    const char *defconfig;         /* the default name is its basename; may be NULL */
    uint32_t (*random)(void *arg); /* random source for macs; NULL = getrandom() */
    void *random_arg;
    /* The reader is not where the file's paths mean something (xend reading an uploaded
     * config): a relative kernel or ramdisk is a problem instead of being made absolute. */
    bool absolute_only;
    /* When set, every problem is also reported here, its message without "FILE:LINE: "
     * (line 0: not tied to a variable of the file), and the build goes on with the next
     * part of the config (head, image, disks, pcis, vifs) so that one pass finds them all;
     * the first is still the error returned. */
    void (*problem)(void *arg, int line, const char *msg);
    void *problem_arg;
};

/*
 * Build the (vm ...) config. Returns 0 and *out (owned), or -XEND_EINVAL with err set:
 * a problem with a variable of the file reads "FILE:LINE: NAME: expected a string"; the
 * 2.0 messages are kept otherwise ("No kernel specified", "Invalid disk specifier: X").
 */
int xend_xmconfig_build(const struct xend_pyvars *vars, const struct xend_xmconfig_ctx *ctx,
                        struct xend_sxp **out, struct xend_err *err);

/*
 * The unknown variables above for `file`, each a line "Warning: FILE:LINE: unknown variable
 * 'memroy'; did you mean 'memory'?" added to warnings, or, with strict, the first is the error
 * (-XEND_EINVAL). Returns 0 otherwise.
 */
/*
 * Call fn for each variable the file set that xm create does not know and no expression of
 * the file read (a helper such as vmid is read): a typo, whose value would be silently
 * ignored. msg is "unknown variable 'memroy'; did you mean 'memory'?" (borrowed for the
 * call). Returns how many there were.
 */
size_t xend_xmconfig_unknown_vars(const struct xend_pyvars *vars,
                                  void (*fn)(void *arg, int line, const char *msg), void *arg);

int xend_xmconfig_check_vars(const struct xend_pyvars *vars, const char *file, bool strict,
                             struct xend_buf *warnings, struct xend_err *err);

/* The variable of vars that element `e` of a (vm ...) built by xend_xmconfig_build came
 * from ("name", "kernel" for the image, "disk" for a vbd...), so that a problem with the
 * element can name the line of the file; NULL when none did. */
const char *xend_xmconfig_element_var(const struct xend_sxp *e, const struct xend_pyvars *vars);

/* vm printed with each element on a line of its own (line N holds element N - 1, the head
 * on line 1), so that a reader's line numbers say which element they are about. */
void xend_xmconfig_print_lines(const struct xend_sxp *vm, struct xend_buf *out);

/* "aa:00:00:XX:XX:XX" from 23 random bits (the 4th byte below 0x80, as in 2.0). */
void xend_random_mac(uint32_t r, char out[18]);

/* python's os.path.abspath: relative to the current directory, normalised. Owned. */
char *xend_abspath(const char *path);

#endif
