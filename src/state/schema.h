#ifndef MOAT_STATE_SCHEMA_H
#define MOAT_STATE_SCHEMA_H

#include <stddef.h>

size_t schema_n_migrations (void);
const char *schema_migration (size_t i);

#endif
