/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Strict readers of the journal fields the kinds share (kinds/fields.h): exactly the form
 * the encoders print, so that a record that differs is refused rather than guessed at.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "base/internal.h"
#include "kinds/fields.h"
#include "model/pci-addr.h"

int gp_kind_rec_name(const char *tok, const char *key, char **out)
{
	const char *v;

	*out = NULL;
	if (gp_rec_kv(tok, key, &v) < 0 || (v && !gp_str_is_name(v)))
		return -EINVAL;
	if (v && !(*out = strdup(v)))
		return -ENOMEM;
	return 0;
}

/* RFC 9562 text form: 8-4-4-4-12 hex digits. */
bool gp_kind_rec_is_uuid(const char *s)
{
	int i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		/* lowercase only: sysfs names mdevs so, and a step naming another spelling
		 * would never verify */
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* A PCI address in exactly the form gpupart writes ("0000:4e:00.1"). */
bool gp_kind_rec_is_addr(const char *s)
{
	struct gp_pci_addr a;
	char canon[GP_ADDR_LEN];

	return strlen(s) < GP_ADDR_LEN && gp_pci_addr_parse(s, &a) == 0 &&
	       strcmp(gp_pci_addr_format(&a, canon), s) == 0;
}

int gp_kind_rec_idpair(const char *tok, const char *key, int *a, int *b)
{
	const char *v, *p;
	unsigned x, y;

	if (gp_rec_kv(tok, key, &v) < 0 || !v || strlen(v) != 9 || v[4] != ':')
		return -EINVAL;
	p = v;
	if (gp_parse_hexn(&p, 4, &x) < 0 || *p++ != ':' || gp_parse_hexn(&p, 4, &y) < 0 || *p)
		return -EINVAL;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

