/*
 * genlab native element-wise kernels: the cheap-per-element tfjs ops (binary arithmetic with
 * NumPy broadcasting, comparisons, unary activations, Sum/Mean over any axes, batch norm,
 * select, cast, and the row copies behind Concat/SplitV), called from Deno FFI on tensors that
 * live in the wasm heap (see kernels.ts and elementwise.ts).
 *
 * Why they exist: once the convolutions and matrix products are native, a U-Net training step
 * spends over half its time in tfjs-wasm's element-wise kernels, which run on one thread and,
 * for reductions over non-innermost axes (the bias gradient sums [N,H,W,C] to [C]), transpose
 * first. Here every op is one pass over memory on all cores, vectorised by the compiler.
 *
 * Threads: an op runs on the OpenMP threads (gl_init's count) once it touches at least
 * `parallel_min` elements (64K by default, ≈256 KiB): below that, waking the passive OpenMP
 * workers costs more than the loop. Tests lower the threshold to reach the parallel paths with
 * small, odd shapes.
 *
 * Numerics: binary ops are exact in float32, so they match tfjs-cpu (which computes in double and
 * rounds) bit for bit except SquaredDifference (one extra rounding). Reductions accumulate in
 * double, like tfjs-cpu's JavaScript loops, so a 50,176-row sum is as accurate as its inputs.
 * exp/sigmoid/tanh use a Cephes-style polynomial (≈1–2 ulp) that vectorises, unlike libm's expf.
 * The library is built with -fno-math-errno (library.ts; nothing here reads errno), so sqrtf
 * vectorises too — it is correctly rounded either way.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

/* ---------------------------------------- threading --------------------------------------- */

static int64_t parallel_min = 65536;

/** Elements from which an op uses all threads; 0 restores the default (tests use 1). */
void gl_ew_set_parallel_min(int elements) { parallel_min = elements > 0 ? elements : 65536; }

/** Threads for an op touching `work` elements that can be split into `parts` independent parts. */
static int threads_for(int64_t work, int64_t parts) {
  if (work < parallel_min || parts < 2) return 1;
  const int t = omp_get_max_threads();
  return parts < t ? (int)parts : t;
}

/** [begin, end) of part t of n split into nt (ends rounded to 16 for whole vectors). */
static void part_range(int64_t n, int t, int nt, int64_t align, int64_t *begin, int64_t *end) {
  int64_t b = n * t / nt;
  int64_t e = n * (t + 1) / nt;
  if (align > 1) {
    b = t == 0 ? 0 : b / align * align;
    e = t == nt - 1 ? n : e / align * align;
  }
  *begin = b;
  *end = e;
}

/** Run fn(ctx, begin, end) over [0, n) on `threads` threads in contiguous parts. */
typedef void (*range_fn)(const void *ctx, int64_t begin, int64_t end);

static void run_parts(int threads, int64_t n, int64_t align, range_fn fn, const void *ctx) {
  if (threads <= 1) {
    fn(ctx, 0, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    int64_t b, e;
    part_range(n, omp_get_thread_num(), omp_get_num_threads(), align, &b, &e);
    if (b < e) fn(ctx, b, e);
  }
}

/* ---------------------------------------- exp and friends --------------------------------- */

static inline float bits_to_float(int32_t i) {
  float f;
  memcpy(&f, &i, sizeof f);
  return f;
}

/**
 * e^x as Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 in two parts so r is exact), e^r by
 * a degree-6 polynomial, then 2^n applied as two powers of two so results down to the
 * subnormals and up to FLT_MAX come out right. Branch-free, so loops over it vectorise.
 */
static inline float exp_f(float x) {
  const float max_x = 88.72283905206835f;
  const float min_x = -103.972084f;
  float xc = x > max_x ? max_x : x;
  xc = xc < min_x ? min_x : xc;
  xc = x == x ? xc : 0.0f;
  /* n = round(x·log2 e): adding and subtracting 1.5·2^23 rounds to an integer (floorf would not
   * vectorise without -ffast-math). */
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r2 + r + 1.0f;
  const int32_t ni = (int32_t)n;
  const int32_t n1 = ni / 2;
  const int32_t n2 = ni - n1;
  float y = p * bits_to_float((n1 + 127) << 23) * bits_to_float((n2 + 127) << 23);
  y = x > max_x ? INFINITY : y;
  y = x < min_x ? 0.0f : y;
  return x == x ? y : x;
}

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

/** Cephes tanhf: an odd polynomial below |x| = 0.625 (no cancellation), 1 − 2/(e^2|x| + 1) above. */
static inline float tanh_f(float x) {
  const float ax = fabsf(x);
  const float s = x * x;
  const float small =
      ((((-5.70498872745E-3f * s + 2.06390887954E-2f) * s - 5.37397155531E-2f) * s +
        1.33314422036E-1f) * s - 3.33332819422E-1f) * s * x + x;
  float big = 1.0f - 2.0f / (exp_f(2.0f * ax) + 1.0f);
  big = x < 0.0f ? -big : big;
  return ax < 0.625f ? small : big;
}

/* ---------------------------------------- unary ops --------------------------------------- */

enum {
  UN_NEG = 0, UN_SQUARE = 1, UN_SQRT = 2, UN_RSQRT = 3, UN_EXP = 4, UN_SIGMOID = 5, UN_TANH = 6,
  UN_RELU = 7, UN_RELU6 = 8, UN_LEAKYRELU = 9, UN_STEP = 10, UN_ABS = 11, UN_RECIPROCAL = 12
};

typedef struct {
  int op;
  float alpha;
  const float *x;
  float *y;
} UnaryCtx;

#define UNARY_LOOP(EXPR)                                              \
  for (int64_t i = b; i < e; i++) {                                   \
    const float v = x[i];                                             \
    y[i] = (EXPR);                                                    \
  }                                                                   \
  break;

/* NaN handling follows tfjs-cpu: relu-style ops compare with `<` so NaN passes through. */
static void unary_range(const void *p, int64_t b, int64_t e) {
  const UnaryCtx *c = (const UnaryCtx *)p;
  const float *restrict x = c->x;
  float *restrict y = c->y;
  const float alpha = c->alpha;
  switch (c->op) {
    case UN_NEG: UNARY_LOOP(-v)
    case UN_SQUARE: UNARY_LOOP(v * v)
    case UN_SQRT: UNARY_LOOP(sqrtf(v))
    case UN_RSQRT: UNARY_LOOP(1.0f / sqrtf(v))
    case UN_EXP: UNARY_LOOP(exp_f(v))
    case UN_SIGMOID: UNARY_LOOP(sigmoid_f(v))
    case UN_TANH: UNARY_LOOP(tanh_f(v))
    case UN_RELU: UNARY_LOOP(v < 0.0f ? 0.0f : v)
    case UN_RELU6: UNARY_LOOP(v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v))
    case UN_LEAKYRELU: UNARY_LOOP(v < 0.0f ? alpha * v : v)
    case UN_STEP: UNARY_LOOP(v > 0.0f ? 1.0f : (v == v ? alpha : v))
    case UN_ABS: UNARY_LOOP(fabsf(v))
    case UN_RECIPROCAL: UNARY_LOOP(1.0f / v)
    default: break;
  }
}

