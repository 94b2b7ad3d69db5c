/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What virt.c shares with virt/domain.c: loading libvirt, its errors, the uses query. */
#ifndef GPUPART_VIRT_INTERNAL_H
#define GPUPART_VIRT_INTERNAL_H

#include <gpupart/virt.h>

/* libvirt (and libxml2) loaded and initialised once, its printing silenced, an event loop
 * for an embedded URI: 0 or -errno (logged). */
int gp_virt_prepare(struct gp_ctx *ctx, const char *uri);
/* virt.c's handle of libvirt (after gp_virt_prepare), for domain.c's own symbols. */
void *gp_virt_handle(void);
/* A connection's errors go to the context, not stderr (@conn: a virConnectPtr). */
void gp_virt_quiet(void *conn);
/* libvirt's last error message. */
const char *gp_virt_msg(void);
/* virConnectOpen* failed: -ECONNREFUSED (nothing there) or -EIO, logged. */
int gp_virt_open_error(struct gp_ctx *ctx, const char *uri);
/* gp_virt_find_users' query, in this process (a bounded child's). */
int gp_virt_find_users_here(struct gp_ctx *ctx, const char *uri, const char *const *pci,
			    size_t n_pci, const char *const *mdev, size_t n_mdev,
			    struct gp_virt_use **v, size_t *n);

/* The domain step's payload (virt/payload.c): "fns=A,B window=N bits=N restart=0|1
 * shutdown=MS" (attach, detach) or "parts=pci/ADDR,mdev/UUID restart=0|1 shutdown=MS"
 * (assign, unassign) into @a, the strings it points to in *@v (free with gp_strv_free).
 * 0, -EINVAL, -ENOMEM. */
int gp_virt_payload_dda(const char *line, struct gp_virt_dda *a, char ***v, size_t *n);
int gp_virt_payload_parts(const char *line, struct gp_virt_dda *a, char ***v, size_t *n);

#endif
