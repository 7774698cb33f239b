/* Slots of the streamed exec calls: a limit per signed-in user, so one
 * user holding its streams open cannot keep every other user's page from
 * streaming, under a moatd-wide ceiling that bounds moatd's threads. */
#include "ext_ui_slots.h"

/* The entry of uid, or -1. */
static int
find (const struct ext_ui_slots *sl, uid_t uid)
{
  for (size_t i = 0; i < sl->nuser; i++)
    if (sl->user[i].uid == uid)
      return (int)i;
  return -1;
}

int
ext_ui_slot_take (struct ext_ui_slots *sl, uid_t uid)
{
  int i = find (sl, uid);

  if (sl->n >= EXT_STREAMS_MAX)
    return -1;
  if (i < 0)
    {
      /* fewer users than slots held: there is room (n < MAX) */
      i = (int)sl->nuser++;
      sl->user[i].uid = uid;
      sl->user[i].n = 0;
    }
  if (sl->user[i].n >= EXT_STREAMS_PER_USER)
    return -1;
  sl->user[i].n++;
  sl->n++;
  return 0;
}

void
ext_ui_slot_give (struct ext_ui_slots *sl, uid_t uid)
{
  int i = find (sl, uid);

  if (i < 0 || sl->user[i].n == 0 || sl->n == 0)
    return;
  sl->n--;
  if (--sl->user[i].n == 0)
    sl->user[i] = sl->user[--sl->nuser];
}
