/* Refusal texts of moat's public contract (shared/DESIGN.md, "messages").
 *
 * Every refusal a client sees starts with REFUSAL_PREFIX.  The texts of each
 * part live in that part's section below, so that one place shows what a
 * client can be told.  Keep the sections apart: each is owned by one part of
 * the code. */
#ifndef MOAT_COMMON_REFUSAL_H
#define MOAT_COMMON_REFUSAL_H

#define REFUSAL_PREFIX "enhanced container isolation: "

/* ---- engine guard: request framing, routes, command lists ---- */

/* ---- ECI checks of container, volume and network bodies ---- */

/* ---- archive (docker cp) ---- */

/* ---- docker socket exceptions ---- */

/* ---- moat-runc bind policy ---- */

#endif
