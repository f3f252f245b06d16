/* hookloop.h - umbrella header: everything hookloop offers an application. */
#ifndef HOOKLOOP_H
#define HOOKLOOP_H

#include "hookloop/error.h"
#include "hookloop/loop.h"
#include "hookloop/hooks.h"
#include "hookloop/context.h"
#include "hookloop/timer.h"
#include "hookloop/tick.h"
#include "hookloop/promise.h"
#include "hookloop/process.h"
#include "hookloop/http.h"

#endif
