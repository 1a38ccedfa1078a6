/**
 * The one checkpoint format: a single file `checkpoints/step-XXXXXXXX.ckpt`, written atomically.
 *
 *   "GLCKPT01" | uint32 LE header length | header JSON | zero padding to 4 bytes | tensor data
 *
 * The header lists each tensor (name, dtype, shape, byte offset) and carries the JSON `extra`
 * (step, RNG and data-iterator state), so model weights, optimizer state and everything needed to
 * continue the exact same run live in one file that is either complete or absent.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../util/files.ts";

const MAGIC = "GLCKPT01";

interface TensorRecord {
  name: string;
  dtype: "float32" | "int32";
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointContents<Extra> {
  tensors: Map<string, tf.Tensor>;
  extra: Extra;
}

export async function saveCheckpoint<Extra>(
  path: string,
  tensors: Map<string, tf.Tensor>,
  extra: Extra,
): Promise<void> {
  const records: TensorRecord[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const dtype = tensor.dtype === "int32" ? "int32" : "float32";
    const values = tensor.dtype === dtype
      ? await tensor.data()
      : await tensor.cast("float32").data();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    records.push({ name, dtype, shape: tensor.shape, offset, length: bytes.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const header = new TextEncoder().encode(JSON.stringify({ tensors: records, extra }));
  const headerEnd = 8 + 4 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let position = dataStart;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  await writeFileAtomic(path, out);
}

/** Read a checkpoint; the caller disposes the returned tensors. */
export async function loadCheckpoint<Extra>(path: string): Promise<CheckpointContents<Extra>> {
  const bytes = await Deno.readFile(path);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`${path} is not a genlab checkpoint (bad magic)`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as {
    tensors: TensorRecord[];
    extra: Extra;
  };
  const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
  const tensors = new Map<string, tf.Tensor>();
  for (const record of header.tensors) {
    const start = dataStart + record.offset;
    const raw = bytes.slice(start, start + record.length).buffer;
    const values = record.dtype === "int32" ? new Int32Array(raw) : new Float32Array(raw);
    tensors.set(record.name, tf.tensor(values, record.shape, record.dtype));
  }
  return { tensors, extra: header.extra };
}

/** Checkpoint files of a run dir, oldest first. */
export async function listCheckpoints(dir: string): Promise<Array<{ step: number; path: string }>> {
  const found: Array<{ step: number; path: string }> = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const match = /^step-(\d+)\.ckpt$/.exec(entry.name);
      if (match) found.push({ step: Number(match[1]), path: `${dir}/${entry.name}` });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort((a, b) => a.step - b.step);
}

export function checkpointPath(dir: string, step: number): string {
  return `${dir}/step-${String(step).padStart(8, "0")}.ckpt`;
}
