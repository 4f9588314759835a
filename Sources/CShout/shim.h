#ifndef FLOE_CSHOUT_SHIM_H
#define FLOE_CSHOUT_SHIM_H
#include <shout/shout.h>
#endif
