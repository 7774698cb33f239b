/* Slots of the streamed exec calls (ext_ui_slots.c): how many run at once,
 * per signed-in user and in all of moatd (docs/extensions.md, "Streamed
 * exec"). */
#ifndef MOAT_DAEMON_EXT_UI_SLOTS_H
#define MOAT_DAEMON_EXT_UI_SLOTS_H

#include <stddef.h>
#include <sys/types.h>

/* One user holds at most EXT_STREAMS_PER_USER streamed runs; moatd at most
 * EXT_STREAMS_MAX, whoever holds them. */
#define EXT_STREAMS_PER_USER 16
#define EXT_STREAMS_MAX 64

struct ext_ui_slots
{
  size_t n; /* held in all */
  /* the users holding one or more; no more of them than slots */
  struct
  {
    uid_t uid;
    unsigned n;
  } user[EXT_STREAMS_MAX];
  size_t nuser;
};

/* Take a slot for uid: 0, or -1 when uid holds EXT_STREAMS_PER_USER
 * already or moatd EXT_STREAMS_MAX.  Not locked: the caller's lock. */
int ext_ui_slot_take (struct ext_ui_slots *sl, uid_t uid);
/* Give back a slot uid took. */
void ext_ui_slot_give (struct ext_ui_slots *sl, uid_t uid);

#endif
