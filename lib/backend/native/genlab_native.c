/*
 * genlab native kernels: the heavy tfjs ops (matrix products and 2-D convolutions, forward and
 * both gradients) as OpenBLAS SGEMM calls around im2col / col2im, called from Deno FFI.
 *
 * All tensors are row-major float32 and live where tfjs-backend-wasm keeps them (the wasm
 * heap): Deno passes pointers into that memory, so nothing is copied in or out. Convolutions
 * are NHWC with filters [KH, KW, Cin, Cout] (tfjs' layout), which makes every convolution one
 * GEMM of the patch matrix  col[N·OH·OW, KH·KW·Cin]  with the filter seen as a [KH·KW·Cin, Cout]
 * matrix — the formulation of Chellapilla et al. 2006 ("High performance convolutional neural
 * networks for document processing") that PyTorch's CPU convolution (slow_conv2d) also uses:
 *
 *   forward         y[r, :]   = col[r, :] · W                 (r = (n, oh, ow))
 *   input gradient  dcol      = dy · Wᵀ,  dx = col2im(dcol)   (scatter-add of the patches)
 *   filter gradient dW        = colᵀ · dy                     (summed over row chunks)
 *
 * Rows are processed in chunks so the patch matrix stays in cache between im2col and the GEMM;
 * im2col/col2im use OpenMP, the GEMMs OpenBLAS' own threads, one after the other.
 * Built by lib/backend/native/build.ts; a missing or unbuildable library just means no native
 * backend (genlab falls back to wasm).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

/* ---- OpenBLAS (declared here so only the runtime library libopenblas0-pthread is needed) ---- */
enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111, CblasTrans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc);
extern void openblas_set_num_threads(int threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

/* ---- oneDNN convolutions (genlab_dnnl.c; they return non-zero when unavailable) ---- */
extern int gl_dnnl_available(void);
extern int gl_dnnl_conv2d(const int32_t *g, const float *x, const float *filter, float *y,
                          const float *bias);
extern int gl_dnnl_conv2d_backprop_input(const int32_t *g, const float *dy, const float *filter,
                                         float *dx);
extern int gl_dnnl_conv2d_backprop_filter(const int32_t *g, const float *x, const float *dy,
                                          float *dfilter);

/** 1: convolutions try oneDNN first; 0: always im2col + OpenBLAS (tests compare the two). */
static int use_dnnl = 1;

int gl_set_conv_engine(int dnnl) {
  use_dnnl = dnnl && gl_dnnl_available();
  return use_dnnl;
}

/* ---------------------------------------- helpers ---------------------------------------- */

/** One growable scratch buffer for patch matrices: calls come one at a time from JS. */
static float *scratch = NULL;
static size_t scratch_floats = 0;

static float *scratch_for(size_t floats) {
  if (floats > scratch_floats) {
    free(scratch);
    scratch = (float *)aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
    scratch_floats = scratch == NULL ? 0 : floats;
  }
  return scratch;
}

/** A second buffer, for transposed GEMM results and flipped filters. */
static float *scratch2 = NULL;
static size_t scratch2_floats = 0;

static float *scratch2_for(size_t floats) {
  if (floats > scratch2_floats) {
    free(scratch2);
    scratch2 = (float *)aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
    scratch2_floats = scratch2 == NULL ? 0 : floats;
  }
  return scratch2;
}

/** Patch-matrix size per chunk: about 2M floats (8 MiB), so a chunk stays in L2+L3. */
static int64_t chunk_floats = 2 << 20;

/** Tests shrink the chunks to exercise the multi-chunk paths on small tensors. */
void gl_set_chunk_floats(int floats) { chunk_floats = floats > 0 ? floats : 2 << 20; }

static int64_t chunk_rows(int64_t rows, int64_t cols) {
  int64_t chunk = chunk_floats / (cols > 0 ? cols : 1);
  if (chunk < 1) chunk = 1;
  return chunk < rows ? chunk : rows;
}

int gl_init(int threads) {
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
  return openblas_get_num_threads();
}

const char *gl_blas_config(void) { return openblas_get_config(); }

int gl_version(void) { return 1; }

/* ---------------------------------------- activations ------------------------------------- */

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_ELU = 4,
       ACT_SIGMOID = 5 };

