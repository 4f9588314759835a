#ifndef FLOE_CMPG123_SHIM_H
#define FLOE_CMPG123_SHIM_H
#include <mpg123.h>
#include <out123.h>

/// mpg123_param is a macro alias in some mpg123 versions; Swift cannot import macros that expand to calls.
static inline int floe_mpg123_param(mpg123_handle *handle, enum mpg123_parms type, long value, double fvalue) {
    return mpg123_param(handle, type, value, fvalue);
}
#endif
