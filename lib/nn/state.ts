/**
 * Model state as named tensors, for checkpoints. tf.layers models hold LayerVariables (read/
 * write), raw models hold tf.Variables (assign); both become `{ name → tensor }` here.
 *
 * Names are positional (`<group>/<index>:<layer weight name>`), not tfjs' auto-numbered variable
 * names, which change with how many models a process has built before (tests, notebooks).
 */
import * as tf from "@tensorflow/tfjs";

export type WeightOwner = tf.LayersModel | tf.Variable[];

function entries(
  owner: WeightOwner,
): Array<{ label: string; read(): tf.Tensor; write(t: tf.Tensor): void }> {
  if (Array.isArray(owner)) {
    return owner.map((v) => ({
      label: v.name,
      read: () => v,
      write: (t: tf.Tensor) => v.assign(t),
    }));
  }
  return owner.weights.map((w) => ({
    label: w.originalName,
    read: () => w.read(),
    write: (t: tf.Tensor) => w.write(t),
  }));
}

/** Current weights of each group (the tensors are the live ones: do not dispose). */
export function collectWeights(groups: Record<string, WeightOwner>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [group, owner] of Object.entries(groups)) {
    entries(owner).forEach((e, i) => out.set(`${group}/${i}:${e.label}`, e.read()));
  }
  return out;
}

/** Write saved values back by position; shapes must match exactly. */
export function restoreWeights(
  groups: Record<string, WeightOwner>,
  saved: Map<string, tf.Tensor>,
): void {
  const byPosition = new Map<string, tf.Tensor>();
  for (const [name, tensor] of saved) byPosition.set(name.slice(0, name.indexOf(":")), tensor);
  for (const [group, owner] of Object.entries(groups)) {
    entries(owner).forEach((e, i) => {
      const key = `${group}/${i}`;
      const value = byPosition.get(key);
      if (!value) {
        throw new Error(
          `checkpoint has no weight ${key} (${e.label}): was it written by another model config?`,
        );
      }
      const current = e.read();
      if (!tf.util.arraysEqual(current.shape, value.shape)) {
        throw new Error(
          `checkpoint weight ${key} has shape [${value.shape}] but the model expects [${current.shape}]: ` +
            "resume with the config the run was started with",
        );
      }
      e.write(value);
    });
  }
}
