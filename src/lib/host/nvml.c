/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVML, asked in a child process bounded in time (host/nvml.h). The one file that loads
 * libnvidia-ml.so.1 (tests/unit/test-layers.py holds it to that).
 *
 * Why a child (base/child.h): NVML talks to the GPU through the driver, and a wedged GPU
 * (fallen off the bus, an Xid storm, a stuck GSP) makes nvmlInit and its queries block in the
 * kernel for minutes, or for good; `list` must not. The child loads the library, asks, sends
 * the answers through a pipe and exits; the parent waits at most GP_NVML_TIMEOUT_MS_DEFAULT,
 * then kills it (a child stuck uninterruptibly in the kernel is left to its fate, never waited
 * for) and the scan goes on with the other sources. Nothing NVML starts (threads, its locks)
 * lives in gpupart itself.
 *
 * The answer is a stream of records: 'G' and a struct gp_nvml_gpu per GPU asked (in order),
 * each followed by its n_types 'T' records (struct gp_nvml_type), then 'R', the result
 * (int32, 0 or -errno) and a message of 128 bytes. Parent and child are one binary.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>

#include "base/child.h"
#include "host/nvml.h"

#define NVML_SONAME "libnvidia-ml.so.1"
#define MAX_TYPES 1024 /* NVIDIA's boards list a few dozen types; more is garbage */

/*
 * The NVML API as NVIDIA's nvml.h declares it (the header ships with the CUDA toolkit,
 * cuda-nvml-dev; "NVML API Reference Guide", docs.nvidia.com/deploy/nvml-api): only what is
 * used here. nvmlReturn_t is an enum of int size; the codes are nvml.h's.
 */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef unsigned int nvmlVgpuTypeId_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_DEVICE_MIG_ENABLE 1
#define INVALID_GPU_INSTANCE_PROFILE_ID 0xFFFFFFFFu
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_VGPU_NAME_BUFFER_SIZE 64
/* nvmlVgpuHeterogeneousMode_v1_t; its version is NVML_STRUCT_VERSION(VgpuHeterogeneousMode, 1),
 * the struct's size | 1 << 24 */
typedef struct {
	unsigned int version;
	unsigned int mode;
} nvmlVgpuHeterogeneousMode_v1_t;
#define nvmlVgpuHeterogeneousMode_v1 0x1000008u

struct nvml_api {
	nvmlReturn_t (*init)(void);                                 /* nvmlInit_v2 */
	nvmlReturn_t (*shutdown)(void);                             /* nvmlShutdown */
	const char *(*error_string)(nvmlReturn_t);                  /* nvmlErrorString */
	nvmlReturn_t (*by_bus_id)(const char *, nvmlDevice_t *);    /* ..._HandleByPciBusId_v2 */
	nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);   /* nvmlDeviceGetName */
	nvmlReturn_t (*mig_mode)(nvmlDevice_t, unsigned int *current, unsigned int *pending);
	nvmlReturn_t (*supported)(nvmlDevice_t, unsigned int *count, nvmlVgpuTypeId_t *ids);
	nvmlReturn_t (*type_name)(nvmlVgpuTypeId_t, char *, unsigned int *size);
	nvmlReturn_t (*type_class)(nvmlVgpuTypeId_t, char *, unsigned int *size);
	nvmlReturn_t (*type_fb)(nvmlVgpuTypeId_t, unsigned long long *bytes);
	nvmlReturn_t (*type_max)(nvmlDevice_t, nvmlVgpuTypeId_t, unsigned int *count);
	nvmlReturn_t (*type_gi_profile)(nvmlVgpuTypeId_t, unsigned int *profile_id);
	/* vGPU 17 and later only: mixed-size mode */
	nvmlReturn_t (*hetero)(nvmlDevice_t, nvmlVgpuHeterogeneousMode_v1_t *);
};