/** y[r, c] = act(y[r, c] + bias[c]) for rows × cols, as tfjs' fused ops define it. */
static void bias_activation(float *y, int64_t rows, int64_t cols, const float *bias, int act,
                            float alpha) {
  if (bias == NULL && act == ACT_LINEAR) return;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float *row = y + r * cols;
    for (int64_t c = 0; c < cols; c++) {
      float v = row[c] + (bias != NULL ? bias[c] : 0.0f);
      switch (act) {
        case ACT_RELU: v = v > 0.0f ? v : 0.0f; break;
        case ACT_RELU6: v = v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f; break;
        case ACT_LEAKYRELU: v = v > 0.0f ? v : alpha * v; break;
        case ACT_ELU: v = v > 0.0f ? v : expm1f(v); break;
        case ACT_SIGMOID: v = 1.0f / (1.0f + expf(-v)); break;
        default: break;
      }
      row[c] = v;
    }
  }
}

/* ---------------------------------------- matmul ----------------------------------------- */

/**
 * out[b] = op(A[b]) · op(B[b]) (+ bias, activation) for b < batch, where a side with batch 1 is
 * broadcast. A is [m, k] (or [k, m] if transposed), B is [k, n] (or [n, k]). Many A against one
 * untransposed-A B is one tall GEMM; every other case is one GEMM per matrix.
 */
void gl_batch_matmul(int batch, int batch_a, int batch_b, int trans_a, int trans_b, int m, int n,
                     int k, const float *a, const float *b, float *out, const float *bias, int act,
                     float alpha) {
  const int lda = trans_a ? m : k;
  const int ldb = trans_b ? k : n;
  if (batch_b == 1 && !trans_a && batch > 1) {
    /* Stack A's matrices into one tall product against the single B. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, batch * m, n, k,
                1.0f, a, lda, b, ldb, 0.0f, out, n);
  } else {
    for (int i = 0; i < batch; i++) {
      const float *ai = a + (batch_a == 1 ? 0 : (int64_t)i * m * k);
      const float *bi = b + (batch_b == 1 ? 0 : (int64_t)i * k * n);
      cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                  trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, ai, lda, bi, ldb, 0.0f,
                  out + (int64_t)i * m * n, n);
    }
  }
  bias_activation(out, (int64_t)batch * m, n, bias, act, alpha);
}

/* ---------------------------------------- convolution ------------------------------------ */

/** Geometry, as an int32 array from JS (tf.backend_util.Conv2DInfo), 17 entries. */
typedef struct {
  int n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, top, left, bottom, right;
} Geo;

static Geo geo_from(const int32_t *g) {
  Geo geo = {g[0], g[1], g[2],  g[3],  g[4],  g[5],  g[6],  g[7], g[8],
             g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16]};
  return geo;
}

/** True when the convolution is a plain matrix product: 1×1 filter, stride 1, no padding. */
static int is_pointwise(const Geo *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->top == 0 && g->left == 0 &&
         g->oh == g->h && g->ow == g->w;
}

/** col[r - r0, (i, j, c)] = x[n, oh·sh − top + i·dh, ow·sw − left + j·dw, c], 0 in the padding. */
static void im2col(const Geo *g, const float *x, int64_t r0, int64_t r1, float *col) {
  const int64_t cols = (int64_t)g->kh * g->kw * g->cin;
  const size_t bytes = sizeof(float) * g->cin;
#pragma omp parallel for schedule(static)
  for (int64_t r = r0; r < r1; r++) {
    const int64_t ow = r % g->ow;
    const int64_t oh = (r / g->ow) % g->oh;
    const int64_t n = r / ((int64_t)g->ow * g->oh);
    float *dst = col + (r - r0) * cols;
    for (int i = 0; i < g->kh; i++) {
      const int64_t y = oh * g->sh - g->top + (int64_t)i * g->dh;
      for (int j = 0; j < g->kw; j++, dst += g->cin) {
        const int64_t xw = ow * g->sw - g->left + (int64_t)j * g->dw;
        if (y < 0 || y >= g->h || xw < 0 || xw >= g->w) {
          memset(dst, 0, bytes);
        } else if (g->cin < 8) {
          const float *src = x + ((n * g->h + y) * g->w + xw) * g->cin;
          for (int c = 0; c < g->cin; c++) dst[c] = src[c];
        } else {
          memcpy(dst, x + ((n * g->h + y) * g->w + xw) * g->cin, bytes);
        }
      }
    }
  }
}

/** dx[n, y, x, c] += dcol[r - r0, (i, j, c)]: the adjoint of im2col. Threads split the channels
 * (with one channel, the taps), so no two threads ever add into the same element. */
static void col2im_add(const Geo *g, const float *dcol, int64_t r0, int64_t r1, float *dx) {
  const int64_t cols = (int64_t)g->kh * g->kw * g->cin;
  const int threads = g->cin >= 2 * omp_get_max_threads() ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int c0 = (int)((int64_t)g->cin * t / nt);
    const int c1 = (int)((int64_t)g->cin * (t + 1) / nt);
    for (int64_t r = r0; r < r1; r++) {
      const int64_t ow = r % g->ow;
      const int64_t oh = (r / g->ow) % g->oh;
      const int64_t n = r / ((int64_t)g->ow * g->oh);
      const float *src = dcol + (r - r0) * cols;
      for (int i = 0; i < g->kh; i++) {
        const int64_t y = oh * g->sh - g->top + (int64_t)i * g->dh;
        for (int j = 0; j < g->kw; j++, src += g->cin) {
          const int64_t xw = ow * g->sw - g->left + (int64_t)j * g->dw;
          if (y < 0 || y >= g->h || xw < 0 || xw >= g->w) continue;
          float *dst = dx + ((n * g->h + y) * g->w + xw) * g->cin;
          for (int c = c0; c < c1; c++) dst[c] += src[c];
        }
      }
    }
  }
}

