/*
 * Convolutions on oneDNN (Debian libdnnl2 / libdnnl-dev 2.6), the library PyTorch's CPU
 * convolutions use. Where it is available, gl_conv2d* in genlab_native.c call these first and
 * fall back to im2col + OpenBLAS when they return non-zero (no oneDNN, or a geometry it rejects).
 *
 * Why: im2col + SGEMM reaches ≈60–110 GFLOP/s on a 3×3, 32-channel U-Net convolution here,
 * oneDNN's JIT kernels (brgconv / jit:avx512_core) ≈190 — they never build the patch matrix and
 * block the channels for the vector units. Activations stay NHWC (tfjs' layout, which oneDNN
 * reads directly); only the small filter is reordered into oneDNN's blocked layout, per call.
 * Primitives are created once per geometry and cached.
 *
 * Compiled with -DGENLAB_DNNL only when <dnnl.h> and -ldnnl are found (library.ts); without it
 * the functions below report "unavailable" and everything runs on the im2col path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GENLAB_DNNL
#include <dnnl.h>

/* Geometry (see genlab_native.c's Geo), plus bottom/right padding at [15], [16]. */
enum { GEO_LEN = 17 };
enum { KIND_FORWARD = 0, KIND_BACKWARD_DATA = 1, KIND_BACKWARD_WEIGHTS = 2 };

typedef struct {
  int kind;
  int has_bias;
  int32_t geo[GEO_LEN];
  dnnl_primitive_t primitive;
  /* filter layout oneDNN wants vs tfjs' HWIO, and the reorder between them (NULL if equal) */
  dnnl_memory_desc_t user_weights_md;
  const dnnl_memory_desc_t *weights_md;
  dnnl_primitive_t weights_reorder;
  dnnl_memory_desc_t src_md, dst_md, bias_md;
  dnnl_primitive_desc_t pd;
} Entry;

enum { CACHE_SIZE = 128 };
static Entry cache[CACHE_SIZE];
static int cache_used = 0;
static int cache_next = 0; /* round-robin eviction once full */
static dnnl_engine_t engine = NULL;
static dnnl_stream_t stream = NULL;
static float *weights_buffer = NULL;
static size_t weights_buffer_bytes = 0;

static int ensure_engine(void) {
  if (engine != NULL) return 0;
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return -1;
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return -1;
  return 0;
}

static float *weights_scratch(size_t bytes) {
  if (bytes > weights_buffer_bytes) {
    free(weights_buffer);
    weights_buffer = (float *)aligned_alloc(64, (bytes + 63) / 64 * 64);
    weights_buffer_bytes = weights_buffer == NULL ? 0 : bytes;
  }
  return weights_buffer;
}

static void destroy(Entry *e) {
  if (e->primitive) dnnl_primitive_destroy(e->primitive);
  if (e->weights_reorder) dnnl_primitive_destroy(e->weights_reorder);
  if (e->pd) dnnl_primitive_desc_destroy(e->pd);
  memset(e, 0, sizeof(*e));
}