static const struct {
	const char *sym;
	size_t off;
	bool optional;
} api_syms[] = {
	{ "nvmlInit_v2", offsetof(struct nvml_api, init), false },
	{ "nvmlShutdown", offsetof(struct nvml_api, shutdown), false },
	{ "nvmlErrorString", offsetof(struct nvml_api, error_string), false },
	{ "nvmlDeviceGetHandleByPciBusId_v2", offsetof(struct nvml_api, by_bus_id), false },
	{ "nvmlDeviceGetName", offsetof(struct nvml_api, name), false },
	{ "nvmlDeviceGetMigMode", offsetof(struct nvml_api, mig_mode), false },
	{ "nvmlDeviceGetSupportedVgpus", offsetof(struct nvml_api, supported), false },
	{ "nvmlVgpuTypeGetName", offsetof(struct nvml_api, type_name), false },
	{ "nvmlVgpuTypeGetClass", offsetof(struct nvml_api, type_class), false },
	{ "nvmlVgpuTypeGetFramebufferSize", offsetof(struct nvml_api, type_fb), false },
	{ "nvmlVgpuTypeGetMaxInstances", offsetof(struct nvml_api, type_max), false },
	{ "nvmlVgpuTypeGetGpuInstanceProfileId", offsetof(struct nvml_api, type_gi_profile),
	  false },
	{ "nvmlDeviceGetVgpuHeterogeneousMode", offsetof(struct nvml_api, hetero), true },
};

/* ---- the child ---- */

static int load_api(void **h, const char *path, struct nvml_api *api, char *msg, size_t len)
{
	size_t i;

	*h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*h) {
		snprintf(msg, len, "%s", dlerror());
		return -ENOENT;
	}
	for (i = 0; i < ARRAY_SIZE(api_syms); i++) {
		void *f = dlsym(*h, api_syms[i].sym);

		if (!f && !api_syms[i].optional) {
			snprintf(msg, len, "%s lacks %s", path, api_syms[i].sym);
			return -ENOSYS;
		}
		memcpy((char *)api + api_syms[i].off, &f, sizeof(f));
	}
	return 0;
}

static void fail(struct gp_nvml_gpu *g, const struct nvml_api *api, const char *what,
		 nvmlReturn_t rc)
{
	g->status = rc == NVML_ERROR_NOT_FOUND ? -ENODEV : -EIO;
	snprintf(g->error, sizeof(g->error), "%s: %s", what, api->error_string(rc));
}

/* One vGPU type's facts; what NVML does not give stays empty. */
static void ask_type(const struct nvml_api *api, nvmlDevice_t dev, nvmlVgpuTypeId_t id,
		     struct gp_nvml_type *t)
{
	unsigned int size, max = 0, profile = INVALID_GPU_INSTANCE_PROFILE_ID;
	unsigned long long fb = 0;

	memset(t, 0, sizeof(*t));
	t->id = id;
	size = sizeof(t->name);
	if (api->type_name(id, t->name, &size) != NVML_SUCCESS)
		t->name[0] = 0;
	size = sizeof(t->class_name);
	if (api->type_class(id, t->class_name, &size) != NVML_SUCCESS)
		t->class_name[0] = 0;
	t->name[sizeof(t->name) - 1] = t->class_name[sizeof(t->class_name) - 1] = 0;
	if (api->type_fb(id, &fb) == NVML_SUCCESS)
		t->fb_bytes = fb;
	if (api->type_max(dev, id, &max) == NVML_SUCCESS)
		t->max_instances = max;
	/* a MIG-backed type has the GPU instance profile it lives on; time-sliced ones have
	 * INVALID_GPU_INSTANCE_PROFILE_ID (nvml.h) */
	t->mig = api->type_gi_profile(id, &profile) == NVML_SUCCESS &&
		 profile != INVALID_GPU_INSTANCE_PROFILE_ID;
}

/* The supported (not creatable) types of @dev; -1 when the answer could not be sent. */
static int send_types(int fd, const struct nvml_api *api, nvmlDevice_t dev,
		      struct gp_nvml_gpu *g)
{
	nvmlVgpuTypeId_t ids[MAX_TYPES];
	unsigned int count = 0, i;
	nvmlReturn_t rc = api->supported(dev, &count, NULL);

