/**
 * Typed model configs: every model declares its options ONCE, as a zod object schema, and gets
 * from that one declaration
 *   - the defaults (`defaults`),
 *   - validation with a one-line error that names the option, the allowed values and the model
 *     (`parse`, used for `--set`, `--quick`, config.json on resume/sample/eval),
 *   - `--set key=value` coercion from CLI strings by the option's declared type (`coerce`),
 *   - the option table for `train <model> --help`, the README and notebooks (`options`, `table`).
 *
 * Declare options with the helpers below (`int`, `number`, `oneOf`, `flag`); each is a plain zod
 * schema with `.default()` and `.describe()`, so anything zod offers also works. Cross-option
 * rules go in `rules` (checked on the whole config); rules that need the data's shape (e.g. image
 * sides divisible by 4) go in `dataRules`. Options that never touch the training trajectory (an
 * EMA's decay: the live weights, optimizer and data order do not read it) go in `resumable`, and
 * only those may change with `train --resume <run> --set key=value`.
 *
 *   export const DCGAN_CONFIG = defineConfig("dcgan", {
 *     latentDim: int(100, { min: 1, max: 4096 }, "dimension of z ~ N(0, I)"),
 *     discriminatorNorm: oneOf(["batch", "none"], "batch", "normalization in D's hidden layer"),
 *   });
 *   export type DcganConfig = ConfigOf<typeof DCGAN_CONFIG>;
 */
import { z } from "zod";
import { UserInputError } from "../util/errors.ts";
import type { DataSpec } from "./types.ts";

export { z };

// ---------------------------------------------------------------------------------------------
// option helpers (plain zod schemas with a default and a description)

/** An integer option in [min, max]. */
export function int(defaultValue: number, range: { min: number; max: number }, doc: string) {
  return z.number().int().min(range.min).max(range.max).default(defaultValue).describe(doc);
}

/** A real-valued option; `gt`/`lt` give open bounds (e.g. a learning rate > 0). */
export function number(
  defaultValue: number,
  range: { min?: number; max?: number; gt?: number; lt?: number },
  doc: string,
) {
  let schema = z.number();
  if (range.min !== undefined) schema = schema.min(range.min);
  if (range.max !== undefined) schema = schema.max(range.max);
  if (range.gt !== undefined) schema = schema.gt(range.gt);
  if (range.lt !== undefined) schema = schema.lt(range.lt);
  return schema.default(defaultValue).describe(doc);
}

/** One of a fixed set of strings (options are string unions, not booleans). */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  defaultValue: T[number],
  doc: string,
) {
  // deno-lint-ignore no-explicit-any
  return z.enum(values as any).default(defaultValue as any).describe(
    doc,
  ) as unknown as z.ZodDefault<
    z.ZodEnum<{ [K in T[number]]: K }>
  >;
}

/** A yes/no option (prefer `oneOf` when the choice could ever grow past two). */
export function flag(defaultValue: boolean, doc: string) {
  return z.boolean().default(defaultValue).describe(doc);
}

// ---------------------------------------------------------------------------------------------
// the schema object

/** One option as shown in `--help` and option tables. */
export interface OptionInfo {
  name: string;
  type: "integer" | "number" | "enum" | "boolean" | "string" | "other";
  default: unknown;
  /** What is allowed, e.g. "integer in [1, 4096]", "batch | none", "> 0". */
  allowed: string;
  description: string;
  /** May change when a run is resumed (`train --resume --set`): it does not touch the training
   * trajectory, only what is kept beside it. */
  resumable: boolean;
}

/** A cross-option rule: `message` is shown (prefixed by the model name) when `check` is false. */
export interface ConfigRule<C> {
  check: (config: C) => boolean;
  message: string;
}

/** A rule that needs the data's shape; returns an error message, or undefined when fine. */
export type DataRule<C> = (config: C, data: Pick<DataSpec, "height" | "width" | "channels">) =>
  | string
  | undefined;

export interface ModelConfigSchema<C extends Record<string, unknown>> {
  readonly model: string;
  readonly schema: z.ZodType<C>;
  readonly defaults: Readonly<C>;
  readonly options: readonly OptionInfo[];
  /** The options `train --resume <run> --set` may change (see `OptionInfo.resumable`). */
  readonly resumable: readonly string[];
  /** Validate a full or partial config (missing keys take defaults). `where` names the source
   * in the error, e.g. "--set" or "runs/x/config.json". Throws a one-line UserInputError. */
  parse(input: Record<string, unknown>, where?: string): C;
  /** Turn a CLI string into the option's declared type (numbers, booleans); unknown keys pass
   * through unchanged so `parse` reports them. */
  coerce(key: string, raw: unknown): unknown;
  /** Check the rules that need the data's shape; throws a one-line UserInputError. */
  checkData(config: C, data: Pick<DataSpec, "height" | "width" | "channels">): void;
  /** Markdown table: option | default | allowed | description. */
  table(): string;
  /** Aligned plain-text lines for `--help`. */
  help(): string;
}

// deno-lint-ignore no-explicit-any
type AnyShape = Record<string, z.ZodDefault<any>>;
export type ConfigOf<S> = S extends ModelConfigSchema<infer C> ? C : never;

