/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Temporary: what base/internal.h declared before the rooms (issue 9), re-exported for the
 * files not yet converted to include their rooms' headers. It breaks the layering (base may
 * depend on src/shared only), which tests/unit/test-layers.py allows for this file alone, by
 * name, until it is deleted.
 */
#ifndef GPUPART_BASE_COMPAT_H
#define GPUPART_BASE_COMPAT_H

#include <gpupart/model.h>

#include "host/kernel.h"
#include "host/procfd.h"
#include "model/pci-addr.h"

#endif
