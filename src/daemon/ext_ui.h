/* The extensions' UIs in the dashboard (ext_ui_role.c). */
#ifndef MOAT_DAEMON_EXT_UI_H
#define MOAT_DAEMON_EXT_UI_H

#include "internal.h"
#include "web/web.h"

/* Fill the extension callbacks of the dashboard's ops. */
void moatd_ext_ui_ops (struct web_ops *ops);
/* The worker pool; results come back through loop's wake-ups
 * (moatd_ext_ui_drain as the loop's on_wake), answered on *web. */
int moatd_ext_ui_start (struct moatd *d, struct io_loop *loop,
                        struct web **web, moat_error_t *err);
void moatd_ext_ui_drain (struct io_loop *l, void *ctx);
void moatd_ext_ui_stop (struct moatd *d);

#endif
