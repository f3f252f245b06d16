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
#include "hookloop/stream.h"
#include "hookloop/dns.h"
#include "hookloop/fs.h"
#include "hookloop/work.h"
#include "hookloop/module.h"
#include "hookloop/signal.h"
#include "hookloop/listener.h"
#include "hookloop/app.h"
#include "hookloop/http.h"

#endif
