/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GP_VIRT_TEST_HELPERS_H
#define GP_VIRT_TEST_HELPERS_H

#include <stdarg.h>

#include <gpupart/gpupart.h>
#include <gpupart/virt.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MDEV_UUID "c2177883-f1bb-47f0-914d-32a22e3a8804"
#define UUID_A "11111111-2222-4333-8444-555555555555"

double now(void);

/* stderr (fd 2) into a temp file: the library must never print, libvirt and libxml2 included */
struct cap {
	int saved;
	char path[32];
};
void cap_begin(struct cap *c);
char *cap_end(struct cap *c); /* what was printed, static buffer */

/* a context on "/" logging everything into logbuf */
extern char logbuf[4096];
struct gp_ctx *new_ctx(void);

/* a short temp dir (the QEMU driver puts sockets beneath it), removed by rm_tmpdir */
extern char tmpdir[64];
void mk_tmpdir(void);
void rm_tmpdir(void);

/* the UUID of the use of @dev by domain @dom, or NULL */
const char *find_use(struct gp_virt_use *u, int n, const char *dom, const char *dev);

#endif
