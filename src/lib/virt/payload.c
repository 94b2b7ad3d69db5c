/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure parts of the domain edits (virt-internal.h): whether a URI names this host, and
 * the domain step's payload (kinds/domain.c writes it into the journal's plan) read back into
 * the change virt/domain.c makes. No libvirt here.
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "base/internal.h"
#include "virt/virt-internal.h"

bool gp_virt_uri_is_local(const char *uri)
{
	const char *p = uri ? strstr(uri, "://") : NULL, *end, *at;
	size_t len;

	if (!p)
		return true; /* the default URI, or an alias: libvirt's local default */
	p += 3;
	end = p + strcspn(p, "/?");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') /* an IPv6 literal */
		len = strcspn(p, "]") + 1;
	else
		len = strcspn(p, ":/?");
	if (p + len > end)
		len = (size_t)(end - p);
	return len == 0 || (len == 9 && !strncasecmp(p, "localhost", 9)) ||
	       (len == 9 && !strncmp(p, "127.0.0.1", 9)) || (len == 5 && !strncmp(p, "[::1]", 5));
}

/* "fns=A,B window=N bits=N restart=0|1 shutdown=MS" into @a (the strings in @fns). */
int gp_virt_payload_dda(const char *line, struct gp_virt_dda *a, char ***fns, size_t *n)
{
	char list[512], *p, *save = NULL;
	unsigned long long window;
	int restart, r = 0;

	if (sscanf(line, "fns=%511s window=%llu bits=%d restart=%d shutdown=%d", list, &window,
		   &a->phys_bits, &restart, &a->shutdown_ms) != 5)
		return -EINVAL;
	a->window_bytes = window;
	a->restart = restart;
	for (p = strtok_r(list, ",", &save); p && r >= 0; p = strtok_r(NULL, ",", &save)) {
		char *f = strdup(p);

		r = f ? gp_strv_push(fns, n, f) : -ENOMEM;
	}
	a->fns = (const char *const *)*fns;
	a->n_fns = *n;
	return r;
}

/* "parts=pci/ADDR,mdev/UUID restart=0|1 shutdown=MS" (kinds/domain.c) into @a: each part as
 * gp_domxml_part_hostdev takes it ("pci ADDR"), in @parts. */
int gp_virt_payload_parts(const char *line, struct gp_virt_dda *a, char ***parts, size_t *n)
{
	char list[4096], *p, *save = NULL;
	int restart, r = 0;

	if (sscanf(line, "parts=%4095s restart=%d shutdown=%d", list, &restart,
		   &a->shutdown_ms) != 3)
		return -EINVAL;
	a->restart = restart;
	for (p = strtok_r(list, ",", &save); p && r >= 0; p = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(p, '/'), *s;

		if (!slash || (strncmp(p, "pci/", 4) && strncmp(p, "mdev/", 5)))
			return -EINVAL;
		*slash = ' ';
		s = strdup(p);
		r = s ? gp_strv_push(parts, n, s) : -ENOMEM;
	}
	a->parts = (const char *const *)*parts;
	a->n_parts = *n;
	return r < 0 ? r : *n ? 0 : -EINVAL;
}
