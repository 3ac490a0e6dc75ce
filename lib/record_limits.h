/*
 * One set of limits for a domain's record, whoever writes or reads it: create, configure and
 * device changes check a config against them; the store refuses to write, and its loader
 * refuses to read, a record beyond them; save and migration check the record they send and
 * their image reader reads with them. So nothing is acknowledged that a reader would later
 * set aside as damaged (docs/durability.md).
 *
 * A record wraps the config two lists deeper: (domain_record ... (config (vm ...))), and
 * holds each device's part of the config a second time (devices ... (device ... (config
 * (CLASS ...)))), at the same depth as in the config.
 */
#ifndef XEND_LIB_RECORD_LIMITS_H
#define XEND_LIB_RECORD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>
#include <xend/sxp.h>

#define XEND_RECORD_MAX_DEPTH 64 /* nesting of a whole record, as the parser counts it */
#define XEND_RECORD_WRAP_DEPTH 2 /* (domain_record (config CONFIG)) */
#define XEND_CONFIG_MAX_DEPTH (XEND_RECORD_MAX_DEPTH - XEND_RECORD_WRAP_DEPTH)
#define XEND_CONFIG_MAX_BYTES (1u << 20) /* a (vm ...) config, printed */
#define XEND_CONFIG_MAX_NODES 100000u
/* The config, the devices' copies of their parts of it, and the record's own fields. */
#define XEND_RECORD_MAX_BYTES (2u * XEND_CONFIG_MAX_BYTES + (64u << 10))
#define XEND_RECORD_MAX_NODES (2u * XEND_CONFIG_MAX_NODES + 10000u)

/* What a reader of records parses with (an atom is never larger than its config). */
extern const struct xend_sxp_limits xend_record_limits;

/*
 * Check `v`, whose printed text is `bytes` long, against the limits of a config (config
 * true) or of a whole record. 0, or -XEND_ELIMIT with err set ("config nested 63 deep: at
 * most 62, as its record wraps it 2 deeper").
 */
int xend_record_check(const struct xend_sxp *v, size_t bytes, bool config, struct xend_err *err);

#endif
