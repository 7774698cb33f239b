/* The extensions' UIs in the dashboard (ext_ui_role.c). */
#ifndef MOAT_DAEMON_EXT_UI_H
#define MOAT_DAEMON_EXT_UI_H

#include "ext_ui_slots.h"
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

/* Streamed exec calls (ext_ui_stream.c): at most EXT_STREAMS_PER_USER at
 * once per signed-in user, EXT_STREAMS_MAX in all (ext_ui_slots.h). */
int ext_ui_stream_init (struct io_loop *loop, struct web **web,
                        const char *dir, const char *engine_sock,
                        const char *guard_sock);
/* Start the run of call (an exec call with stream: true) for uid; its
 * frames go to the connection of tag.  -1: too many (for uid or in
 * all), or no memory. */
int ext_ui_stream_start (uid_t uid, const char *name, json_t *call,
                         uint64_t tag);
/* The connection of tag closed: cancel its run. */
void ext_ui_stream_closed (uint64_t tag);
/* (the loop's thread) Hand queued frames to their connections. */
void ext_ui_stream_drain (void);
/* Cancel every run and wait for them. */
void ext_ui_stream_stop (void);

#endif