/*
 * GEMM shapes. OpenBLAS is fast when the narrow side of a product is not too narrow: for a
 * 3×3 conv with 32 output channels, col[R, 288]·W[288, 32] runs at ≈60 GFLOP/s on this kind of
 * machine, while the same product transposed, Wᵀ[32, 288]·colᵀ[288, R], runs at ≈105 (the NCHW
 * orientation PyTorch uses). Below WIDE_CHANNELS output channels we therefore compute the
 * transposed product into scratch and transpose the (small) result back; with at most
 * TINY_CHANNELS output channels (e.g. the 32 → 1 output conv of a U-Net) the GEMM degenerates to
 * a memory-bound matrix-vector product, and a direct loop that never builds the patch matrix wins.
 */
enum { WIDE_CHANNELS = 64, TINY_CHANNELS = 4 };

/** Transpose src[rows, cols] into dst[cols, rows] (blocked for cache), optionally adding. */
static void transpose_into(const float *src, int64_t rows, int64_t cols, float *dst, int add) {
  const int64_t block = 32;
#pragma omp parallel for collapse(2) schedule(static) if (rows * cols > 65536)
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    for (int64_t c0 = 0; c0 < cols; c0 += block) {
      const int64_t r1 = r0 + block < rows ? r0 + block : rows;
      const int64_t c1 = c0 + block < cols ? c0 + block : cols;
      for (int64_t c = c0; c < c1; c++) {
        for (int64_t r = r0; r < r1; r++) {
          if (add) dst[c * rows + r] += src[r * cols + c];
          else dst[c * rows + r] = src[r * cols + c];
        }
      }
    }
  }
}

