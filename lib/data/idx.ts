/**
 * The IDX format of (Fashion-)MNIST (http://yann.lecun.com/exdb/mnist/): a magic number whose
 * third byte is the element type (0x08 = uint8) and fourth the number of dimensions, then the
 * big-endian uint32 dimension sizes, then the data.
 */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error("not an IDX file (bad magic number)");
  }
  if (bytes[2] !== 0x08) {
    throw new Error(`IDX element type 0x${bytes[2].toString(16)} unsupported (only uint8)`);
  }
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * rank;
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== size) {
    throw new Error(
      `IDX file truncated: header says ${size} values, found ${bytes.length - offset}`,
    );
  }
  return { shape, data: bytes.subarray(offset) };
}

/** gunzip with the runtime's built-in DecompressionStream. */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
