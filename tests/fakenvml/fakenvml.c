/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake libnvidia-ml.so.1: a stand-in for NVIDIA hardware and drivers we do not have. It
 * answers the NVML calls gpupart makes (src/lib/host/nvml.c) the way the real library does for
 * the boards it models, with the prototypes and return codes of NVIDIA's nvml.h, from a data
 * file the test names in GPUPART_FAKENVML_DATA:
 *
 *   # a comment
 *   init ok|fail|hang        nvmlInit_v2 succeeds (default), fails (NVML_ERROR_DRIVER_NOT_LOADED)
 *                            or never returns (a wedged GPU)
 *   gpu ADDR mig=0|1|unsupported mixed=0|1|unsupported vgpu=1|0 name=REST OF LINE
 *   type ID max=N fb=BYTES gi=PROFILE|none class=CLASS name=REST OF LINE
 *
 * A "type" line is a vGPU type the last "gpu" line supports (nvmlDeviceGetSupportedVgpus, in
 * file order). Anything it does not model fails loudly, on stderr and with abort(): no data
 * file, a line it cannot read, a bus ID or type ID the file does not name, a call gpupart is
 * not known to make.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* nvml.h's types and codes, as far as they are used */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef unsigned int nvmlVgpuTypeId_t;
typedef struct {
	unsigned int version;
	unsigned int mode;
} nvmlVgpuHeterogeneousMode_v1_t;

enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
};

#define EXPORT __attribute__((visibility("default")))
#define MAX_GPUS 64
#define MAX_TYPES 256

struct fake_type {
	unsigned int id, max, gi;
	unsigned long long fb;
	char cls[64], name[128];
};

struct nvmlDevice_st {
	char addr[32], name[128];
	int mig, mixed, vgpu; /* -1: NOT_SUPPORTED */
	unsigned int types[MAX_TYPES];
	unsigned int n_types;
};

static struct nvmlDevice_st gpus[MAX_GPUS];
static struct fake_type types[MAX_TYPES];
static unsigned int n_gpus, n_types;
static int inits;

