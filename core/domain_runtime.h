/*
 * The settings of a running instance that its config does not hold: the memory target
 * (mem_target_set, xm balloon) and the cpu vcpu 0 is pinned to (pincpu). Maximum memory,
 * vcpus and scheduler parameters live in the config, which travels anyway. A save or
 * migration record carries them as (runtime (mem_target_kb N) (cpu N)), and the receiving
 * side applies them once the domain is made, before it runs (docs/durability.md).
 */
#ifndef XEND_CORE_DOMAIN_RUNTIME_H
#define XEND_CORE_DOMAIN_RUNTIME_H

#include "domain.h"

/* Append (runtime ...) to a record being sent. */
void xend_domain_runtime_add(const struct xend_domain *dom, struct xend_sxp *record);
/* Apply a received record's (runtime ...) to dom's new instance (failures are logged: the
 * domain is there, with its config's values). */
void xend_domain_runtime_apply(struct xend_domain *dom, const struct xend_sxp *record);
/* A new instance from the config (create, restart): nothing changed yet. */
void xend_domain_runtime_reset(struct xend_domain *dom);

#endif
