/**
 * Gradient registrations tfjs 4.22 lacks or gets slow, on every backend.
 */
import * as tf from "@tensorflow/tfjs";

let registered = false;

/** Register a gradient over tfjs' own without its "Overriding the gradient" console warning. */
function overrideGradient(config: tf.GradConfig): void {
  const wasTest = tf.env().getBool("IS_TEST");
  tf.env().set("IS_TEST", true); // tfjs' warn() is silent in tests
  try {
    tf.registerGradient(config);
  } finally {
    tf.env().set("IS_TEST", wasTest);
  }
}

/** FusedBatchNorm's gradient as tfjs writes it, except that dx multiplies by the per-channel
 * 1/sqrt(var + eps) through broadcasting instead of first tiling it to the full activation shape
 * (wasm's Tile kernel took ≈35 ms per batch-norm layer at batch 64). Same values. */
const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: "FusedBatchNorm",
  inputsToSave: ["x", "mean", "variance", "scale"],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const scaleValue = scale == null ? tf.scalar(1) : scale;
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(g, scaleValue);
    const rsqrtVar = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rsqrtVar, rsqrtVar), rsqrtVar), tf.scalar(-0.5));
    const reduce = (t: tf.Tensor) =>
      tf.reshape(mean.rank === 1 ? tf.sum(t, reductionAxes) : t, mean.shape);
    return {
      x: () => tf.reshape(tf.mul(tf.mul(g, rsqrtVar), scaleValue), x.shape),
      mean: () => reduce(tf.mul(tf.mul(rsqrtVar, tf.scalar(-1)), dyTimesScale)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
      scale: () => reduce(tf.mul(g, tf.mul(xMinusMean, rsqrtVar))),
      offset: () => reduce(g),
    };
  },
};

/** BatchMatMul's gradient as tfjs writes it, plus the reduction over broadcast batch dims tfjs
 * forgets: d/dB of A[2,3,m,k]·B[k,n] must be summed over the 2×3 batch back to [k,n] (tfjs 4.22
 * throws "The gradient of input 'b' has shape ..."). */
const batchMatMulGrad: tf.GradConfig = {
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    const fit = (grad: tf.Tensor, like: tf.Tensor): tf.Tensor => {
      if (grad.rank === like.rank && grad.shape.every((d, i) => d === like.shape[i])) return grad;
      const axes = tf.backend_util.getReductionAxes(like.shape, grad.shape);
      return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, like.shape);
    };
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      da = () => tf.matMul(g, b, false, true);
      db = () => tf.matMul(a, g, true, false);
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(g, b, false, false);
      db = () => tf.matMul(g, a, true, false);
    } else if (transposeA && !transposeB) {
      da = () => tf.matMul(b, g, false, true);
      db = () => tf.matMul(a, g, false, false);
    } else {
      da = () => tf.matMul(b, g, true, true);
      db = () => tf.matMul(g, a, true, true);
    }
    return { a: () => fit(da(), a), b: () => fit(db(), b) };
  },
};

/** The gradient of Sum/Mean broadcasts dy back to x's shape. tfjs writes it as
 * `dy · ones(x.shape)`, and `ones()` fills a JavaScript array of x's size and uploads it: ≈22 ms
 * of every 150 ms DCGAN step on native (batch-norm moments), profiled with --cpu-prof. `onesLike`
 * is a backend kernel (a fill where the tensor lives); Mean divides the small dy first. */
function reductionGrad(kernelName: "Sum" | "Mean"): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
      const expandedShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const reduceSize = axes.reduce((n, axis) => n * x.shape[axis], 1);
      return {
        x: () => {
          const scaled = kernelName === "Mean"
            ? tf.div(dy as tf.Tensor, reduceSize)
            : dy as tf.Tensor;
          return tf.mul(tf.reshape(scaled, expandedShape), tf.onesLike(x).cast("float32"));
        },
      };
    },
  };
}

/**
 * A gradient for the FusedConv2D kernel itself (convolution + bias, linear activation, NHWC),
 * so layers can run it as one kernel (native: the bias is added inside oneDNN) and still get
 * tfjs' lazy, pruned backward pass: tf.fused.conv2d's customGrad computes dx, dfilter and dbias
 * eagerly, including dx of a network's first convolution, whose input needs no gradient.
 */
const fusedConv2dGrad: tf.GradConfig = {
  kernelName: "FusedConv2D",
  inputsToSave: ["x", "filter"],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = dy as tf.Tensor4D;
    const { strides, pad, dataFormat, dilations, activation, dimRoundingMode } = attrs as {
      strides: [number, number] | number;
      pad: "valid" | "same" | number;
      dataFormat?: string;
      dilations?: [number, number] | number;
      activation?: string;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const unitDilation = dilations === undefined || dilations === 1 ||
      (Array.isArray(dilations) && dilations.every((d) => d === 1));
    if (
      (activation ?? "linear") !== "linear" || (dataFormat ?? "NHWC") !== "NHWC" || !unitDilation
    ) {
      throw new Error("FusedConv2D gradient: only linear NHWC undilated convolutions");
    }
    return {
      x: () => tf.conv2dTranspose(g, filter, x.shape, strides, pad, dimRoundingMode),
      filter: () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: g }, {
          strides,
          pad,
          dataFormat: "NHWC",
          ...(dimRoundingMode === undefined ? {} : { dimRoundingMode }),
          filterShape: filter.shape,
        }) as tf.Tensor,
      bias: () => tf.sum(g, [0, 1, 2]),
    };
  },
};

/** Comparison ops are piecewise constant: their gradient is zero. tfjs registers none, so a
 * second-order gradient through leakyRelu/relu (WGAN-GP's penalty) fails with
 * "gradient function not found for Greater". */
export function registerGradientFixes(): void {
  if (registered) return;
  registered = true;
  for (const kernelName of ["Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "NotEqual"]) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ["a", "b"],
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({
        a: () => tf.zerosLike(saved[0]),
        b: () => tf.zerosLike(saved[1]),
      }),
    });
  }
  overrideGradient(fusedBatchNormGrad);
  if (tf.getGradient("FusedConv2D") === undefined) tf.registerGradient(fusedConv2dGrad);
  overrideGradient(batchMatMulGrad);
  overrideGradient(reductionGrad("Sum"));
  overrideGradient(reductionGrad("Mean"));
}