static __attribute__((noreturn, format(printf, 1, 2))) void unmodelled(const char *fmt, ...)
{
	va_list ap;

	fputs("fakenvml: unmodelled: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* key=value with a fixed set of values: 1, 0 or "unsupported" (-1) */
static int tri(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	if (!p)
		unmodelled("'%s' lacks %s", line, key);
	p += strlen(key);
	if (!strncmp(p, "unsupported", 11))
		return -1;
	if (*p == '0' || *p == '1')
		return *p - '0';
	unmodelled("'%s': %s must be 0, 1 or unsupported", line, key);
}

static unsigned long long num(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	char *end;
	unsigned long long v;

	if (!p)
		unmodelled("'%s' lacks %s", line, key);
	if (!strncmp(p + strlen(key), "none", 4))
		return 0xFFFFFFFFull; /* INVALID_GPU_INSTANCE_PROFILE_ID */
	v = strtoull(p + strlen(key), &end, 10);
	if (end == p + strlen(key))
		unmodelled("'%s': %s is not a number", line, key);
	return v;
}

/* "name=" runs to the end of the line */
static void rest(const char *line, const char *key, char *out, size_t len)
{
	const char *p = strstr(line, key);

	if (!p)
		unmodelled("'%s' lacks %s", line, key);
	snprintf(out, len, "%s", p + strlen(key));
}

static void word(const char *line, const char *key, char *out, size_t len)
{
	const char *p = strstr(line, key);

	if (!p)
		unmodelled("'%s' lacks %s", line, key);
	p += strlen(key);
	snprintf(out, len, "%.*s", (int)strcspn(p, " "), p);
}

static void load(void)
{
	const char *path = getenv("GPUPART_FAKENVML_DATA");
	char line[512];
	FILE *f;

	if (!path || !*path)
		unmodelled("GPUPART_FAKENVML_DATA names no data file");
	f = fopen(path, "r");
	if (!f)
		unmodelled("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (!strcmp(line, "init ok") || !strcmp(line, "init fail") ||
		    !strcmp(line, "init hang")) {
			if (!strcmp(line, "init hang"))
				for (;;)
					pause(); /* a wedged GPU: nvmlInit never returns */
			if (!strcmp(line, "init fail"))
				inits = -1;
		} else if (!strncmp(line, "gpu ", 4) && n_gpus < MAX_GPUS) {
			struct nvmlDevice_st *g = &gpus[n_gpus++];

			word(line, "gpu ", g->addr, sizeof(g->addr));
			g->mig = tri(line, " mig=");
			g->mixed = tri(line, " mixed=");
			g->vgpu = tri(line, " vgpu=");
			rest(line, " name=", g->name, sizeof(g->name));
		} else if (!strncmp(line, "type ", 5) && n_gpus && n_types < MAX_TYPES) {
			struct fake_type *t = &types[n_types++];
			struct nvmlDevice_st *g = &gpus[n_gpus - 1];

			t->id = (unsigned int)num(line, "type ");
			t->max = (unsigned int)num(line, " max=");
			t->fb = num(line, " fb=");
			t->gi = (unsigned int)num(line, " gi=");
			word(line, " class=", t->cls, sizeof(t->cls));
			rest(line, " name=", t->name, sizeof(t->name));
			g->types[g->n_types++] = t->id;
		} else {
			unmodelled("%s: cannot read '%s'", path, line);
		}
	}
	fclose(f);
}

static struct fake_type *type_of(nvmlVgpuTypeId_t id)
{
	for (unsigned int i = 0; i < n_types; i++)
		if (types[i].id == id)
			return &types[i];
	unmodelled("vGPU type id %u", id);
}

static struct nvmlDevice_st *device(nvmlDevice_t d)
{
	if (d < gpus || d >= gpus + n_gpus)
		unmodelled("a device handle it did not give out");
	return d;
}

/* a string into a caller's buffer of *size bytes, as NVML does it */
static nvmlReturn_t put(const char *s, char *buf, unsigned int *size)
{
	unsigned int need = (unsigned int)strlen(s) + 1;

	if (!buf || *size < need) {
		*size = need;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	memcpy(buf, s, need);
	*size = need;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	if (!inits)
		load();
	if (inits < 0)
		return NVML_ERROR_DRIVER_NOT_LOADED;
	inits++;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	inits--;
	return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t r)
{
	switch (r) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case NVML_ERROR_NOT_FOUND: return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument Version Mismatch";
	}
	unmodelled("nvmlErrorString(%d)", r);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *bus, nvmlDevice_t *out)
{
	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	for (unsigned int i = 0; i < n_gpus; i++)
		if (!strcasecmp(gpus[i].addr, bus)) {
			*out = &gpus[i];
			return NVML_SUCCESS;
		}
	unmodelled("nvmlDeviceGetHandleByPciBusId_v2(%s): no such GPU in the data", bus);
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length)
{
	unsigned int size = length;

	return put(device(d)->name, name, &size);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *current,
					 unsigned int *pending)
{
	if (device(d)->mig < 0)
		return NVML_ERROR_NOT_SUPPORTED;
	*current = *pending = (unsigned int)d->mig;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t d,
						       nvmlVgpuHeterogeneousMode_v1_t *m)
{
	if (m->version != 0x1000008u)
		return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	if (device(d)->mixed < 0)
		return NVML_ERROR_NOT_SUPPORTED;
	m->mode = (unsigned int)d->mixed;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedVgpus(nvmlDevice_t d, unsigned int *count,
						nvmlVgpuTypeId_t *ids)
{
	if (device(d)->vgpu <= 0)
		return NVML_ERROR_NOT_SUPPORTED;
	if (!ids || *count < d->n_types) {
		*count = d->n_types;
		return d->n_types ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
	}
	memcpy(ids, d->types, d->n_types * sizeof(*ids));
	*count = d->n_types;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetName(nvmlVgpuTypeId_t id, char *name, unsigned int *size)
{
	return put(type_of(id)->name, name, size);
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetClass(nvmlVgpuTypeId_t id, char *cls, unsigned int *size)
{
	return put(type_of(id)->cls, cls, size);
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetFramebufferSize(nvmlVgpuTypeId_t id,
						   unsigned long long *fb)
{
	*fb = type_of(id)->fb;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetMaxInstances(nvmlDevice_t d, nvmlVgpuTypeId_t id,
						unsigned int *count)
{
	device(d);
	for (unsigned int i = 0; i < d->n_types; i++)
		if (d->types[i] == id) {
			*count = type_of(id)->max;
			return NVML_SUCCESS;
		}
	/* a type of another board: the real library answers INVALID_ARGUMENT */
	return NVML_ERROR_INVALID_ARGUMENT;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetGpuInstanceProfileId(nvmlVgpuTypeId_t id,
							unsigned int *profile)
{
	*profile = type_of(id)->gi;
	return NVML_SUCCESS;
}
