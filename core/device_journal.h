/*
 * Device changes as records of their own (docs/store.md, "Device records"): a hot-plug,
 * removal or reconfiguration of one device writes a small record keyed by the domain and
 * the device in the store's `device` namespace, instead of rewriting the domain's whole
 * record, so its cost does not grow with the devices the domain already has.
 *
 * Each change carries the domain's next device sequence number (struct xend_domain's
 * device_seq); the domain record carries the number it has folded in
 * (`(devices (seq N) ...)`), so a change is applied at load only when it is newer than the
 * record, whatever order the store made the two durable in. Any later write of the domain
 * record folds the changes in. The start applies the changes to their domain records and
 * gives each domain its sequence number back; it deletes the changes that an earlier write
 * of their domain record folded in, and those of domains without a record.
 *
 * Loop thread only.
 */
#ifndef XEND_CORE_DEVICE_JOURNAL_H
#define XEND_CORE_DEVICE_JOURNAL_H

#include <stddef.h>

#include "store/store.h"

struct xend_domain;

/* The store changes go to (borrowed, for xend's life). */
void xend_device_journal_init(struct xend_store *store);

/*
 * Record durably that the device cls/index of dom is now `entry` (a (device (class ..)
 * (index ..) ...) as xend_devices_record prints it, borrowed), or gone (entry NULL).
 * done(arg, rc) runs on the loop once durable or failed; a failure also marks the domain's
 * record failed (its store_error), so the periodic check rewrites the whole record. Returns
 * 0, or a negative code with err set (done is then not called).
 */
int xend_device_journal_put(struct xend_domain *dom, const char *cls, uint32_t index,
                            const struct xend_sxp *entry, xend_store_done_fn *done, void *arg,
                            struct xend_err *err);

/* The sequence number the next change of dom will carry; a device hot-plugged by that
 * change records it as `(added N)` in its entry, so that a restart puts it at the end of
 * the lists, where it went, even when the change of a device removed before under the same
 * index has been superseded by it. */
unsigned long long xend_device_journal_next_seq(const struct xend_domain *dom);

/* Read every stored change, for xend_device_journal_merge. Returns how many, or a negative
 * code with err set. */
int xend_device_journal_load(struct xend_err *err);

/*
 * The domain record `rec` (borrowed) of store key `uuid` with the loaded changes of that
 * domain that are newer than it applied in order (owned), or NULL when none is.
 */
struct xend_sxp *xend_device_journal_merge(const char *uuid, const struct xend_sxp *rec);

/*
 * After the start's load (the domains are in the table): give each loaded domain the
 * highest sequence number its record and changes hold, delete the changes that are older
 * than their record or have no record, and free what load read.
 */
void xend_device_journal_load_done(void);

/*
 * Apply `changes` (n (device_change ...) records, in sequence order, borrowed) to the
 * domain record `rec` (borrowed): the result (owned), with (devices (seq N)) the last
 * applied. Those not newer than the record's seq are skipped. A device present replaces
 * its entry in both lists, unless it was hot-plugged after the record (`(added N)` newer
 * than it): then it replaces any entry of the same class and index (a device removed
 * before) by going to the end of both lists, after the others hot-plugged before it.
 * Pure; for the tests.
 */
struct xend_sxp *xend_device_journal_apply(const struct xend_sxp *rec,
                                           const struct xend_sxp *const *changes, size_t n);

#endif
