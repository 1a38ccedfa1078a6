/**
 * The gradient of nearest-neighbour resizing, shared by the cpu and wasm fixes: scatter dy back
 * through exactly the index map of the forward kernel (tfjs-backend-cpu's ResizeNearestNeighbor,
 * which the wasm forward matches), so every alignCorners/halfPixelCenters mode is right.
 */

export interface ResizeNearestGradAttrs {
  alignCorners: boolean;
  halfPixelCenters?: boolean;
}

/** Source index of output position `i` along one axis, as the cpu forward kernel computes it. */
export function nearestSourceIndex(
  i: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): number {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  let src = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  if (halfPixelCenters) src = Math.max(0, src);
  return src;
}

/** dx[b, src(y), src(x), c] += dy[b, y, x, c] over NHWC float data. */
export function resizeNearestNeighborGradValues(
  dy: ArrayLike<number>,
  dyShape: number[],
  imagesShape: number[],
  alignCorners: boolean,
  halfPixelCenters: boolean,
  out: Float32Array,
): Float32Array {
  const [batch, inH, inW, depth] = imagesShape;
  const [, outH, outW] = dyShape;
  const srcRow = Array.from(
    { length: outH },
    (_, r) => nearestSourceIndex(r, inH, outH, alignCorners, halfPixelCenters),
  );
  const srcCol = Array.from(
    { length: outW },
    (_, c) => nearestSourceIndex(c, inW, outW, alignCorners, halfPixelCenters),
  );
  out.fill(0);
  let k = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (b * inH + srcRow[r]) * inW;
      for (let c = 0; c < outW; c++) {
        const base = (rowBase + srcCol[c]) * depth;
        for (let d = 0; d < depth; d++) out[base + d] += dy[k++];
      }
    }
  }
  return out;
}
