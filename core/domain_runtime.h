/*
 * The settings of a running instance that its config does not hold: the memory target
 * (mem_target_set, xm balloon) and the cpu vcpu 0 is pinned to (pincpu). Maximum memory,
 * vcpus and scheduler parameters live in the config, which travels anyway. The domain's
 * record carries them as (runtime (mem_target_kb N) (cpu N)): mem_target_set and pincpu
 * write it, a start reads it back, and the receiver of a save or migration applies it once
 * the domain is made, before it runs (docs/durability.md).
 */
#ifndef XEND_CORE_DOMAIN_RUNTIME_H
#define XEND_CORE_DOMAIN_RUNTIME_H

#include "domain_table.h"

/* Append (runtime ...) to a record: every domain record carries it, so that an xend
 * restart keeps it and a save or migration sends it. */
void xend_domain_runtime_add(const struct xend_domain *dom, struct xend_sxp *record);
/* Take it back from a stored record of a running instance (it has them already). */
void xend_domain_runtime_load(struct xend_domain *dom, const struct xend_sxp *record);
/* Apply a received record's (runtime ...) to dom's new instance (failures are logged: the
 * domain is there, with its config's values). */
void xend_domain_runtime_apply(struct xend_domain *dom, const struct xend_sxp *record);
/* A new instance from the config (create, restart): nothing changed yet. */
void xend_domain_runtime_reset(struct xend_domain *dom);

#endif