/** Create (or find) the primitive for one convolution direction and geometry. */
static Entry *primitive_for(int kind, const int32_t *g, int has_bias) {
  for (int i = 0; i < cache_used; i++) {
    Entry *e = &cache[i];
    if (e->kind == kind && e->has_bias == has_bias &&
        memcmp(e->geo, g, sizeof(int32_t) * GEO_LEN) == 0) {
      return e;
    }
  }
  if (ensure_engine() != 0) return NULL;
  const int n = g[0], h = g[1], w = g[2], cin = g[3], oh = g[4], ow = g[5], cout = g[6];
  const int kh = g[7], kw = g[8];
  dnnl_dims_t src_dims = {n, cin, h, w}, dst_dims = {n, cout, oh, ow};
  dnnl_dims_t weights_dims = {cout, cin, kh, kw}, bias_dims = {cout};
  dnnl_dims_t strides = {g[9], g[10]}, dilates = {g[11] - 1, g[12] - 1};
  dnnl_dims_t pad_l = {g[13], g[14]}, pad_r = {g[15], g[16]};
  Entry fresh;
  memset(&fresh, 0, sizeof(fresh));
  fresh.kind = kind;
  fresh.has_bias = has_bias;
  memcpy(fresh.geo, g, sizeof(int32_t) * GEO_LEN);
  dnnl_memory_desc_t any_weights;
  if (dnnl_memory_desc_init_by_tag(&fresh.src_md, 4, src_dims, dnnl_f32, dnnl_nhwc) ||
      dnnl_memory_desc_init_by_tag(&fresh.dst_md, 4, dst_dims, dnnl_f32, dnnl_nhwc) ||
      dnnl_memory_desc_init_by_tag(&fresh.user_weights_md, 4, weights_dims, dnnl_f32, dnnl_hwio) ||
      dnnl_memory_desc_init_by_tag(&fresh.bias_md, 1, bias_dims, dnnl_f32, dnnl_x) ||
      dnnl_memory_desc_init_by_tag(&any_weights, 4, weights_dims, dnnl_f32,
                                   dnnl_format_tag_any)) {
    return NULL;
  }
  /* Every direction needs a forward primitive descriptor (as the hint for the backward ones). */
  dnnl_convolution_desc_t forward;
  if (dnnl_dilated_convolution_forward_desc_init(
          &forward, dnnl_forward_training, dnnl_convolution_direct, &fresh.src_md, &any_weights,
          has_bias ? &fresh.bias_md : NULL, &fresh.dst_md, strides, dilates, pad_l, pad_r)) {
    return NULL;
  }
  dnnl_primitive_desc_t forward_pd = NULL;
  if (dnnl_primitive_desc_create(&forward_pd, &forward, NULL, engine, NULL)) return NULL;
  dnnl_status_t status = dnnl_success;
  if (kind == KIND_FORWARD) {
    fresh.pd = forward_pd;
    forward_pd = NULL;
  } else if (kind == KIND_BACKWARD_DATA) {
    dnnl_convolution_desc_t desc;
    status = dnnl_dilated_convolution_backward_data_desc_init(
        &desc, dnnl_convolution_direct, &fresh.src_md, &any_weights, &fresh.dst_md, strides,
        dilates, pad_l, pad_r);
    if (status == dnnl_success) {
      status = dnnl_primitive_desc_create(&fresh.pd, &desc, NULL, engine, forward_pd);
    }
  } else {
    dnnl_convolution_desc_t desc;
    status = dnnl_dilated_convolution_backward_weights_desc_init(
        &desc, dnnl_convolution_direct, &fresh.src_md, &any_weights, NULL, &fresh.dst_md, strides,
        dilates, pad_l, pad_r);
    if (status == dnnl_success) {
      status = dnnl_primitive_desc_create(&fresh.pd, &desc, NULL, engine, forward_pd);
    }
  }
  if (forward_pd != NULL) dnnl_primitive_desc_destroy(forward_pd);
  if (status != dnnl_success || fresh.pd == NULL) return NULL;
  fresh.weights_md = dnnl_primitive_desc_query_md(
      fresh.pd, kind == KIND_BACKWARD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md,
      0);
  if (dnnl_primitive_create(&fresh.primitive, fresh.pd)) {
    destroy(&fresh);
    return NULL;
  }
  if (!dnnl_memory_desc_equal(fresh.weights_md, &fresh.user_weights_md)) {
    dnnl_primitive_desc_t reorder_pd;
    const int to_user = kind == KIND_BACKWARD_WEIGHTS;
    if (dnnl_reorder_primitive_desc_create(
            &reorder_pd, to_user ? fresh.weights_md : &fresh.user_weights_md, engine,
            to_user ? &fresh.user_weights_md : fresh.weights_md, engine, NULL)) {
      destroy(&fresh);
      return NULL;
    }
    status = dnnl_primitive_create(&fresh.weights_reorder, reorder_pd);
    dnnl_primitive_desc_destroy(reorder_pd);
    if (status) {
      destroy(&fresh);
      return NULL;
    }
  }
  Entry *slot;
  if (cache_used < CACHE_SIZE) {
    slot = &cache[cache_used++];
  } else {
    slot = &cache[cache_next];
    cache_next = (cache_next + 1) % CACHE_SIZE;
    destroy(slot);
  }
  *slot = fresh;
  return slot;
}

static dnnl_memory_t wrap(const dnnl_memory_desc_t *md, const void *data) {
  dnnl_memory_t memory = NULL;
  if (dnnl_memory_create(&memory, md, engine, (void *)data)) return NULL;
  return memory;
}