/** Input pixel offset of tap (i, j) for output row r, or −1 in the padding. */
static inline int64_t tap_offset(const Geo *g, int64_t n, int64_t oh, int64_t ow, int i, int j) {
  const int64_t y = oh * g->sh - g->top + (int64_t)i * g->dh;
  const int64_t xw = ow * g->sw - g->left + (int64_t)j * g->dw;
  if (y < 0 || y >= g->h || xw < 0 || xw >= g->w) return -1;
  return ((n * g->h + y) * g->w + xw) * g->cin;
}

/** y[r, co] = Σ_taps x[pixel(r, tap), :] · W[tap, :, co] without a patch matrix (few co). */
static void conv2d_direct(const Geo *g, const float *x, const float *filter, float *y) {
  const int64_t rows = (int64_t)g->n * g->oh * g->ow;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t ow = r % g->ow, oh = (r / g->ow) % g->oh, n = r / ((int64_t)g->ow * g->oh);
    float acc[TINY_CHANNELS] = {0};
    for (int i = 0; i < g->kh; i++) {
      for (int j = 0; j < g->kw; j++) {
        const int64_t at = tap_offset(g, n, oh, ow, i, j);
        if (at < 0) continue;
        const float *px = x + at;
        const float *w = filter + ((int64_t)i * g->kw + j) * g->cin * g->cout;
        if (g->cout == 1) {
          float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
          for (int c = 0; c < g->cin; c++) sum += px[c] * w[c];
          acc[0] += sum;
        } else {
          for (int c = 0; c < g->cin; c++) {
            for (int o = 0; o < g->cout; o++) acc[o] += px[c] * w[c * g->cout + o];
          }
        }
      }
    }
    for (int o = 0; o < g->cout; o++) y[r * g->cout + o] = acc[o];
  }
}

/** y = conv2d(x, filter) (+ bias, activation). Returns 0, or −1 if scratch memory ran out. */
int gl_conv2d(const int32_t *geo, const float *x, const float *filter, float *y, const float *bias,
              int act, float alpha) {
  const Geo g = geo_from(geo);
  const int64_t rows = (int64_t)g.n * g.oh * g.ow;
  const int64_t cols = (int64_t)g.kh * g.kw * g.cin;
  if (use_dnnl && !is_pointwise(&g) && gl_dnnl_conv2d(geo, x, filter, y, bias) == 0) {
    bias_activation(y, rows, g.cout, NULL, act, alpha);
    return 0;
  }
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, g.cout, g.cin, 1.0f, x,
                g.cin, filter, g.cout, 0.0f, y, g.cout);
  } else if (g.cout <= TINY_CHANNELS) {
    conv2d_direct(&g, x, filter, y);
  } else {
    const int64_t chunk = chunk_rows(rows, cols);
    float *col = scratch_for((size_t)(chunk * cols));
    float *yt = g.cout < WIDE_CHANNELS ? scratch2_for((size_t)(chunk * g.cout)) : NULL;
    if (col == NULL || (g.cout < WIDE_CHANNELS && yt == NULL)) return -1;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
      const int64_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
      const int m = (int)(r1 - r0);
      im2col(&g, x, r0, r1, col);
      if (yt != NULL) {
        /* yᵀ[cout, m] = Wᵀ · colᵀ, then back to rows. */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, g.cout, m, (int)cols, 1.0f, filter,
                    g.cout, col, (int)cols, 0.0f, yt, m);
        transpose_into(yt, g.cout, m, y + r0 * g.cout, 0);
      } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, g.cout, (int)cols, 1.0f, col,
                    (int)cols, filter, g.cout, 0.0f, y + r0 * g.cout, g.cout);
      }
    }
  }
  bias_activation(y, rows, g.cout, bias, act, alpha);
  return 0;
}

/** dx = ∂L/∂x of y = conv2d(x, filter), given dy; also the forward pass of conv2dTranspose.
 * With stride 1 it is itself a convolution — of dy with the filter rotated 180° and its channel
 * axes swapped, padded by (k−1)·d − pad — so it reuses the forward path (no scatter-add). */
