/* The PAC helper functions (src/pac/pac_helpers.js), embedded. */
#ifndef MOAT_PAC_HELPERS_H
#define MOAT_PAC_HELPERS_H

#include <stddef.h>

extern const char pac_helpers_js[];
extern const size_t pac_helpers_js_len;

#endif