/** y[i] = op(x[i]) for i < n (alpha: LeakyRelu's slope, Step's value at x ≤ 0). y may be x. */
int gl_unary(int op, int n, const float *x, float *y, float alpha) {
  if (op < 0 || op > UN_RECIPROCAL) return -1;
  const UnaryCtx c = {op, alpha, x, y};
  run_parts(threads_for(n, n / 16), n, 16, unary_range, &c);
  return 0;
}

/* ---------------------------------------- broadcasting ------------------------------------ */

/*
 * A broadcast binary op is described by the output shape and, for each input, element strides
 * that are 0 along broadcast axes. Size-1 output axes are dropped and neighbouring axes merged
 * when both inputs are broadcast along both or along neither, which leaves at most 6 axes and
 * usually 1–3: [64,28,28,32] + [32] is [50176, 32] with b's stride 0 on the first axis, the
 * group-norm [64,28,28,8,4] − [64,1,1,8,1] is [64, 784, 8, 4] with b broadcast on 784 and 4.
 * The collapsed shape is right-aligned into 6 axes: axes 0–3 are walked by an odometer (the
 * "rows"), axes 4–5 form a 2-D block whose inner loop is contiguous in the output and either
 * contiguous or constant in each input, so it vectorises.
 */
enum { MAX_RANK = 6 };

typedef struct {
  int64_t n[MAX_RANK];
  int64_t sa[MAX_RANK];
  int64_t sb[MAX_RANK];
} Bcast;

