/*
 * The per-domain parameters of the BVT family (Duda and Cheriton's BVT and Xen 2.0's fair
 * variant FBVT take the same ones), as entries of a struct xend_sched_param array, so the
 * two schedulers' schemas cannot drift apart. Included by plugins/sched/bvt and /fbvt.
 */
#ifndef XEND_SCHED_BVT_PARAMS_H
#define XEND_SCHED_BVT_PARAMS_H

#include <xend/sched.h>

/* clang-format off */
#define XEND_BVT_DOMAIN_PARAMS \
    {.name = "mcuadv", \
     .scope = XEND_SCHED_DOMAIN, \
     .min = 1, \
     .max = 1000000, \
     .dflt = 10, \
     .unit = "", \
     .doc = "MCU advance: the inverse of the weight; cpu share is proportional to 1/mcuadv"}, \
    {.name = "warpback", \
     .scope = XEND_SCHED_DOMAIN, \
     .min = 0, \
     .max = 1, \
     .dflt = 0, \
     .optional = true, \
     .unit = "", \
     .doc = "1: the domain warps (borrows virtual time) when it wakes"}, \
    {.name = "warpvalue", \
     .alias = "warp", \
     .scope = XEND_SCHED_DOMAIN, \
     .min = 0, \
     .max = 100000000, \
     .dflt = 0, \
     .unit = "", \
     .doc = "how much virtual time a warped domain borrows, in MCUs (100 us) at mcuadv 1"}, \
    {.name = "warpl", \
     .scope = XEND_SCHED_DOMAIN, \
     .min = 0, \
     .max = 3600000, \
     .dflt = 2000, \
     .unit = "ms", \
     .doc = "warp limit: the longest a domain runs warped"}, \
    {.name = "warpu", \
     .scope = XEND_SCHED_DOMAIN, \
     .min = 0, \
     .max = 3600000, \
     .dflt = 1000, \
     .unit = "ms", \
     .doc = "unwarp requirement: how long after hitting the limit before it warps again"},

/* The node's parameter of both (Xen 2.0's bvt and fbvt each have a ctx_allow). */
#define XEND_BVT_NODE_PARAMS \
    {.name = "ctx_allow", \
     .scope = XEND_SCHED_NODE, \
     .min = 100000, \
     .max = 10000000000, \
     .dflt = 5000000, \
     .unit = "ns", \
     .doc = "context-switch allowance: how far ahead the running domain may get before it yields"},
/* clang-format on */

#endif
