/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Libraries loaded at run time (host/xml.c: libxml2, virt/virt.c: libvirt), the same way:
 * every symbol is called through a pointer of its own declared type (GP_DL_POINTER), so the
 * headers still type each call, and GP_DL_RESOLVE fills one from dlsym, noting the first that
 * is missing. GP_DL_RESOLVE expects, where it is used: a `bool ok` that stays true while all
 * resolve, the `void *handle` of the dlopen, the library's `soname`, and a `char dl_error[]`
 * for the reason.
 */
#ifndef GPUPART_HOST_DL_H
#define GPUPART_HOST_DL_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>

#define GP_DL_POINTER(f) static __typeof__(f) *dl_##f;

#define GP_DL_RESOLVE(f)                                                                     \
	if (ok && !(*(void **)&dl_##f = dlsym(handle, #f))) {                                \
		snprintf(dl_error, sizeof(dl_error), "%s has no %s", soname, #f);            \
		ok = false;                                                                  \
	}

#endif