int gl_conv2d_backprop_input(const int32_t *geo, const float *dy, const float *filter, float *dx) {
  const Geo g = geo_from(geo);
  const int64_t rows = (int64_t)g.n * g.oh * g.ow;
  const int64_t cols = (int64_t)g.kh * g.kw * g.cin;
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, g.cin, g.cout, 1.0f, dy,
                g.cout, filter, g.cout, 0.0f, dx, g.cin);
    return 0;
  }
  if (use_dnnl && gl_dnnl_conv2d_backprop_input(geo, dy, filter, dx) == 0) return 0;
  if (g.sh == 1 && g.sw == 1) {
    const int64_t taps = (int64_t)g.kh * g.kw;
    float *flipped = scratch2_for((size_t)(taps * g.cin * g.cout));
    if (flipped == NULL) return -1;
    /* W'[kh−1−i, kw−1−j, co, ci] = W[i, j, ci, co] */
    for (int64_t tap = 0; tap < taps; tap++) {
      const float *src = filter + tap * g.cin * g.cout;
      float *dst = flipped + (taps - 1 - tap) * g.cin * g.cout;
      for (int ci = 0; ci < g.cin; ci++) {
        for (int co = 0; co < g.cout; co++) dst[co * g.cin + ci] = src[ci * g.cout + co];
      }
    }
    int32_t flipped_geo[17] = {g.n,  g.oh, g.ow, g.cout, g.h, g.w, g.cin, g.kh, g.kw, 1, 1, g.dh,
                               g.dw, (g.kh - 1) * g.dh - g.top, (g.kw - 1) * g.dw - g.left,
                               (g.kh - 1) * g.dh - g.bottom, (g.kw - 1) * g.dw - g.right};
    /* The forward path may use scratch2 for its transposed product: copy the small filter. */
    float *w = (float *)malloc(sizeof(float) * (size_t)(taps * g.cin * g.cout));
    if (w == NULL) return -1;
    memcpy(w, flipped, sizeof(float) * (size_t)(taps * g.cin * g.cout));
    const int status = gl_conv2d(flipped_geo, dy, w, dx, NULL, ACT_LINEAR, 0.0f);
    free(w);
    return status;
  }
  const int64_t chunk = chunk_rows(rows, cols);
  float *dcol = scratch_for((size_t)(chunk * cols));
  if (dcol == NULL) return -1;
  memset(dx, 0, sizeof(float) * (size_t)g.n * g.h * g.w * g.cin);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)cols, g.cout, 1.0f,
                dy + r0 * g.cout, g.cout, filter, g.cout, 0.0f, dcol, (int)cols);
    col2im_add(&g, dcol, r0, r1, dx);
  }
  return 0;
}

/** dW[tap, ci, co] = Σ_r x[pixel(r, tap), ci] · dy[r, co] without a patch matrix (few co):
 * each thread sums its rows into a private copy of dW, then the copies are added. */
static int conv2d_backprop_filter_direct(const Geo *g, const float *x, const float *dy,
                                         float *dfilter) {
  const int64_t rows = (int64_t)g->n * g->oh * g->ow;
  const int64_t size = (int64_t)g->kh * g->kw * g->cin * g->cout;
  const int threads = omp_get_max_threads();
  float *partial = scratch2_for((size_t)(size * threads));
  if (partial == NULL) return -1;
  memset(partial, 0, sizeof(float) * (size_t)(size * threads));
#pragma omp parallel num_threads(threads)
  {
    float *mine = partial + (int64_t)omp_get_thread_num() * size;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const int64_t ow = r % g->ow, oh = (r / g->ow) % g->oh, n = r / ((int64_t)g->ow * g->oh);
      const float *d = dy + r * g->cout;
      for (int i = 0; i < g->kh; i++) {
        for (int j = 0; j < g->kw; j++) {
          const int64_t at = tap_offset(g, n, oh, ow, i, j);
          if (at < 0) continue;
          const float *px = x + at;
          float *w = mine + ((int64_t)i * g->kw + j) * g->cin * g->cout;
          if (g->cout == 1) {
            const float d0 = d[0];
#pragma omp simd
            for (int c = 0; c < g->cin; c++) w[c] += px[c] * d0;
          } else {
            for (int c = 0; c < g->cin; c++) {
              for (int o = 0; o < g->cout; o++) w[c * g->cout + o] += px[c] * d[o];
            }
          }
        }
      }
    }
  }
  memcpy(dfilter, partial, sizeof(float) * (size_t)size);
  for (int t = 1; t < threads; t++) {
    for (int64_t k = 0; k < size; k++) dfilter[k] += partial[t * size + k];
  }
  return 0;
}