/** Run one convolution direction. a/b are the two inputs, out the output, all tfjs layouts. */
static int run(int kind, const int32_t *g, const float *a, const float *b, float *out,
               const float *bias) {
  Entry *e = primitive_for(kind, g, bias != NULL);
  if (e == NULL) return -1;
  const size_t blocked_bytes = dnnl_memory_desc_get_size(e->weights_md);
  float *blocked = e->weights_reorder != NULL ? weights_scratch(blocked_bytes) : NULL;
  if (e->weights_reorder != NULL && blocked == NULL) return -1;
  dnnl_memory_t memories[5] = {NULL, NULL, NULL, NULL, NULL};
  int status = -1;
  if (kind == KIND_FORWARD || kind == KIND_BACKWARD_DATA) {
    /* a = x (forward) or dy (backward data); b = filter in HWIO. */
    const float *filter = b;
    memories[0] = wrap(&e->user_weights_md, filter);
    memories[1] = blocked != NULL ? wrap(e->weights_md, blocked) : NULL;
    memories[2] = wrap(kind == KIND_FORWARD ? &e->src_md : &e->dst_md, a);
    memories[3] = wrap(kind == KIND_FORWARD ? &e->dst_md : &e->src_md, out);
    memories[4] = bias != NULL ? wrap(&e->bias_md, bias) : NULL;
    if (!memories[0] || (blocked && !memories[1]) || !memories[2] || !memories[3] ||
        (bias && !memories[4])) {
      goto done;
    }
    dnnl_memory_t weights = memories[0];
    if (blocked != NULL) {
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, memories[0]}, {DNNL_ARG_TO, memories[1]}};
      if (dnnl_primitive_execute(e->weights_reorder, stream, 2, args)) goto done;
      weights = memories[1];
    }
    if (kind == KIND_FORWARD) {
      dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, memories[2]},
                                 {DNNL_ARG_WEIGHTS, weights},
                                 {DNNL_ARG_DST, memories[3]},
                                 {DNNL_ARG_BIAS, memories[4]}};
      if (dnnl_primitive_execute(e->primitive, stream, bias != NULL ? 4 : 3, args)) goto done;
    } else {
      dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, memories[2]},
                                 {DNNL_ARG_WEIGHTS, weights},
                                 {DNNL_ARG_DIFF_SRC, memories[3]}};
      if (dnnl_primitive_execute(e->primitive, stream, 3, args)) goto done;
    }
  } else {
    /* a = x, b = dy, out = dfilter in HWIO. */
    memories[0] = wrap(&e->src_md, a);
    memories[1] = wrap(&e->dst_md, b);
    memories[2] = wrap(&e->user_weights_md, out);
    memories[3] = blocked != NULL ? wrap(e->weights_md, blocked) : NULL;
    if (!memories[0] || !memories[1] || !memories[2] || (blocked && !memories[3])) goto done;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, memories[0]},
                               {DNNL_ARG_DIFF_DST, memories[1]},
                               {DNNL_ARG_DIFF_WEIGHTS, blocked ? memories[3] : memories[2]}};
    if (dnnl_primitive_execute(e->primitive, stream, 3, args)) goto done;
    if (blocked != NULL) {
      dnnl_exec_arg_t back[2] = {{DNNL_ARG_FROM, memories[3]}, {DNNL_ARG_TO, memories[2]}};
      if (dnnl_primitive_execute(e->weights_reorder, stream, 2, back)) goto done;
    }
  }
  status = dnnl_stream_wait(stream) == dnnl_success ? 0 : -1;
done:
  for (int i = 0; i < 5; i++) {
    if (memories[i] != NULL) dnnl_memory_destroy(memories[i]);
  }
  return status;
}

int gl_dnnl_available(void) { return ensure_engine() == 0; }

const char *gl_dnnl_version(void) {
  static char text[64];
  const dnnl_version_t *v = dnnl_version();
  snprintf(text, sizeof(text), "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  return text;
}

int gl_dnnl_conv2d(const int32_t *g, const float *x, const float *filter, float *y,
                   const float *bias) {
  return run(KIND_FORWARD, g, x, filter, y, bias);
}

int gl_dnnl_conv2d_backprop_input(const int32_t *g, const float *dy, const float *filter,
                                  float *dx) {
  return run(KIND_BACKWARD_DATA, g, dy, filter, dx, NULL);
}

int gl_dnnl_conv2d_backprop_filter(const int32_t *g, const float *x, const float *dy,
                                   float *dfilter) {
  return run(KIND_BACKWARD_WEIGHTS, g, x, dy, dfilter, NULL);
}

#else /* built without oneDNN */

int gl_dnnl_available(void) { return 0; }
const char *gl_dnnl_version(void) { return "oneDNN not compiled in"; }
int gl_dnnl_conv2d(const int32_t *g, const float *x, const float *filter, float *y,
                   const float *bias) {
  (void)g, (void)x, (void)filter, (void)y, (void)bias;
  return -1;
}
int gl_dnnl_conv2d_backprop_input(const int32_t *g, const float *dy, const float *filter,
                                  float *dx) {
  (void)g, (void)dy, (void)filter, (void)dx;
  return -1;
}
int gl_dnnl_conv2d_backprop_filter(const int32_t *g, const float *x, const float *dy,
                                   float *dfilter) {
  (void)g, (void)x, (void)dy, (void)dfilter;
  return -1;
}
#endif
