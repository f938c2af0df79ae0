/**
 * The `codec` option of the byte transports (`pipe`, `socket`, `ring`),
 * checked one way: what a codec must be, which codecs the far side of a
 * worker or process boundary can load by name, and the lookup by that name.
 *
 * @module
 */

import { type Codec, jsonCodec, v8Codec } from "../codec.ts";

/** The name of a codec that both sides of a worker or process boundary can load. */
export type BuiltinCodecName = "v8" | "json";

/** The built-in codecs, by the names the other side loads them by. */
export const BUILTIN_CODECS: Readonly<Record<BuiltinCodecName, Codec>> = Object.freeze({
  v8: v8Codec,
  json: jsonCodec,
});

/**
 * Checks a `codec` option and returns it, or {@linkcode v8Codec} when absent.
 *
 * @param codec The option as given.
 * @param context What is being set up, for the message, such as `"Cannot create pipe"`.
 * @returns The codec.
 * @throws {TypeError} When the value is not an object with `encode` and `decode` methods and a string `name`.
 */
export function checkCodec(codec: unknown, context: string): Codec {
  if (codec === undefined) return v8Codec;
  if (
    codec === null || typeof codec !== "object" ||
    typeof (codec as Codec).encode !== "function" ||
    typeof (codec as Codec).decode !== "function" || typeof (codec as Codec).name !== "string"
  ) {
    throw new TypeError(
      `${context}: codec must have encode and decode methods and a name, received ${codec}`,
    );
  }
  return codec as Codec;
}

/**
 * The name the other side loads a built-in codec by.
 *
 * @param codec A checked codec.
 * @returns `"v8"` or `"json"`, or `undefined` for any other codec.
 */
export function builtinNameOf(codec: Codec): BuiltinCodecName | undefined {
  if (codec === v8Codec) return "v8";
  if (codec === jsonCodec) return "json";
  return undefined;
}

/**
 * The name the other side loads a codec by, which must be a built-in one.
 *
 * @param codec A checked codec.
 * @param context What is being set up, for the message.
 * @returns `"v8"` or `"json"`.
 * @throws {TypeError} When the codec is neither {@linkcode v8Codec} nor {@linkcode jsonCodec}.
 */
export function builtinCodecName(codec: Codec, context: string): BuiltinCodecName {
  const name = builtinNameOf(codec);
  if (name === undefined) {
    throw new TypeError(
      `${context}: codec "${codec.name}" cannot be loaded on the other side, use v8Codec or jsonCodec`,
    );
  }
  return name;
}

/**
 * The built-in codec of a name, looked up among the codecs' own names only
 * (`"toString"` names none).
 *
 * @param name A name from the other side.
 * @returns The codec, or `undefined` when the name is not a built-in codec's.
 */
export function builtinCodec(name: unknown): Codec | undefined {
  return typeof name === "string" && Object.hasOwn(BUILTIN_CODECS, name)
    ? BUILTIN_CODECS[name as BuiltinCodecName]
    : undefined;
}

/**
 * The built-in codec the other side named.
 *
 * @param name A name from the other side.
 * @param context What is being opened, for the message, such as `"Cannot connect pipe transport"`.
 * @returns The codec.
 * @throws {TypeError} When the name is neither `"v8"` nor `"json"`.
 */
export function codecNamed(name: unknown, context: string): Codec {
  const codec = builtinCodec(name);
  if (codec === undefined) {
    throw new TypeError(`${context}: unknown codec "${name}", expected "v8" or "json"`);
  }
  return codec;
}