	/* asked with no room, it says how many (NVML_ERROR_INSUFFICIENT_SIZE); none is 0 */
	if (rc == NVML_ERROR_INSUFFICIENT_SIZE && count <= MAX_TYPES)
		rc = api->supported(dev, &count, ids);
	else if (rc == NVML_SUCCESS)
		count = 0;
	if (rc == NVML_ERROR_NOT_SUPPORTED) /* no vGPU on this GPU: no types */
		count = 0;
	else if (rc != NVML_SUCCESS)
		fail(g, api, "nvmlDeviceGetSupportedVgpus", rc);
	g->n_types = rc == NVML_SUCCESS ? count : 0;
	if (gp_write_all(fd, "G", 1) < 0 || gp_write_all(fd, g, sizeof(*g)) < 0)
		return -1;
	for (i = 0; i < g->n_types; i++) {
		struct gp_nvml_type t;

		ask_type(api, dev, ids[i], &t);
		if (gp_write_all(fd, "T", 1) < 0 || gp_write_all(fd, &t, sizeof(t)) < 0)
			return -1;
	}
	return 0;
}

static int ask_gpu(int fd, const struct nvml_api *api, const char *addr)
{
	struct gp_nvml_gpu g = { .mig_mode = -1, .mixed_size = -1 };
	nvmlVgpuHeterogeneousMode_v1_t hm = { .version = nvmlVgpuHeterogeneousMode_v1 };
	unsigned int cur, pending;
	nvmlDevice_t dev;
	nvmlReturn_t rc = api->by_bus_id(addr, &dev);

	if (rc != NVML_SUCCESS) {
		fail(&g, api, "nvmlDeviceGetHandleByPciBusId_v2", rc);
		return gp_write_all(fd, "G", 1) < 0 ? -1 : gp_write_all(fd, &g, sizeof(g));
	}
	if (api->name(dev, g.board_name, sizeof(g.board_name)) != NVML_SUCCESS)
		g.board_name[0] = 0;
	g.board_name[sizeof(g.board_name) - 1] = 0;
	rc = api->mig_mode(dev, &cur, &pending);
	if (rc == NVML_SUCCESS)
		g.mig_mode = cur == NVML_DEVICE_MIG_ENABLE;
	else if (rc == NVML_ERROR_NOT_SUPPORTED) /* a GPU without MIG is not in MIG mode */
		g.mig_mode = 0;
	if (api->hetero) {
		rc = api->hetero(dev, &hm);
		if (rc == NVML_SUCCESS)
			g.mixed_size = hm.mode != 0;
		else if (rc == NVML_ERROR_NOT_SUPPORTED) /* cannot mix: equal-size */
			g.mixed_size = 0;
	}
	return send_types(fd, api, dev, &g);
}

struct question {
	const char *path;
	const char *const *addrs;
	size_t n;
};

/* In the child (base/child.c set it up): load, ask about every GPU, send, exit. */
static void child_main(struct gp_ctx *ctx, void *data, int fd)
{
	const struct question *q = data;
	struct nvml_api api = { 0 };
	char msg[128] = "";
	int32_t res;
	nvmlReturn_t rc = NVML_SUCCESS;
	void *h = NULL;
	size_t i;

	(void)ctx;
	res = load_api(&h, q->path, &api, msg, sizeof(msg));
	if (res == 0) {
		rc = api.init();
		if (rc != NVML_SUCCESS) {
			snprintf(msg, sizeof(msg), "nvmlInit_v2: %s", api.error_string(rc));
			res = -EIO;
		}
		for (i = 0; res == 0 && i < q->n; i++)
			if (ask_gpu(fd, &api, q->addrs[i]) < 0)
				_exit(1);
		if (rc == NVML_SUCCESS)
			api.shutdown();
	}
	if (gp_write_all(fd, "R", 1) < 0 || gp_write_all(fd, &res, sizeof(res)) < 0 ||
	    gp_write_all(fd, msg, sizeof(msg)) < 0)
		_exit(1);
	_exit(0);
}

/* ---- the parent ---- */

