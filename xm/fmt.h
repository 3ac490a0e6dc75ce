/*
 * Output formats of xm, exactly as the 2.0 client printed them: the `xm list` table, the
 * `xm info` lines, the `xm consoles` table, one-line and pretty-printed SXP.
 *
 * Formats into buffers only; never writes to a stream and never talks to xend.
 */
#ifndef XM_FMT_H
#define XM_FMT_H

#include "buf.h"
#include "sxp.h"

/* "Name              Id  Mem(MB)  CPU  State  Time(s)  Console\n" */
void xm_fmt_list_header(struct xend_buf *out);

/* One `xm list` row of a domain info SXP:
 * "%-16s %3d  %7d  %3d  %5s  %7.1f    %4s\n" of name, id, memory, cpu, state, cpu_time and
 * console port, with the 2.0 defaults ("??", -1, 0, "") for missing fields. */
void xm_fmt_list_row(const struct xend_sxp *info, struct xend_buf *out);

/* The `xm list` row for scripts, with the same fields and defaults as the text row:
 * JSON {"name": S, "id": N, "memory": N, "cpu": N, "state": S, "cpu_time": F,
 * "console_port": N or null} (names and states always strings), or SXP
 * (domain (name S) (id N) ...). form is XM_OUT_JSON or XM_OUT_SXP. */
void xm_fmt_list_item(const struct xend_sxp *info, int form, struct xend_buf *out);

/* `xm domid` / `xm domname` for scripts: {"id": N, "name": S} or (domain (id N) (name S)),
 * then a newline; a missing field is null (SXP: None). info may be NULL. */
void xm_fmt_id_name(const struct xend_sxp *info, int form, struct xend_buf *out);

/* `xm info`: "%-23s: VALUE\n" for each child of (node ...). */
void xm_fmt_info(const struct xend_sxp *node, struct xend_buf *out);

/* "Dom Port  Id Connection\n" */
void xm_fmt_consoles_header(struct xend_buf *out);

/* "%3s %4s %3s %s\n" of domain, console_port, id and "host:port" of (connected ...). */
void xm_fmt_console_row(const struct xend_sxp *console, struct xend_buf *out);

/* The value compactly on one line, then a newline (python: sxp.show(x); print). */
void xm_fmt_line(const struct xend_sxp *v, struct xend_buf *out);

/* The value pretty-printed over several lines, then a newline (PrettyPrint.prettyprint). */
void xm_fmt_pretty(const struct xend_sxp *v, struct xend_buf *out);

/* The text form of a value: an atom's text, or a list printed compactly. */
void xm_fmt_text(const struct xend_sxp *v, struct xend_buf *out);

#endif
