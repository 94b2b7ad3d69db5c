/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs `gpupart hook qemu DOMAIN OPERATION SUBOP -` as libvirt does (src/util/virhook.c):
 * the domain XML on stdin, stdout and stderr captured (or stdout closed), the time it took.
 * Domain XML for the tests, built the way libvirt writes it.
 */
#ifndef GP_TEST_HRUN_H
#define GP_TEST_HRUN_H

#include <stdbool.h>
#include <stddef.h>

struct hrun {
	int status;   /* exit status, or 128+signal */
	char *out, *err;
	long ms;      /* wall time */
};

enum {
	H_REAL = 1 << 0,         /* the real gpupart binary, not gpupart-fake (no fake kernel) */
	H_STDOUT_CLOSED = 1 << 1, /* the hook's stdout is closed (libvirt ignoring it) */
	H_STDIN_OPEN = 1 << 2,   /* stdin is never closed (until the hook exits) */
	H_VERBOSE = 1 << 3,      /* -v */
};

/* The hook with @xml on stdin; @env: "K=V" strings (NULL-terminated) or NULL. */
int hook(struct hrun *h, const char *root, const char *xml, const char *domain, const char *op,
	 const char *subop, unsigned flags, const char *const *env);
void hrun_free(struct hrun *h);

/* A domain's XML: @devs "pci ADDR" or "mdev UUID" (with assign's alias when @alias), NULL
 * terminated; @pad bytes of <description> (a big XML); @dda: gpupart's attach record in its
 * metadata. Free it. */
char *dom_xml(const char *name, const char *uuid, const char *const *devs, bool alias,
	      size_t pad, bool dda);

/* @s, freed by h_free_owned (the suites' .fini): for the readers' strings (manifest, rd,
 * lnk, conf_of) asserted on inline. */
char *h_own(char *s);
void h_free_owned(void);

/* ROOT/run/gpupart/reservations/DEVICE's text, NULL when there is none. */
char *record_of(const char *root, const char *device);
/* Writes a record by hand (as assign would have). */
void put_record(const char *root, const char *device, const char *uuid, const char *domain,
		const char *gpu, int partition);
/* How many records there are. */
int n_records(const char *root);

#endif
