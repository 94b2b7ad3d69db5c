/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "jsonq.h"

struct json_object *jq_gpu(struct json_object *root, const char *addr)
{
	struct json_object *gpus, *a;
	size_t i;

	cr_assert(json_object_object_get_ex(root, "gpus", &gpus), "no gpus");
	for (i = 0; i < json_object_array_length(gpus); i++) {
		struct json_object *g = json_object_array_get_idx(gpus, i);

		if (json_object_object_get_ex(g, "address", &a) &&
		    !strcmp(json_object_get_string(a), addr))
			return g;
	}
	cr_assert_fail("%s not listed", addr);
	return NULL;
}

const char *jq_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return v ? json_object_get_string(v) : "(null)";
}

long long jq_num(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v) && v, "no %s", key);
	return (long long)json_object_get_int64(v);
}

void jq_counts(struct json_object *g, char *buf, size_t len)
{
	struct json_object *v;
	size_t i;

	buf[0] = 0;
	cr_assert(json_object_object_get_ex(g, "valid_partition_counts", &v));
	for (i = 0; i < json_object_array_length(v); i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "",
			 json_object_get_int(json_object_array_get_idx(v, i)));
}