export function defineConfig<Shape extends AnyShape>(
  model: string,
  shape: Shape,
  extra: {
    rules?: ConfigRule<z.output<z.ZodObject<Shape>>>[];
    dataRules?: DataRule<z.output<z.ZodObject<Shape>>>[];
    resumable?: readonly (keyof Shape & string)[];
  } = {},
): ModelConfigSchema<z.output<z.ZodObject<Shape>> & Record<string, unknown>> {
  type C = z.output<z.ZodObject<Shape>> & Record<string, unknown>;
  const rules = extra.rules ?? [];
  const object = z.strictObject(shape).superRefine((config, ctx) => {
    for (const rule of rules) {
      if (!rule.check(config as C)) ctx.addIssue({ code: "custom", message: rule.message });
    }
  });
  const resumable = extra.resumable ?? [];
  const options = Object.entries(shape).map(([name, option]) => ({
    ...describeOption(name, option),
    resumable: (resumable as readonly string[]).includes(name),
  }));
  const byName = new Map(options.map((o) => [o.name, o]));
  const defaults = object.parse({}) as C;

  const fail = (message: string): never => {
    throw new UserInputError(message);
  };

  const schema: ModelConfigSchema<C> = {
    model,
    schema: object as unknown as z.ZodType<C>,
    defaults,
    options,
    resumable,
    parse(input, where) {
      const result = object.safeParse(input);
      if (result.success) return result.data as C;
      const issue = result.error.issues[0];
      const from = where ? ` (from ${where})` : "";
      if (issue.code === "unrecognized_keys") {
        fail(
          `${model} has no option '${issue.keys[0]}'${from}: its options are ${
            options.map((o) => o.name).join(", ")
          } (see: deno task train ${model} --help)`,
        );
      }
      const key = String(issue.path[0] ?? "");
      const info = byName.get(key);
      if (!info) fail(`${model}: ${issue.message}${from}`);
      const value = input[key];
      fail(
        `${model} option ${key}=${JSON.stringify(value)} is not allowed${from}: ` +
          `expected ${info!.allowed} (default ${JSON.stringify(info!.default)})`,
      );
      return undefined as never;
    },
    coerce(key, raw) {
      const info = byName.get(key);
      if (!info || typeof raw !== "string") return raw;
      if (info.type === "integer" || info.type === "number") {
        // Not a number: keep the text, so the error shows what the user typed.
        return raw.trim() === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
      }
      if (info.type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
      return raw;
    },
    checkData(config, data) {
      for (const rule of extra.dataRules ?? []) {
        const message = rule(config, data);
        if (message) fail(`${model}: ${message}`);
      }
    },
    table() {
      const rows = options.map((o) =>
        `| \`${o.name}\` | \`${JSON.stringify(o.default)}\` | ${
          o.allowed.replaceAll("|", "\\|")
        } | ${o.description} |`
      );
      return ["| option | default | allowed | description |", "|---|---|---|---|", ...rows].join(
        "\n",
      );
    },
    help() {
      const width = Math.max(...options.map((o) => o.name.length)) + 2;
      const lines = options.map((o) =>
        `  ${o.name.padEnd(width)}${o.description} (default ${
          JSON.stringify(o.default)
        }; ${o.allowed}${o.resumable ? "; may change on --resume" : ""})`
      );
      return [`${model} options (set with --set key=value):`, ...lines].join("\n");
    },
  };
  return schema;
}

// ---------------------------------------------------------------------------------------------
// introspection of a zod option for help text

function describeOption(
  name: string,
  // deno-lint-ignore no-explicit-any
  option: z.ZodDefault<any>,
): Omit<OptionInfo, "resumable"> {
  const description = option.description ?? "";
  const defaultValue = option.def.defaultValue;
  // deno-lint-ignore no-explicit-any
  const inner: any = option.unwrap();
  if (inner instanceof z.ZodNumber) {
    const isInt = inner.format === "safeint" || inner.isInt;
    const min = inner.minValue;
    const max = inner.maxValue;
    const checks = (inner.def.checks ?? []) as unknown as Array<
      { _zod: { def: Record<string, unknown> } }
    >;
    const exclusive = (kind: "greater_than" | "less_than") =>
      checks.some((c) => c._zod.def.check === kind && c._zod.def.inclusive === false);
    const finite = (x: number | null) => x !== null && Number.isFinite(x) && Math.abs(x) < 1e300;
    const lo = finite(min) ? `${exclusive("greater_than") ? "(" : "["}${min}` : "(-∞";
    const hi = finite(max) ? `${max}${exclusive("less_than") ? ")" : "]"}` : "∞)";
    const range = isInt && finite(min) && finite(max) ? `[${min}, ${max}]` : `${lo}, ${hi}`;
    return {
      name,
      type: isInt ? "integer" : "number",
      default: defaultValue,
      allowed: `${isInt ? "integer" : "number"} in ${range}`,
      description,
    };
  }
  if (inner instanceof z.ZodEnum) {
    return {
      name,
      type: "enum",
      default: defaultValue,
      allowed: `one of ${(inner.options as string[]).join(" | ")}`,
      description,
    };
  }
  if (inner instanceof z.ZodBoolean) {
    return { name, type: "boolean", default: defaultValue, allowed: "true | false", description };
  }
  if (inner instanceof z.ZodString) {
    return { name, type: "string", default: defaultValue, allowed: "text", description };
  }
  return { name, type: "other", default: defaultValue, allowed: "see docs", description };
}
