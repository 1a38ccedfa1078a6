/**
 * The one checkpoint format: a single file `checkpoints/step-XXXXXXXX.ckpt`, written atomically
 * and verified on every read.
 *
 *   "GLCKPT02" | uint32 LE header length | header JSON | zero padding to 4 bytes | tensor data |
 *   SHA-256 of everything before it (32 bytes)
 *
 * The header lists each tensor (name, dtype, shape, byte offset) and carries the JSON `extra`
 * (step, RNG and data-iterator state), so model weights, optimizer state and everything needed to
 * continue the exact same run live in one file that is either complete or absent. The trailing
 * checksum covers header and payload: a truncated or bit-flipped file is reported as damaged
 * (`DamagedCheckpointError`) instead of loading garbage. Files of the previous version
 * ("GLCKPT01", no checksum) are still read, with structural checks only.
 */
import * as tf from "@tensorflow/tfjs";
import { UserInputError } from "../util/errors.ts";
import { type WriteFile, writeFileAtomic } from "../util/files.ts";

const MAGIC = "GLCKPT02";
const MAGIC_V1 = "GLCKPT01";
const DIGEST_BYTES = 32;

interface TensorRecord {
  name: string;
  dtype: "float32" | "int32";
  shape: number[];
  offset: number;
  length: number;
}

interface Header<Extra> {
  tensors: TensorRecord[];
  extra: Extra;
}

export interface CheckpointContents<Extra> {
  tensors: Map<string, tf.Tensor>;
  extra: Extra;
}

/** A checkpoint file that cannot be trusted (truncated, bit-flipped, not a checkpoint). */
export class DamagedCheckpointError extends UserInputError {
  constructor(readonly path: string, readonly problem: string) {
    super(`checkpoint ${path} is damaged (${problem})`);
    this.name = "DamagedCheckpointError";
  }
}

export async function saveCheckpoint<Extra>(
  path: string,
  tensors: Map<string, tf.Tensor>,
  extra: Extra,
  write?: WriteFile,
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
  const bodyLength = dataStart + offset;
  const out = new Uint8Array(bodyLength + DIGEST_BYTES);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let position = dataStart;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  out.set(await sha256(out.subarray(0, bodyLength)), bodyLength);
  await writeFileAtomic(path, out, write);
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

/** Check a checkpoint's bytes (magic, checksum, header, tensor bounds) without touching tfjs;
 * returns the parsed header and where the tensor data starts. */
async function verifyBytes<Extra>(
  path: string,
  bytes: Uint8Array,
): Promise<{ header: Header<Extra>; dataStart: number; dataEnd: number }> {
  const damaged = (problem: string): never => {
    throw new DamagedCheckpointError(path, problem);
  };
  if (bytes.length < 12) damaged(`${bytes.length} bytes, too short`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC && magic !== MAGIC_V1) damaged("not a genlab checkpoint: bad magic");
  let dataEnd = bytes.length;
  if (magic === MAGIC) {
    if (bytes.length < 12 + DIGEST_BYTES) damaged(`${bytes.length} bytes, too short`);
    dataEnd = bytes.length - DIGEST_BYTES;
    const expected = await sha256(bytes.subarray(0, dataEnd));
    const stored = bytes.subarray(dataEnd);
    if (!expected.every((b, i) => b === stored[i])) {
      damaged("checksum mismatch: truncated or corrupted");
    }
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headerLength > dataEnd) damaged("header runs past the end of the file");
  let header: Header<Extra> | null = null;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    damaged("header is not valid JSON");
  }
  if (!header || !Array.isArray(header.tensors)) damaged("header lists no tensors");
  const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
  for (const record of header!.tensors) {
    const size = (record.shape ?? []).reduce((a, b) => a * b, 1) * 4;
    if (record.length !== size || dataStart + record.offset + record.length > dataEnd) {
      damaged(`tensor '${record.name}' runs past the end of the file`);
    }
  }
  return { header: header!, dataStart, dataEnd };
}

/** Read and verify a checkpoint; throws DamagedCheckpointError when it cannot be trusted. Does
 * not create tensors, so it runs before any backend is set up. Returns the checkpoint's `extra`. */
export async function verifyCheckpoint<Extra>(path: string): Promise<Extra> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new DamagedCheckpointError(path, `unreadable: ${(error as Error).message}`);
  }
  return (await verifyBytes<Extra>(path, bytes)).header.extra;
}

/** Read a verified checkpoint; the caller disposes the returned tensors. */
export async function loadCheckpoint<Extra>(path: string): Promise<CheckpointContents<Extra>> {
  const bytes = await Deno.readFile(path);
  const { header, dataStart } = await verifyBytes<Extra>(path, bytes);
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

export interface CheckpointSearch {
  /** The newest checkpoint that verifies, or null when none does. */
  intact: { step: number; path: string } | null;
  /** Newer checkpoints skipped because they are damaged (one message each, naming the file). */
  damaged: DamagedCheckpointError[];
}

/**
 * Find the newest checkpoint that verifies (and, if given, is at or before `maxStep`). Damaged
 * newer files are returned so the caller can warn about each by name.
 */
export async function findIntactCheckpoint(
  dir: string,
  maxStep = Infinity,
): Promise<CheckpointSearch> {
  const damaged: DamagedCheckpointError[] = [];
  for (const candidate of (await listCheckpoints(dir)).reverse()) {
    if (candidate.step > maxStep) continue;
    try {
      const extra = await verifyCheckpoint<{ step?: number }>(candidate.path);
      if (extra?.step !== undefined && extra.step !== candidate.step) {
        throw new DamagedCheckpointError(
          candidate.path,
          `holds step ${extra.step}, its name says ${candidate.step}`,
        );
      }
      return { intact: candidate, damaged };
    } catch (error) {
      if (!(error instanceof DamagedCheckpointError)) throw error;
      damaged.push(error);
    }
  }
  return { intact: null, damaged };
}

export function checkpointPath(dir: string, step: number): string {
  return `${dir}/step-${String(step).padStart(8, "0")}.ckpt`;
}