/* The child's records into @v[0..n): 1 and *res when complete, 0 when cut short, -ENOMEM. */
static int decode(const char *buf, size_t len, struct gp_nvml_gpu *v, size_t n, int *res,
		  char *msg)
{
	struct gp_reader rd = { buf, buf + len };
	size_t at = 0, k;
	char type;

	while (gp_reader_get(&rd, &type, 1) == 0) {
		struct gp_nvml_gpu *g = at < n ? &v[at] : NULL;

		if (type == 'R') {
			int32_t r;

			if (gp_reader_get(&rd, &r, sizeof(r)) < 0 ||
			    gp_reader_get(&rd, msg, 128) < 0)
				return 0;
			msg[127] = 0;
			*res = r;
			return r < 0 || at == n; /* an answer for every GPU, or none at all */
		}
		if (type != 'G' || !g || gp_reader_get(&rd, g, sizeof(*g)) < 0)
			return 0;
		g->error[sizeof(g->error) - 1] = g->board_name[sizeof(g->board_name) - 1] = 0;
		if (g->n_types > MAX_TYPES)
			return 0;
		g->types = g->n_types ? calloc(g->n_types, sizeof(*g->types)) : NULL;
		if (g->n_types && !g->types) {
			g->n_types = 0;
			return -ENOMEM;
		}
		at++;
		for (k = 0; k < g->n_types; k++) {
			struct gp_nvml_type *t = &g->types[k];

			if (gp_reader_get(&rd, &type, 1) < 0 || type != 'T' ||
			    gp_reader_get(&rd, t, sizeof(*t)) < 0)
				return 0;
			t->name[sizeof(t->name) - 1] = t->class_name[sizeof(t->class_name) - 1] = 0;
		}
	}
	return 0;
}

/* The library to load and how long to wait for it: the live root's NVML, or the test switch. */
static int which_library(struct gp_ctx *ctx, const char **path, int *timeout_ms)
{
	const char *test = secure_getenv(GP_NVML_TEST_ENV), *t;

	*path = NVML_SONAME;
	*timeout_ms = GP_NVML_TIMEOUT_MS_DEFAULT;
	if (test && *test) {
		*path = test;
		t = secure_getenv(GP_NVML_TEST_TIMEOUT_ENV);
		if (t && atoi(t) > 0)
			*timeout_ms = atoi(t);
		return 0;
	}
	/* NVML describes the machine it runs on, never a tree under --root */
	return strcmp(gp_ctx_root(ctx), "/") == 0 ? 0 : -EOPNOTSUPP;
}

int gp_nvml_query(struct gp_ctx *ctx, const char *const *addrs, size_t n,
		  struct gp_nvml_gpu **out)
{
	struct question q = { .addrs = addrs, .n = n };
	struct gp_child_answer a;
	struct gp_nvml_gpu *v;
	char msg[128] = "";
	int r, d = 0, res = -EIO, timeout_ms;

	*out = NULL;
	r = which_library(ctx, &q.path, &timeout_ms);
	if (r < 0)
		return r;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = gp_child_ask(ctx, child_main, &q, timeout_ms, &a);
	if (r == 0 && a.complete)
		d = decode(a.buf, a.len, v, n, &res, msg);
	if (r == 0)
		free(a.buf);
	if (r < 0)
		WARN(ctx, "NVML: cannot start the process that asks it: %s", strerror(-r));
	else if (a.timed_out)
		WARN(ctx, "NVML did not answer within %d.%03d s (a wedged GPU?): not used",
		     timeout_ms / 1000, timeout_ms % 1000);
	else if (d == 0)
		WARN(ctx, "NVML: the process asking it %s", a.complete && WIFSIGNALED(a.status) ?
			  "was killed by a signal" : "ended without an answer");
	else if (d > 0 && res == -ENOENT)
		DBG(ctx, "NVML: %s", msg);
	else if (d > 0 && res < 0)
		WARN(ctx, "NVML: %s: not used", msg);
	if (d > 0 && res == 0) {
		*out = v;
		return 0;
	}
	gp_nvml_free(v, n);
	if (r < 0 || d < 0)
		return r < 0 ? r : -ENOMEM;
	if (a.timed_out)
		return -ETIMEDOUT;
	return d > 0 ? res : -EIO;
}

void gp_nvml_free(struct gp_nvml_gpu *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].types);
	free(v);
}
