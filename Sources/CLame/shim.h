#ifndef FLOE_CLAME_SHIM_H
#define FLOE_CLAME_SHIM_H
#include <lame/lame.h>
#endif
