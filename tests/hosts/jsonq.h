/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading gpupart's JSON in the hosts tests: a GPU of `list --json` and its fields. */
#ifndef GP_TEST_JSONQ_H
#define GP_TEST_JSONQ_H

#include <json-c/json.h>
#include <stddef.h>

/* The object of @root's "gpus" array whose "address" is @addr (borrowed); fails the test when
 * there is none. */
struct json_object *jq_gpu(struct json_object *root, const char *addr);
/* @o's string @key ("(null)" for a JSON null); fails the test when the key is missing. */
const char *jq_str(struct json_object *o, const char *key);
/* @o's integer @key; fails the test when it is missing or null. */
long long jq_num(struct json_object *o, const char *key);
/* "32,20,16": @g's valid_partition_counts, into @buf. */
void jq_counts(struct json_object *g, char *buf, size_t len);

#endif