/** dfilter = ∂L/∂filter of y = conv2d(x, filter), given x and dy. */
int gl_conv2d_backprop_filter(const int32_t *geo, const float *x, const float *dy,
                              float *dfilter) {
  const Geo g = geo_from(geo);
  const int64_t rows = (int64_t)g.n * g.oh * g.ow;
  const int64_t cols = (int64_t)g.kh * g.kw * g.cin;
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.cin, g.cout, (int)rows, 1.0f, x, g.cin,
                dy, g.cout, 0.0f, dfilter, g.cout);
    return 0;
  }
  /* (With ≤ TINY_CHANNELS outputs the direct loop below beats oneDNN: 2.6 vs 4.4 ms for a
   * 32 → 1 3×3 conv at 64×28×28.) */
  if (use_dnnl && g.cout > TINY_CHANNELS &&
      gl_dnnl_conv2d_backprop_filter(geo, x, dy, dfilter) == 0) {
    return 0;
  }
  if (g.cout <= TINY_CHANNELS) return conv2d_backprop_filter_direct(&g, x, dy, dfilter);
  const int64_t chunk = chunk_rows(rows, cols);
  float *col = scratch_for((size_t)(chunk * cols));
  float *dwt = scratch2_for((size_t)(cols * g.cout));
  if (col == NULL || dwt == NULL) return -1;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
    im2col(&g, x, r0, r1, col);
    /* dWᵀ[cout, cols] += dyᵀ · col: the wide orientation (see WIDE_CHANNELS). */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.cout, (int)cols, (int)(r1 - r0), 1.0f,
                dy + r0 * g.cout, g.cout, col, (int)cols, r0 == 0 ? 0.0f : 1.0f, dwt, (int)cols);
  }
  transpose_into(dwt, g.cout, cols, dfilter, 0);
  return 0;
}

/* ---------------------------------------- machine peak ----------------------------------- */

typedef float f32x16 __attribute__((vector_size(64)));

/**
 * Measured FP32 peak of this machine in GFLOP/s: `threads` threads each run 12 independent
 * fused multiply-add chains on 16-float vectors (enough in flight to cover FMA latency on
 * current x86 cores), compiled for this CPU (-march=native). The reference point for "GEMM at
 * x % of peak" in the speed report.
 */
double gl_peak_gflops(int threads, int iterations) {
  double start = omp_get_wtime();
  float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
    const f32x16 scale = {0.999999f, 0.999999f, 0.999999f, 0.999999f, 0.999999f, 0.999999f,
                          0.999999f, 0.999999f, 0.999999f, 0.999999f, 0.999999f, 0.999999f,
                          0.999999f, 0.999999f, 0.999999f, 0.999999f};
    const f32x16 shift = scale * 1e-6f;
    f32x16 acc[12];
    for (int j = 0; j < 12; j++) acc[j] = scale * (float)(j + omp_get_thread_num());
    for (int i = 0; i < iterations; i++) {
#pragma GCC unroll 12
      for (int j = 0; j < 12; j++) acc[j] = acc[j] * scale + shift;
    }
    for (int j = 0; j < 12; j++) {
      for (int l = 0; l < 16; l++) sink += acc[j][l];
    }
  }
  double seconds = omp_get_wtime() - start;
  if (sink == 12345.0f) seconds += 1e-9; /* keep the loop alive */
  return 2.0 * 16 * 12 * (double)iterations * threads / seconds / 1e9;
}
