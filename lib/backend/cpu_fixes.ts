/**
 * Fixes for wrong kernels in @tensorflow/tfjs-backend-cpu 4.22.
 *
 * ResizeNearestNeighborGrad (the gradient of resizeNearestNeighbor, i.e. of
 * tf.layers.upSampling2d) reads dy at the *images'* batch offset instead of dy's, so every
 * batch element after the first gets the gradient of the wrong rows (or of zeros). It also
 * ignores halfPixelCenters. The replacement scatters dy back through exactly the index map the
 * forward kernel uses, so it is right by construction for every mode.
 */
import * as tf from "@tensorflow/tfjs";
import {
  type ResizeNearestGradAttrs,
  resizeNearestNeighborGradValues,
} from "./resize_nearest_grad.ts";

// deno-lint-ignore no-explicit-any
type CpuBackend = any;

function resizeNearestNeighborGradCpu(args: {
  inputs: { images: tf.TensorInfo; dy: tf.TensorInfo };
  backend: CpuBackend;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { images, dy } = args.inputs;
  const attrs = args.attrs as unknown as ResizeNearestGradAttrs;
  const dyValues = args.backend.data.get(dy.dataId).values as Float32Array;
  const out = new Float32Array(tf.util.sizeFromShape(images.shape));
  resizeNearestNeighborGradValues(
    dyValues,
    dy.shape,
    images.shape,
    attrs.alignCorners,
    attrs.halfPixelCenters ?? false,
    out,
  );
  return args.backend.makeTensorInfo(images.shape, "float32", out);
}

let registered = false;

export function registerCpuFixes(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel("ResizeNearestNeighborGrad", "cpu") !== undefined) {
    tf.unregisterKernel("ResizeNearestNeighborGrad", "cpu");
  }
  tf.registerKernel({
    kernelName: "ResizeNearestNeighborGrad",
    backendName: "cpu",
    kernelFunc: resizeNearestNeighborGradCpu as unknown as tf.KernelFunc,
  });
}