/** shapes = out[rank], a[rank], b[rank] (inputs left-padded with 1s). Returns 0, or −1. */
static int bcast_setup(int rank, const int32_t *shapes, Bcast *bc) {
  if (rank < 0 || rank > MAX_RANK) return -1;
  int64_t as[MAX_RANK], bs[MAX_RANK];
  int64_t stride_a = 1, stride_b = 1;
  for (int i = rank - 1; i >= 0; i--) {
    const int64_t da = shapes[rank + i], db = shapes[2 * rank + i];
    as[i] = da == 1 ? 0 : stride_a;
    bs[i] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  /* Collapse from the innermost axis outwards; merged axes keep their inner member's strides. */
  int64_t n[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
  int m = 0;
  for (int i = rank - 1; i >= 0; i--) {
    const int64_t d = shapes[i];
    if (d == 1) continue;
    if (m > 0 && (as[i] != 0) == (sa[m - 1] != 0) && (bs[i] != 0) == (sb[m - 1] != 0)) {
      n[m - 1] *= d;
    } else {
      n[m] = d;
      sa[m] = as[i];
      sb[m] = bs[i];
      m++;
    }
  }
  for (int k = 0; k < MAX_RANK; k++) {
    /* k-th axis from the inside goes to position MAX_RANK-1-k. */
    const int pos = MAX_RANK - 1 - k;
    bc->n[pos] = k < m ? n[k] : 1;
    bc->sa[pos] = k < m ? sa[k] : 0;
    bc->sb[pos] = k < m ? sb[k] : 0;
  }
  return 0;
}

enum {
  BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3, BIN_MAX = 4, BIN_MIN = 5, BIN_SQDIFF = 6,
  BIN_GREATER = 7, BIN_GREATER_EQUAL = 8, BIN_LESS = 9, BIN_LESS_EQUAL = 10, BIN_EQUAL = 11,
  BIN_NOT_EQUAL = 12, BIN_COUNT = 13
};

/** Comparisons write bytes (tfjs-wasm stores bool tensors as uint8). */
static int is_comparison(int op) { return op >= BIN_GREATER && op <= BIN_NOT_EQUAL; }

typedef struct {
  Bcast bc;
  const float *a;
  const float *b;
  void *out;
  int op;
  /* The rows (axes 0–3) in [begin, end) are walked; with split_block, rows = 1 and the range
   * is over axis 4 instead (when there is only one row to split). */
  int split_block;
} BinaryCtx;

/* One 2-D block: j over axis 4, k over axis 5 (contiguous in out). */
#define BLOCK_LOOP(T, EXPR)                                                               \
  {                                                                                       \
    T *restrict o = (T *)out_row;                                                         \
    for (int64_t j = j0; j < j1; j++, o += n5) {                                          \
      const float *restrict pa = pa_row + j * sa4;                                        \
      const float *restrict pb = pb_row + j * sb4;                                        \
      if (sa5 != 0 && sb5 != 0) {                                                         \
        for (int64_t k = 0; k < n5; k++) {                                                \
          const float x = pa[k], y = pb[k];                                               \
          o[k] = (EXPR);                                                                  \
        }                                                                                 \
      } else if (sa5 != 0) {                                                              \
        const float y = pb[0];                                                            \
        for (int64_t k = 0; k < n5; k++) {                                                \
          const float x = pa[k];                                                          \
          o[k] = (EXPR);                                                                  \
        }                                                                                 \
      } else {                                                                            \
        const float x = pa[0];                                                            \
        for (int64_t k = 0; k < n5; k++) {                                                \
          const float y = pb[k];                                                          \
          o[k] = (EXPR);                                                                  \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  break;

/* Math.max/min semantics: NaN if either side is NaN. */
#define MAX_EXPR ((x >= y || x != x) ? x : y)
#define MIN_EXPR ((x <= y || x != x) ? x : y)

static void binary_block(int op, const float *pa_row, const float *pb_row, void *out_row,
                         int64_t j0, int64_t j1, int64_t n5, int64_t sa4, int64_t sb4,
                         int64_t sa5, int64_t sb5) {
  switch (op) {
    case BIN_ADD: BLOCK_LOOP(float, x + y)
    case BIN_SUB: BLOCK_LOOP(float, x - y)
    case BIN_MUL: BLOCK_LOOP(float, x * y)
    case BIN_DIV: BLOCK_LOOP(float, x / y)
    case BIN_MAX: BLOCK_LOOP(float, MAX_EXPR)
    case BIN_MIN: BLOCK_LOOP(float, MIN_EXPR)
    case BIN_SQDIFF: BLOCK_LOOP(float, (x - y) * (x - y))
    case BIN_GREATER: BLOCK_LOOP(uint8_t, x > y)
    case BIN_GREATER_EQUAL: BLOCK_LOOP(uint8_t, x >= y)
    case BIN_LESS: BLOCK_LOOP(uint8_t, x < y)
    case BIN_LESS_EQUAL: BLOCK_LOOP(uint8_t, x <= y)
    case BIN_EQUAL: BLOCK_LOOP(uint8_t, x == y)
    case BIN_NOT_EQUAL: BLOCK_LOOP(uint8_t, x != y)
    default: break;
  }
}

static void binary_range(const void *p, int64_t begin, int64_t end) {
  const BinaryCtx *c = (const BinaryCtx *)p;
  const Bcast *bc = &c->bc;
  const int64_t *n = bc->n, *sa = bc->sa, *sb = bc->sb;
  const int64_t n4 = n[4], n5 = n[5];
  const size_t osize = is_comparison(c->op) ? 1 : sizeof(float);
  char *out = (char *)c->out;
  if (c->split_block) {
    binary_block(c->op, c->a, c->b, out + (size_t)(begin * n5) * osize, begin, end, n5, sa[4],
                 sb[4], sa[5], sb[5]);
    return;
  }
  /* Odometer over axes 0–3, started at row `begin`. */
  int64_t i[4];
  int64_t rest = begin;
  for (int k = 3; k >= 0; k--) {
    i[k] = rest % n[k];
    rest /= n[k];
  }
  int64_t oa = 0, ob = 0;
  for (int k = 0; k < 4; k++) {
    oa += i[k] * sa[k];
    ob += i[k] * sb[k];
  }
  const int64_t block = n4 * n5;
  for (int64_t r = begin; r < end; r++) {
    binary_block(c->op, c->a + oa, c->b + ob, out + (size_t)(r * block) * osize, 0, n4, n5, sa[4],
                 sb[4], sa[5], sb[5]);
    for (int k = 3; k >= 0; k--) {
      oa += sa[k];
      ob += sb[k];
      if (++i[k] < n[k]) break;
      oa -= n[k] * sa[k];
      ob -= n[k] * sb[k];
      i[k] = 0;
    }
  }
}

/**
 * out = a ⊙ b with NumPy broadcasting (op: BIN_*). shapes holds out, a, b as `rank` int32 each,
 * the inputs left-padded with 1s to the output's rank (≤ 6). Comparisons write uint8 to out.
 */
int gl_binary(int op, int rank, const int32_t *shapes, const float *a, const float *b,
              void *out) {
  if (op < 0 || op >= BIN_COUNT) return -1;
  BinaryCtx c;
  if (bcast_setup(rank, shapes, &c.bc) != 0) return -1;
  c.a = a;
  c.b = b;
  c.out = out;
  c.op = op;
  const int64_t *n = c.bc.n;
  const int64_t rows = n[0] * n[1] * n[2] * n[3];
  const int64_t total = rows * n[4] * n[5];
  if (rows == 1 && n[4] == 1 && n[5] > 1) {
    /* One contiguous run (same shapes, or a scalar on one side): split it into 2-D blocks of
     * 64 elements so the threads can share it (the tail block stays in axis 5's remainder). */
    const int64_t len = n[5], chunk = 64, full = len / chunk;
    if (full >= 2 && threads_for(total, full) > 1) {
      BinaryCtx body = c;
      body.bc.n[4] = full;
      body.bc.n[5] = chunk;
      body.bc.sa[4] = c.bc.sa[5] * chunk;
      body.bc.sb[4] = c.bc.sb[5] * chunk;
      body.split_block = 1;
      run_parts(threads_for(total, full), full, 1, binary_range, &body);
      const int64_t done = full * chunk;
      if (done < len) {
        BinaryCtx tail = c;
        tail.bc.n[5] = len - done;
        tail.a = a + c.bc.sa[5] * done;
        tail.b = b + c.bc.sb[5] * done;
        tail.out = (char *)out + (size_t)done * (is_comparison(op) ? 1 : sizeof(float));
        tail.split_block = 1;
        binary_range(&tail, 0, 1);
      }
      return 0;
    }
  }
  if (rows == 1) {
    c.split_block = 1;
    run_parts(threads_for(total, n[4]), n[4], 1, binary_range, &c);
  } else {
    c.split_block = 0;
    run_parts(threads_for(total, rows), rows, 1, binary_range, &c);
  }
  return 0;
}

/* ---------------------------------------- reductions -------------------------------------- */

/*
 * Sum/Mean over any set of axes. Size-1 axes are dropped and neighbouring axes with the same
 * kept/reduced status merged, leaving alternating groups: [64,28,28,32] over (0,1,2) is
 * R[50176] K[32] (a column sum: the bias gradient); group norm's [64,28,28,8,4] over (1,2,4) is
 * K[64] R[784] K[8] R[4]. The input is read once, in memory order, adding into a double
 * accumulator per output: row sums for an innermost reduced group, row-into-accumulator adds
 * for an innermost kept group. Threads split one group: a kept group gives each thread its own
 * outputs; a reduced group gives each thread a private accumulator, summed at the end.
 */
typedef struct {
  int m;
  int64_t d[MAX_RANK];
  int64_t xs[MAX_RANK];
  int64_t os[MAX_RANK];
  int reduced[MAX_RANK];
  int split;
  int64_t out_size;
  const float *x;
  double *acc; /* out_size per thread when the split group is reduced */
} Reduce;

/** Σ x[0..n) in double, 16 independent partial sums so the adds pipeline and vectorise. */
static double sum_row(const float *restrict x, int64_t n) {
  double s[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 16; k++) s[k] += (double)x[i + k];
  }
  double total = 0.0;
  for (; i < n; i++) total += (double)x[i];
  for (int k = 0; k < 16; k++) total += s[k];
  return total;
}

static void add_row(double *restrict acc, const float *restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] += (double)x[i];
}

/** Accumulate group `level` onward (indices [lo, hi) at the split group, all elsewhere). */
static void reduce_walk(const Reduce *r, int level, int64_t lo, int64_t hi, const float *x,
                        double *acc) {
  const int64_t b = level == r->split ? lo : 0;
  const int64_t e = level == r->split ? hi : r->d[level];
  const int last = r->m - 1;
  if (level == last) {
    if (r->reduced[last]) *acc += sum_row(x + b, e - b);
    else add_row(acc + b, x + b, e - b);
    return;
  }
  if (level == last - 1 && r->split != last) {
    const int64_t xs = r->xs[level], os = r->os[level], len = r->d[last];
    if (r->reduced[last]) {
      for (int64_t i = b; i < e; i++) acc[i * os] += sum_row(x + i * xs, len);
    } else {
      for (int64_t i = b; i < e; i++) add_row(acc + i * os, x + i * xs, len);
    }
    return;
  }
  for (int64_t i = b; i < e; i++) {
    reduce_walk(r, level + 1, lo, hi, x + i * r->xs[level], acc + i * r->os[level]);
  }
}

static void reduce_range(const void *p, int64_t begin, int64_t end) {
  const Reduce *r = (const Reduce *)p;
  double *acc = r->acc;
  if (r->reduced[r->split]) {
    /* Private accumulator of this thread (parts are numbered as run_parts splits them). */
    const int t = omp_in_parallel() ? omp_get_thread_num() : 0;
    acc += (int64_t)t * r->out_size;
  }
  reduce_walk(r, 0, begin, end, r->x, acc);
}

/**
 * out = Σ (mean: average) of x over the axes set in `axis_mask` (bit i = axis i), x of shape
 * shape[rank] (rank ≤ 6). out has the kept axes in order (keepDims only changes tfjs' shape).
 * Returns 0, or −1 when the scratch accumulator cannot be allocated.
 */
int gl_reduce(int mean, int rank, const int32_t *shape, int axis_mask, const float *x,
              float *out) {
  if (rank < 0 || rank > MAX_RANK) return -1;
  Reduce r;
  memset(&r, 0, sizeof r);
  int64_t d[MAX_RANK];
  int red[MAX_RANK];
  int m = 0;
  int64_t total = 1, count = 1;
  for (int i = 0; i < rank; i++) {
    const int64_t n = shape[i];
    const int is_red = (axis_mask >> i) & 1;
    total *= n;
    if (is_red) count *= n;
    if (n == 1) continue;
    if (m > 0 && red[m - 1] == is_red) {
      d[m - 1] *= n;
    } else {
      d[m] = n;
      red[m] = is_red;
      m++;
    }
  }
  if (m == 0) {
    d[0] = 1;
    red[0] = 0;
    m = 1;
  }
  r.m = m;
  int64_t xs = 1, os = 1;
  for (int i = m - 1; i >= 0; i--) {
    r.d[i] = d[i];
    r.reduced[i] = red[i];
    r.xs[i] = xs;
    xs *= d[i];
    r.os[i] = red[i] ? 0 : os;
    if (!red[i]) os *= d[i];
  }
  r.out_size = os;
  r.x = x;
  /* Split the outermost group big enough to share, else the biggest one. */
  const int max_threads = omp_get_max_threads();
  int split = -1;
  for (int i = 0; i < m && split < 0; i++) {
    if (r.d[i] >= 4 * max_threads) split = i;
  }
  if (split < 0) {
    split = 0;
    for (int i = 1; i < m; i++) {
      if (r.d[i] > r.d[split]) split = i;
    }
  }
  r.split = split;
  const int threads = threads_for(total, r.d[split]);
  const int64_t buffers = r.reduced[split] ? threads : 1;
  double *acc = (double *)calloc((size_t)(buffers * r.out_size), sizeof(double));
  if (acc == NULL) return -1;
  r.acc = acc;
  run_parts(threads, r.d[split], r.split == m - 1 ? 16 : 1, reduce_range, &r);
  const double scale = mean ? 1.0 / (double)count : 1.0;
  const int64_t n_out = r.out_size;
#pragma omp parallel for schedule(static) if (n_out * buffers >= parallel_min && threads > 1)
  for (int64_t i = 0; i < n_out; i++) {
    double s = acc[i];
    for (int64_t t = 1; t < buffers; t++) s += acc[t * n_out + i];
    out[i] = (float)(s * scale);
  }
  free(acc);
  return 0;
}

/* ---------------------------------------- batch norm -------------------------------------- */

typedef struct {
  const float *x;
  float *y;
  const float *k; /* scale / sqrt(variance + eps), per channel */
  const float *c; /* offset − mean·k, per channel */
  int64_t channels;
} NormCtx;

static void batchnorm_range(const void *p, int64_t b, int64_t e) {
  const NormCtx *n = (const NormCtx *)p;
  const int64_t ch = n->channels;
  for (int64_t r = b; r < e; r++) {
    const float *restrict x = n->x + r * ch;
    float *restrict y = n->y + r * ch;
    const float *restrict k = n->k;
    const float *restrict c = n->c;
    for (int64_t j = 0; j < ch; j++) y[j] = x[j] * k[j] + c[j];
  }
}

/**
 * tfjs FusedBatchNorm over the last axis: y = (x − mean)·scale/√(variance + ε) + offset, where
 * each parameter has `channels` entries or 1 (l* = its length; offset/scale may be NULL).
 */
int gl_batchnorm(int n, int channels, const float *x, const float *mean, int lm,
                 const float *variance, int lv, const float *offset, int lo, const float *scale,
                 int ls, float eps, float *y) {
  if (channels <= 0 || n % channels != 0) return -1;
  float *kc = (float *)malloc(2 * (size_t)channels * sizeof(float));
  if (kc == NULL) return -1;
  for (int j = 0; j < channels; j++) {
    const double s = scale == NULL ? 1.0 : scale[ls == 1 ? 0 : j];
    const double o = offset == NULL ? 0.0 : offset[lo == 1 ? 0 : j];
    const double k = s / sqrt((double)variance[lv == 1 ? 0 : j] + (double)eps);
    kc[j] = (float)k;
    kc[channels + j] = (float)(o - (double)mean[lm == 1 ? 0 : j] * k);
  }
  const NormCtx c = {x, y, kc, kc + channels, channels};
  const int64_t rows = n / channels;
  run_parts(threads_for(n, rows), rows, 1, batchnorm_range, &c);
  free(kc);
  return 0;
}

/* ---------------------------------------- select, cast, copies ---------------------------- */

typedef struct {
  const uint8_t *cond;
  const uint32_t *t;
  const uint32_t *e;
  uint32_t *out;
  int64_t inner;
} SelectCtx;

static void select_range(const void *p, int64_t b, int64_t e) {
  const SelectCtx *s = (const SelectCtx *)p;
  const uint32_t *restrict t = s->t;
  const uint32_t *restrict f = s->e;
  uint32_t *restrict o = s->out;
  if (s->inner == 1) {
    const uint8_t *restrict c = s->cond;
    for (int64_t i = b; i < e; i++) o[i] = c[i] ? t[i] : f[i];
  } else {
    for (int64_t i = b; i < e; i++) o[i] = s->cond[i / s->inner] ? t[i] : f[i];
  }
}

/** out[i] = cond[i / inner] ? t[i] : e[i] for 4-byte elements (float32 or int32), i < n. */
void gl_select(int n, int inner, const uint8_t *cond, const uint32_t *t, const uint32_t *e,
               uint32_t *out) {
  const SelectCtx s = {cond, t, e, out, inner > 0 ? inner : 1};
  run_parts(threads_for(n, n / 16), n, 16, select_range, &s);
}

enum {
  CAST_F32_I32 = 0, CAST_I32_F32 = 1, CAST_U8_F32 = 2, CAST_U8_I32 = 3, CAST_F32_U8 = 4,
  CAST_I32_U8 = 5
};

/** JavaScript's ToInt32 (what Int32Array.from does): truncate, NaN → 0, wrap modulo 2^32. */
static inline int32_t to_int32(float v) {
  if (fabsf(v) < 2147483648.0f) return (int32_t)v;
  if (v != v || isinf(v)) return 0;
  double m = fmod(trunc((double)v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (int32_t)(uint32_t)m;
}

typedef struct {
  int mode;
  const void *x;
  void *y;
} CastCtx;

static void cast_range(const void *p, int64_t b, int64_t e) {
  const CastCtx *c = (const CastCtx *)p;
  switch (c->mode) {
    case CAST_F32_I32: {
      const float *restrict x = c->x;
      int32_t *restrict y = c->y;
      for (int64_t i = b; i < e; i++) y[i] = to_int32(x[i]);
      break;
    }
    case CAST_I32_F32: {
      const int32_t *restrict x = c->x;
      float *restrict y = c->y;
      for (int64_t i = b; i < e; i++) y[i] = (float)x[i];
      break;
    }
    case CAST_U8_F32: {
      const uint8_t *restrict x = c->x;
      float *restrict y = c->y;
      for (int64_t i = b; i < e; i++) y[i] = (float)x[i];
      break;
    }
    case CAST_U8_I32: {
      const uint8_t *restrict x = c->x;
      int32_t *restrict y = c->y;
      for (int64_t i = b; i < e; i++) y[i] = (int32_t)x[i];
      break;
    }
    case CAST_F32_U8: {
      const float *restrict x = c->x;
      uint8_t *restrict y = c->y;
      for (int64_t i = b; i < e; i++) y[i] = x[i] != 0.0f; /* NaN → 1, as tfjs-cpu */
      break;
    }
    case CAST_I32_U8: {
      const int32_t *restrict x = c->x;
      uint8_t *restrict y = c->y;
      for (int64_t i = b; i < e; i++) y[i] = x[i] != 0;
      break;
    }
    default: break;
  }
}

/** Cast n elements (mode: CAST_*), with tfjs-cpu's semantics. */
int gl_cast(int mode, int n, const void *x, void *y) {
  if (mode < CAST_F32_I32 || mode > CAST_I32_U8) return -1;
  const CastCtx c = {mode, x, y};
  run_parts(threads_for(n, n / 16), n, 16, cast_range, &c);
  return 0;
}

typedef struct {
  const char *src;
  char *dst;
  int64_t width, src_stride, dst_stride;
} CopyCtx;

static void copy_rows_range(const void *p, int64_t b, int64_t e) {
  const CopyCtx *c = (const CopyCtx *)p;
  for (int64_t r = b; r < e; r++) {
    memcpy(c->dst + r * c->dst_stride, c->src + r * c->src_stride, (size_t)c->width);
  }
}

static void copy_bytes_range(const void *p, int64_t b, int64_t e) {
  const CopyCtx *c = (const CopyCtx *)p;
  memcpy(c->dst + b, c->src + b, (size_t)(e - b));
}

/**
 * dst[r·dst_stride + j] = src[r·src_stride + j] for r < rows, j < width (all in bytes): one
 * input of a Concat or one output of a SplitV, with the other axes folded into rows and width.
 */
void gl_copy_rows(int64_t rows, int64_t width, const void *src, int64_t src_stride, void *dst,
                  int64_t dst_stride) {
  const CopyCtx c = {(const char *)src, (char *)dst, width, src_stride, dst_stride};
  const int64_t floats = rows * width / 4;
  if (rows == 1 || (width == src_stride && width == dst_stride)) {
    /* One contiguous run: split its bytes. */
    const int64_t bytes = rows * width;
    run_parts(threads_for(floats, bytes / 4096), bytes, 64, copy_bytes_range, &c);
  } else {
    run_parts(threads_for(floats, rows), rows, 1, copy_rows_range, &c);
  }
}

/* ---------------------------------------- group norm -------------------------------------- */

/*
 * Group normalization (Wu & He 2018) on NHWC, fused: the composite tfjs graph makes ~9 passes
 * over the activation forward and ~11 backward; these make 2 each (per sample the [H·W, C] block
 * is ~100-200 KB, so the second pass reads from cache). Threads split the batch.
 *
 * Forward, per sample b and group g over its N = H·W·C/G values:
 *   μ = mean(x), σ⁻¹ = 1/√(var(x) + ε) (two-pass variance, in double),
 *   y = (x − μ)·σ⁻¹·γ_c + β_c;   mean[b,g] = μ and inv_std[b,g] = σ⁻¹ are kept for backward.
 * Backward with x̂ = (x − μ)·σ⁻¹:
 *   ∂β_c = Σ dy,  ∂γ_c = Σ dy·x̂  (over b and positions),
 *   dx = σ⁻¹·(dy·γ_c − mean_g(dy·γ) − x̂·mean_g(dy·γ·x̂)).
 */
static int gn_check(int batch, int channels, int groups) {
  return batch > 0 && channels > 0 && groups > 0 && channels % groups == 0 && groups <= 4096;
}

int gl_group_norm(int batch, int positions, int channels, int groups, const float *x,
                  const float *gamma, const float *beta, float eps, float *y, float *mean_out,
                  float *inv_std_out, int silu) {
  if (!gn_check(batch, channels, groups)) return -1;
  const int per = channels / groups;
  const double count = (double)positions * per;
  const int threads = threads_for((int64_t)batch * positions * channels, batch);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int b = 0; b < batch; b++) {
    double sum[4096], sq[4096];
    float mu[4096], inv[4096];
    const float *xb = x + (int64_t)b * positions * channels;
    float *yb = y + (int64_t)b * positions * channels;
    /* Per-channel sums in double, vectorised over the channels of each position (a per-group
     * inner loop over 4–16 channels does not vectorise), then per group. Two passes (mean, then
     * squared deviations); this sample's slice is still in cache for the second. */
    double acc[channels];
    float mu_c[channels];
    for (int c = 0; c < channels; c++) acc[c] = 0.0;
    for (int p = 0; p < positions; p++) {
      const float *restrict row = xb + (int64_t)p * channels;
      for (int c = 0; c < channels; c++) acc[c] += row[c];
    }
    for (int g = 0; g < groups; g++) sum[g] = sq[g] = 0.0;
    for (int c = 0; c < channels; c++) sum[c / per] += acc[c];
    for (int g = 0; g < groups; g++) mu[g] = (float)(sum[g] / count);
    for (int c = 0; c < channels; c++) {
      mu_c[c] = mu[c / per];
      acc[c] = 0.0;
    }
    for (int p = 0; p < positions; p++) {
      const float *restrict row = xb + (int64_t)p * channels;
      for (int c = 0; c < channels; c++) {
        const float d = row[c] - mu_c[c];
        acc[c] += d * d;
      }
    }
    for (int c = 0; c < channels; c++) sq[c / per] += acc[c];
    for (int g = 0; g < groups; g++) {
      inv[g] = (float)(1.0 / sqrt(sq[g] / count + (double)eps));
      mean_out[b * groups + g] = mu[g];
      inv_std_out[b * groups + g] = inv[g];
    }
    /* y = x·a_c + o_c with a_c = σ⁻¹_g·γ_c, o_c = β_c − μ_g·a_c: one multiply-add per value. */
    float a[channels], o[channels];
    for (int c = 0; c < channels; c++) {
      a[c] = inv[c / per] * gamma[c];
      o[c] = beta[c] - mu[c / per] * a[c];
    }
    for (int p = 0; p < positions; p++) {
      const float *restrict row = xb + (int64_t)p * channels;
      float *restrict out = yb + (int64_t)p * channels;
      if (silu) {
        for (int c = 0; c < channels; c++) {
          const float v = row[c] * a[c] + o[c];
          out[c] = v * sigmoid_f(v);
        }
      } else {
        for (int c = 0; c < channels; c++) out[c] = row[c] * a[c] + o[c];
      }
    }
  }
  return 0;
}

/* With silu = 1 the op is SiLU(GN(x)) and dy is the gradient of its output: the gradient at the
 * norm's output, dy·σ(y)·(1 + y·(1 − σ(y))) with y = x̂·γ + β recomputed from x, replaces dy
 * (y is never stored; the first pass parks that gradient in dx, where the second reads it). */
static inline float silu_back(float dy, float y) {
  const float s = sigmoid_f(y);
  return dy * (s * (1.0f + y * (1.0f - s)));
}

int gl_group_norm_grad(int batch, int positions, int channels, int groups, const float *dy,
                       const float *x, const float *gamma, const float *mean, const float *inv_std,
                       float *dx, float *dgamma, float *dbeta, const float *beta, int silu) {
  if (silu && beta == NULL) return -1;
  if (!gn_check(batch, channels, groups)) return -1;
  const int per = channels / groups;
  const double count = (double)positions * per;
  const int threads = threads_for((int64_t)batch * positions * channels, batch);
  double *partial = calloc((size_t)threads * 2 * channels, sizeof(double));
  if (partial == NULL) return -1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    double *dg = partial + (size_t)omp_get_thread_num() * 2 * channels;
    double *db = dg + channels;
    float mu_c[channels], inv_c[channels], sum_dy[channels], sum_dyx[channels];
#pragma omp for schedule(static)
    for (int b = 0; b < batch; b++) {
      const float *mu = mean + b * groups;
      const float *inv = inv_std + b * groups;
      const int64_t base = (int64_t)b * positions * channels;
      for (int c = 0; c < channels; c++) {
        mu_c[c] = mu[c / per];
        inv_c[c] = inv[c / per];
        sum_dy[c] = 0.0f;
        sum_dyx[c] = 0.0f;
      }
      /* Per-channel Σ dy and Σ dy·x̂ over this sample's positions (vectorised over c). */
      for (int p = 0; p < positions; p++) {
        const float *restrict xr = x + base + (int64_t)p * channels;
        const float *restrict dr = dy + base + (int64_t)p * channels;
        if (silu) {
          /* The gradient at GN's output goes to dx now and is read back (from cache) below. */
          float *restrict keep = dx + base + (int64_t)p * channels;
          for (int c = 0; c < channels; c++) {
            const float xh = (xr[c] - mu_c[c]) * inv_c[c];
            const float d = silu_back(dr[c], xh * gamma[c] + beta[c]);
            keep[c] = d;
            sum_dy[c] += d;
            sum_dyx[c] += d * xh;
          }
        } else {
          for (int c = 0; c < channels; c++) {
            const float xh = (xr[c] - mu_c[c]) * inv_c[c];
            sum_dy[c] += dr[c];
            sum_dyx[c] += dr[c] * xh;
          }
        }
      }
      double s1[4096], s2[4096];
      for (int g = 0; g < groups; g++) s1[g] = s2[g] = 0.0;
      for (int c = 0; c < channels; c++) {
        db[c] += sum_dy[c];
        dg[c] += sum_dyx[c];
        s1[c / per] += (double)sum_dy[c] * gamma[c];
        s2[c / per] += (double)sum_dyx[c] * gamma[c];
      }
      /* dx = σ⁻¹·(dy·γ_c − m1_g − x̂·m2_g) = dy·A_c + x·B_c + C_c. */
      float A[channels], B[channels], C[channels];
      for (int c = 0; c < channels; c++) {
        const int g = c / per;
        const float m1 = (float)(s1[g] / count), m2 = (float)(s2[g] / count);
        A[c] = inv_c[c] * gamma[c];
        B[c] = -inv_c[c] * inv_c[c] * m2;
        C[c] = -inv_c[c] * m1 + inv_c[c] * inv_c[c] * m2 * mu_c[c];
      }
      for (int p = 0; p < positions; p++) {
        const float *restrict xr = x + base + (int64_t)p * channels;
        const float *restrict dr = dy + base + (int64_t)p * channels;
        float *restrict out = dx + base + (int64_t)p * channels;
        if (silu) {
          for (int c = 0; c < channels; c++) out[c] = out[c] * A[c] + xr[c] * B[c] + C[c];
        } else {
          for (int c = 0; c < channels; c++) out[c] = dr[c] * A[c] + xr[c] * B[c] + C[c];
        }
      }
    }
  }
  for (int c = 0; c < channels; c++) {
    double g = 0.0, bsum = 0.0;
    for (int t = 0; t < threads; t++) {
      g += partial[(size_t)t * 2 * channels + c];
      bsum += partial[(size_t)t * 2 * channels + channels + c];
    }
    dgamma[c] = (float)g;
    dbeta[c] = (float)bsum;
  }
  free(partial);
  return 0;
}

/* ---------------------------------------- SiLU -------------------------------------------- */

/*
 * SiLU (Swish) y = x·σ(x) and its gradient dx = dy·σ(x)·(1 + x·(1 − σ(x))), each one pass that
 * recomputes σ from x, where the composite ops take 2 passes forward (σ, multiply, and σ kept
 * for backward) and 5 backward. Used by lib/nn/blocks.ts silu via the GenlabSilu kernels.
 */
typedef struct {
  const float *dy;
  const float *x;
  float *out;
} SiluCtx;

static void silu_range(const void *p, int64_t b, int64_t e) {
  const SiluCtx *c = (const SiluCtx *)p;
  const float *restrict x = c->x;
  float *restrict y = c->out;
  for (int64_t i = b; i < e; i++) y[i] = x[i] * sigmoid_f(x[i]);
}

static void silu_grad_range(const void *p, int64_t b, int64_t e) {
  const SiluCtx *c = (const SiluCtx *)p;
  const float *restrict dy = c->dy;
  const float *restrict x = c->x;
  float *restrict dx = c->out;
  for (int64_t i = b; i < e; i++) {
    const float s = sigmoid_f(x[i]);
    dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
  }
}

void gl_silu(int64_t n, const float *x, float *y) {
  const SiluCtx c = {NULL, x, y};
  run_parts(threads_for(n, n / 16), n, 16, silu_range, &c);
}

void gl_silu_grad(int64_t n, const float *dy, const float *x, float *dx) {
  const SiluCtx c = {dy, x, dx};
  run_parts(threads_for(n, n / 16), n, 16, silu_grad_range, &c);
}

/* ---------------------------------------- nearest resize ---------------------------------- */

/*
 * Nearest-neighbour resize of NHWC images and its gradient, given the source row/column of every
 * output row/column (computed once in TypeScript by the same formula as the cpu/wasm kernels, so
 * every alignCorners/halfPixelCenters mode matches them). The forward copies whole C-channel
 * pixels; the gradient scatters dy back, parallel over samples (no two threads write one pixel).
 */
void gl_resize_nearest(int batch, int in_h, int in_w, int channels, int out_h, int out_w,
                       const int32_t *src_row, const int32_t *src_col, const float *x, float *y) {
  const int64_t work = (int64_t)batch * out_h * out_w * channels;
  const int threads = threads_for(work, (int64_t)batch * out_h);
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads) if (threads > 1)
  for (int b = 0; b < batch; b++) {
    for (int r = 0; r < out_h; r++) {
      const float *in_row = x + ((int64_t)b * in_h + src_row[r]) * in_w * channels;
      float *out_row = y + ((int64_t)b * out_h + r) * out_w * channels;
      for (int c = 0; c < out_w; c++) {
        memcpy(out_row + (int64_t)c * channels, in_row + (int64_t)src_col[c] * channels,
               sizeof(float) * channels);
      }
    }
  }
}

void gl_resize_nearest_grad(int batch, int in_h, int in_w, int channels, int out_h, int out_w,
                            const int32_t *src_row, const int32_t *src_col, const float *dy,
                            float *dx) {
  const int64_t work = (int64_t)batch * out_h * out_w * channels;
  const int threads = threads_for(work, batch);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int b = 0; b < batch; b++) {
    float *dxb = dx + (int64_t)b * in_h * in_w * channels;
    memset(dxb, 0, sizeof(float) * (size_t)in_h * in_w * channels);
    for (int r = 0; r < out_h; r++) {
      float *in_row = dxb + (int64_t)src_row[r] * in_w * channels;
      const float *out_row = dy + ((int64_t)b * out_h + r) * out_w * channels;
      for (int c = 0; c < out_w; c++) {
        float *restrict to = in_row + (int64_t)src_col[c] * channels;
        const float *restrict from = out_row + (int64_t)c * channels;
        for (int k = 0; k < channels; k++) to[k] += from[k];
      }
    }
  }
}

/* ---------------------------------------- fused optimizer updates ------------------------- */

/*
 * Adam / AdamW and the EMA of weights over ALL of a model's variables in one call: tfjs' Adam
 * runs ~12 element-wise kernels per variable (≈1,100 calls for a 92-variable U-Net), each a
 * separate FFI call, allocation and pass over memory. Here the variables are concatenated
 * logically — `starts` holds the prefix sums of their sizes — and the total is split into one
 * contiguous range per thread, so small and large variables balance alike.
 *
 * Tensors are given as byte offsets into one base pointer (the wasm heap): for variable i,
 * offsets[k·i + j] is its j-th tensor. Outputs are separate tensors (tfjs kernels do not write
 * their inputs), so an output may not alias an input of another variable.
 *
 * Adam (Kingma & Ba 2015, Algorithm 1, in tfjs' order of operations), step t, for g = ∇:
 *   g ← g + λ·w (L2 decay, unless decoupled);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
 *   u = (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε);
 *   w ← w − η·u, or with decoupled decay (AdamW, Loshchilov & Hutter 2019) w ← w − ηλw − η·u.
 * params (double): η, β₁, β₂, ε, λ, 1−β₁ᵗ, 1−β₂ᵗ, decoupled (0/1).
 * EMA: shadow ← d·shadow + (1−d)·live.
 */
enum { ADAM_TENSORS = 7, EMA_TENSORS = 3 };

typedef struct {
  int count;
  uint8_t *heap;
  const int64_t *offsets;
  const int64_t *starts;
  float lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, decay, bias1, bias2;
  int decoupled;
} OptimCtx;

/** First variable whose range [starts[i], starts[i+1]) contains element `at`. */
static int variable_at(const int64_t *starts, int count, int64_t at) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (starts[mid + 1] <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void adam_range(const void *p, int64_t begin, int64_t end) {
  const OptimCtx *c = (const OptimCtx *)p;
  for (int i = variable_at(c->starts, c->count, begin); i < c->count && c->starts[i] < end; i++) {
    const int64_t from = (begin > c->starts[i] ? begin : c->starts[i]) - c->starts[i];
    const int64_t to = (end < c->starts[i + 1] ? end : c->starts[i + 1]) - c->starts[i];
    const int64_t *o = c->offsets + (int64_t)ADAM_TENSORS * i;
    const float *restrict w = (const float *)(c->heap + o[0]);
    const float *restrict m = (const float *)(c->heap + o[1]);
    const float *restrict v = (const float *)(c->heap + o[2]);
    const float *restrict g = (const float *)(c->heap + o[3]);
    float *restrict w1 = (float *)(c->heap + o[4]);
    float *restrict m1 = (float *)(c->heap + o[5]);
    float *restrict v1 = (float *)(c->heap + o[6]);
    /* Locals, so the stores below cannot alias the parameters (the loop vectorises). */
    const float l2 = c->decoupled ? 0.0f : c->decay;
    const float shrink = c->decoupled ? c->lr * c->decay : 0.0f;
    const float beta1 = c->beta1, one_minus_beta1 = c->one_minus_beta1;
    const float beta2 = c->beta2, one_minus_beta2 = c->one_minus_beta2;
    const float bias1 = c->bias1, bias2 = c->bias2, eps = c->eps, minus_lr = -c->lr;
    for (int64_t k = from; k < to; k++) {
      const float grad = g[k] + l2 * w[k];
      const float mk = m[k] * beta1 + grad * one_minus_beta1;
      const float vk = v[k] * beta2 + (grad * grad) * one_minus_beta2;
      const float update = (mk / bias1) / (sqrtf(vk / bias2) + eps);
      m1[k] = mk;
      v1[k] = vk;
      w1[k] = (w[k] - shrink * w[k]) + update * minus_lr;
    }
  }
}

static void ema_range(const void *p, int64_t begin, int64_t end) {
  const OptimCtx *c = (const OptimCtx *)p;
  const float d = c->beta1, one_minus_d = c->one_minus_beta1;
  for (int i = variable_at(c->starts, c->count, begin); i < c->count && c->starts[i] < end; i++) {
    const int64_t from = (begin > c->starts[i] ? begin : c->starts[i]) - c->starts[i];
    const int64_t to = (end < c->starts[i + 1] ? end : c->starts[i + 1]) - c->starts[i];
    const int64_t *o = c->offsets + (int64_t)EMA_TENSORS * i;
    const float *restrict shadow = (const float *)(c->heap + o[0]);
    const float *restrict live = (const float *)(c->heap + o[1]);
    float *restrict out = (float *)(c->heap + o[2]);
    for (int64_t k = from; k < to; k++) out[k] = shadow[k] * d + live[k] * one_minus_d;
  }
}

/** One Adam/AdamW step for `count` variables (see above). Returns 0, or −1 for bad arguments. */
int gl_adam(int count, uint8_t *heap, const int64_t *offsets, const int64_t *starts,
            const double *params) {
  if (count <= 0 || starts[0] != 0) return -1;
  const OptimCtx c = {
      count, heap, offsets, starts,
      (float)params[0], (float)params[1], (float)(1.0 - params[1]), (float)params[2],
      (float)(1.0 - params[2]), (float)params[3], (float)params[4], (float)params[5],
      (float)params[6], params[7] != 0.0,
  };
  const int64_t total = starts[count];
  run_parts(threads_for(total, total / 16), total, 16, adam_range, &c);
  return 0;
}

/** shadow ← d·shadow + (1−d)·live for `count` variables, into separate outputs. */
int gl_ema(int count, uint8_t *heap, const int64_t *offsets, const int64_t *starts, double decay) {
  if (count <= 0 || starts[0] != 0) return -1;
  OptimCtx c;
  memset(&c, 0, sizeof c);
  c.count = count;
  c.heap = heap;
  c.offsets = offsets;
  c.starts = starts;
  c.beta1 = (float)decay;
  c.one_minus_beta1 = (float)(1.0 - decay);
  const int64_t total = starts[count];
  run_parts(threads_for(total, total / 16), total, 16, ema_range, &c);
  return 0;
}
