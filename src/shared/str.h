/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small string and number parsers. Strict by default: a parser accepts exactly the text it
 * describes (no sign, no blank, no trailing byte) and says -EINVAL otherwise, so that a file
 * gpupart reads back is either what it wrote or refused.
 */
#ifndef GPUPART_SHARED_STR_H
#define GPUPART_SHARED_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A copy of @s without leading and trailing blanks (space, tab, newline); NULL on ENOMEM. */
char *gp_strdup_trim(const char *s);

/* Two optional strings (NULL = absent) are the same. */
static inline bool gp_str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * A name as the kernel's driver core spells a driver (its directory under
 * /sys/bus/pci/drivers) or an mdev type ("nvidia-555"): 1 to 63 letters, digits, '_', '-'
 * and '.', and not "." or "..": never a path.
 */
bool gp_str_is_name(const char *s);

/* Exactly @n hex digits (either case) at *s, advanced past them; -EINVAL otherwise (and *s
 * unchanged). */
int gp_parse_hexn(const char **s, size_t n, unsigned *out);

/* How gp_parse_dec reads a number. */
enum gp_dec_flags {
	/* no leading zero ("0" itself is fine): the one spelling gpupart prints, so that a
	 * record that differs from what was written is refused rather than read */
	GP_DEC_CANONICAL = 1 << 0,
};
/*
 * A decimal number of digits only (no sign, no blank, not empty), at most @max. Returns 0,
 * -EINVAL (not such a number, or a leading zero under GP_DEC_CANONICAL) or -ERANGE (above
 * @max).
 */
int gp_parse_dec(const char *s, unsigned long long max, unsigned flags, unsigned long long *out);
/* The same into an int, @max at most INT_MAX. */
int gp_parse_dec_int(const char *s, int max, unsigned flags, int *out);

/*
 * A CPU list as the kernel prints it (cpulist: "0-3,8") or libvirt takes it (cpuset: also
 * "^N" to exclude N after the ranges that include it): bit i of @cpus[0..n) set for each CPU.
 * Pure. Returns how many are set, or -EINVAL (a malformed list, a CPU >= @n).
 */
int gp_cpulist_parse(const char *s, unsigned char *cpus, size_t n);

#endif
