/**
 * Errors as plain data, the one form every channel carries them in (structured
 * clone, V8, JSON, NATS), and back: a thrown value becomes a
 * {@linkcode RemoteErrorInfo} on one side and is revived on the other with its
 * class, `code` and other own primitive properties, `cause` chain and
 * `AggregateError.errors`.
 *
 * Guarantees:
 * - `serializeError` never throws, whatever it is given (getters that throw,
 *   revoked proxies, cycles, non-Error values), and its result is plain JSON
 *   data: strings, finite numbers, booleans, `null`, arrays and objects.
 * - The result is bounded, so an error can never grow a frame past a
 *   transport's limit or hold up the serving actor: at most
 *   {@linkcode ERROR_LIMITS}`.depth` levels of `cause` and `errors`,
 *   `.nodes` errors in all, `.errors` entries per `errors` array, `.props`
 *   own properties per error and `.chars` characters of text in all (each
 *   message, stack and property also has a limit of its own). What is cut is
 *   said in the text (`[... N more characters]`) or counted
 *   (`errorsOmitted`); a cause or an entry that is one of its own ancestors
 *   (a cycle) is left out.
 * - `toRemoteErrorInfo` checks data from the other side (which may be an older
 *   Troupe, another language, or hostile) and keeps only what has the right
 *   shape, with the same bounds; `reviveRemote` builds only known classes and
 *   never sets `__proto__`, `constructor` or `prototype`.
 *
 * @module
 */

/** An own property of an error that travels: a primitive, or an array of primitives. */
export type ErrorProp = string | number | boolean | null | (string | number | boolean | null)[];

/**
 * An error that happened on the other side of a channel, as plain data.
 *
 * A thrown `Error` keeps its `name`, `message`, `stack`, class (`type`,
 * `className`), own primitive properties (`props`: `code`, `errno`,
 * `syscall`, `path`, `status`...), `cause` and `errors`. A thrown value that
 * is not an `Error` (a string, an object) is marked `thrown`, and `value`
 * holds a plain JSON copy of it.
 */
export interface RemoteErrorInfo {
  /** The remote error's `name`, such as `"TypeError"`. */
  name: string;
  /** The remote error's message. */
  message: string;
  /** The remote stack trace, when there was one. */
  stack?: string;
  /** The remote error's own cause, when there was one. */
  cause?: RemoteErrorInfo;
  /**
   * The nearest built-in class the error is an instance of (`"TypeError"`,
   * `"AggregateError"`, `"DOMException"`, a `Deno.errors` class such as
   * `"NotFound"`), when it is not the class `name` says.
   */
  type?: string;
  /** The error's constructor's name, when it is not `name` (`class NotFound extends Error {}`). */
  className?: string;
  /** The error's own properties that are primitives or arrays of them, such as `code`. */
  props?: Record<string, string | number | boolean | null | (string | number | boolean | null)[]>;
  /** The errors of an `AggregateError` (or any error's own `errors` array), in order. */
  errors?: RemoteErrorInfo[];
  /** How many entries of `errors` were left out past the limit. */
  errorsOmitted?: number;
  /** The thrown value was not an `Error`; `value` holds a plain copy of it. */
  thrown?: true;
  /** A plain JSON copy of a thrown non-Error value (absent for `undefined`). */
  value?: unknown;
}

/** The bounds on one serialized error, all of its causes and `errors` included. */
export const ERROR_LIMITS: Readonly<{
  depth: number;
  nodes: number;
  errors: number;
  props: number;
  propItems: number;
  chars: number;
  name: number;
  message: number;
  stack: number;
  string: number;
  valueDepth: number;
  valueItems: number;
}> = Object.freeze({
  /** Levels of `cause` and `errors` below the top error. */
  depth: 8,
  /** Errors (and thrown values) in all. */
  nodes: 64,
  /** Entries kept of one `errors` array. */
  errors: 32,
  /** Own properties kept of one error. */
  props: 16,
  /** Items kept of one array property. */
  propItems: 32,
  /** Characters of text in all (names, messages, stacks, strings). */
  chars: 64 * 1024,
  /** Characters of a name. */
  name: 200,
  /** Characters of a message. */
  message: 4096,
  /** Characters of a stack. */
  stack: 8192,
  /** Characters of a string property or a string in a thrown value. */
  string: 1024,
  /** Levels of a thrown plain object copied. */
  valueDepth: 4,
  /** Keys or items copied of one object or array in a thrown value. */
  valueItems: 32,
});

const L = ERROR_LIMITS;

/** Keys never copied as `props`: they travel in fields of their own, or must not be set. */
const RESERVED = new Set([
  "name",
  "message",
  "stack",
  "cause",
  "errors",
  "__proto__",
  "constructor",
  "prototype",
]);

/** The built-in error classes revived as themselves, by name. */
const BUILTINS: ReadonlyMap<string, ErrorConstructor> = new Map<string, ErrorConstructor>([
  ["Error", Error],
  ["TypeError", TypeError],
  ["RangeError", RangeError],
  ["SyntaxError", SyntaxError],
  ["ReferenceError", ReferenceError],
  ["EvalError", EvalError],
  ["URIError", URIError],
  ...Object.entries(Deno.errors) as [string, ErrorConstructor][],
]);

/** The same classes, to name a constructor met on a prototype chain. */
const KNOWN: ReadonlyMap<unknown, string> = new Map<unknown, string>([
  ...[...BUILTINS].map(([name, ctor]) => [ctor, name] as [unknown, string]),
  [AggregateError, "AggregateError"],
  [DOMException, "DOMException"],
]);

interface Budget {
  nodes: number;
  chars: number;
  values: number;
}

const newBudget = (): Budget => ({ nodes: L.nodes, chars: L.chars, values: 1024 });

/** `text` cut to `max` characters (and to what the budget has left), saying how much was cut. */
function cut(text: string, max: number, budget: Budget): string {
  const limit = Math.min(max, Math.max(budget.chars, 0));
  if (text.length <= limit) {
    budget.chars -= text.length;
    return text;
  }
  let keep = Math.max(limit - 32, 0);
  // Never split a surrogate pair.
  const code = text.charCodeAt(keep - 1);
  if (keep > 0 && code >= 0xd800 && code <= 0xdbff) keep--;
  const out = `${text.slice(0, keep)} [... ${text.length - keep} more characters]`;
  budget.chars -= out.length;
  return out;
}

/** `object[key]`, or `undefined` when reading it throws. */
function read(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The value of an own data property (never a getter's), or `undefined`. */
function own(object: object, key: string): unknown {
  try {
    const descriptor = Object.getOwnPropertyDescriptor(object, key);
    return descriptor && "value" in descriptor ? descriptor.value : undefined;
  } catch {
    return undefined;
  }
}

function hasOwn(object: object, key: string): boolean {
  try {
    return Object.hasOwn(object, key);
  } catch {
    return false;
  }
}

function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is object {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}

/** A primitive that JSON carries as it is, or `undefined`. */
function primitive(value: unknown, budget: Budget): string | number | boolean | null | undefined {
  if (typeof value === "string") return cut(value, L.string, budget);
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "boolean" || value === null) return value;
  return undefined;
}

/** A property worth carrying: a primitive, or an array of nothing but primitives. */
function prop(value: unknown, budget: Budget): ErrorProp | undefined {
  const single = primitive(value, budget);
  if (single !== undefined) return single;
  let isArray = false;
  try {
    isArray = Array.isArray(value);
  } catch {
    return undefined;
  }
  if (!isArray) return undefined;
  const array = value as unknown[];
  const length = own(array, "length");
  if (typeof length !== "number") return undefined;
  const items: (string | number | boolean | null)[] = [];
  for (let i = 0; i < Math.min(length, L.propItems); i++) {
    const item = primitive(own(array, String(i)), budget);
    if (item === undefined) return undefined;
    items.push(item);
  }
  return items;
}

/** The own properties of `object` worth carrying, or `undefined` when there are none. */
function propsOf(
  object: object,
  budget: Budget,
  take: (value: unknown) => unknown,
): Record<string, ErrorProp> | undefined {
  let keys: string[];
  try {
    keys = Object.getOwnPropertyNames(object);
  } catch {
    return undefined;
  }
  let out: Record<string, ErrorProp> | undefined;
  let count = 0;
  for (const key of keys) {
    if (count >= L.props) break;
    if (RESERVED.has(key) || key.length > L.name) continue;
    const value = prop(take(own(object, key)), budget);
    if (value === undefined) continue;
    (out ??= {})[key] = value;
    count++;
  }
  return out;
}

/** The nearest known class on `error`'s prototype chain, and its own constructor's name. */
function classOf(error: object): { known: string; ctorName: string | undefined } {
  let ctorName: string | undefined;
  try {
    let proto = Object.getPrototypeOf(error);
    for (let hops = 0; proto !== null && hops < 32; hops++) {
      const ctor = own(proto, "constructor");
      if (hops === 0 && typeof ctor === "function") {
        const name = own(ctor, "name");
        if (typeof name === "string" && name.length > 0 && name.length <= L.name) ctorName = name;
      }
      const known = KNOWN.get(ctor);
      if (known !== undefined) return { known, ctorName };
      proto = Object.getPrototypeOf(proto);
    }
  } catch {
    // A proxy's trap threw: an Error, then.
  }
  return { known: "Error", ctorName };
}

/** A plain JSON copy of a thrown value, bounded; `undefined` for what JSON cannot hold. */
function plainCopy(value: unknown, budget: Budget, depth = 0): unknown {
  if (--budget.values < 0) return undefined;
  const single = primitive(value, budget);
  if (single !== undefined || !isObject(value) || typeof value === "function") return single;
  if (depth >= L.valueDepth) return undefined;
  if (isError(value)) {
    const name = read(value, "name");
    const message = read(value, "message");
    return {
      name: typeof name === "string" ? cut(name, L.name, budget) : "Error",
      message: typeof message === "string" ? cut(message, L.message, budget) : "",
    };
  }
  let isArray = false;
  try {
    isArray = Array.isArray(value);
  } catch {
    return undefined;
  }
  if (isArray) {
    const length = own(value, "length");
    const items: unknown[] = [];
    for (let i = 0; i < Math.min(typeof length === "number" ? length : 0, L.valueItems); i++) {
      items.push(plainCopy(own(value, String(i)), budget, depth + 1) ?? null);
    }
    return items;
  }
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch {
    return {};
  }
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const key of keys) {
    if (count >= L.valueItems) break;
    if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
    const item = plainCopy(own(value, key), budget, depth + 1);
    if (item === undefined) continue;
    out[cut(key, L.name, budget)] = item;
    count++;
  }
  return out;
}

/** What a thrown value says about itself, as text. */
function describe(value: unknown, copy: unknown): string {
  if (typeof value === "string") return value;
  if (!isObject(value)) {
    try {
      return String(value);
    } catch {
      return typeof value;
    }
  }
  try {
    return JSON.stringify(copy) ?? typeof value;
  } catch {
    return "[object]";
  }
}

/**
 * Turns any thrown value into plain data that every codec carries, bounded by
 * {@linkcode ERROR_LIMITS}. Never throws.
 *
 * @param error What was thrown.
 * @returns The error as plain data.
 */
export function serializeError(error: unknown): RemoteErrorInfo {
  try {
    return serializeOne(error, newBudget(), 0, new Set());
  } catch {
    // Only a bug could get here; the caller still gets an error to report.
    return { name: "Error", message: "The error could not be read" };
  }
}

function serializeOne(
  error: unknown,
  budget: Budget,
  depth: number,
  seen: Set<unknown>,
): RemoteErrorInfo {
  budget.nodes--;
  if (!isError(error)) return thrownInfo(error, budget);
  seen.add(error);
  const name = read(error, "name");
  const message = read(error, "message");
  const info: RemoteErrorInfo = {
    name: typeof name === "string" ? cut(name, L.name, budget) : "Error",
    message: typeof message === "string"
      ? cut(message, L.message, budget)
      : message === undefined
      ? ""
      : cut(describe(message, plainCopy(message, budget)), L.message, budget),
  };
  const { known, ctorName } = classOf(error);
  if (known !== info.name) info.type = known;
  if (ctorName !== undefined && ctorName !== info.name && ctorName !== known) {
    info.className = ctorName;
  }
  const stack = read(error, "stack");
  if (typeof stack === "string") info.stack = cut(stack, L.stack, budget);
  const props = propsOf(error, budget, (value) => value);
  if (props) info.props = props;
  const nested = depth < L.depth;
  const errors = own(error, "errors");
  let isArray = false;
  try {
    isArray = Array.isArray(errors);
  } catch {
    isArray = false;
  }
  if (isArray) {
    const list = errors as unknown[];
    const length = own(list, "length");
    const total = typeof length === "number" ? length : 0;
    const out: RemoteErrorInfo[] = [];
    for (let i = 0; i < total && nested && out.length < L.errors && budget.nodes > 0; i++) {
      const entry = own(list, String(i));
      if (seen.has(entry)) continue;
      out.push(serializeOne(entry, budget, depth + 1, seen));
    }
    info.errors = out;
    if (total > out.length) info.errorsOmitted = total - out.length;
  }
  if (hasOwn(error, "cause") && nested && budget.nodes > 0) {
    const cause = own(error, "cause");
    if (cause !== undefined && !seen.has(cause)) {
      info.cause = serializeOne(cause, budget, depth + 1, seen);
    }
  }
  // `seen` holds the errors above this one: a cycle is cut, a shared error is not.
  seen.delete(error);
  return info;
}

function thrownInfo(value: unknown, budget: Budget): RemoteErrorInfo {
  const copy = plainCopy(value, budget);
  let name: unknown;
  let message: unknown;
  if (isObject(value)) {
    name = read(value, "name");
    message = read(value, "message");
  }
  const info: RemoteErrorInfo = {
    name: typeof name === "string" ? cut(name, L.name, budget) : "Error",
    message: cut(
      typeof message === "string" ? message : describe(value, copy),
      L.message,
      budget,
    ),
    thrown: true,
  };
  if (copy !== undefined) info.value = copy;
  return info;
}

/**
 * Checks what the other side sent as an error and keeps what has the right
 * shape, within {@linkcode ERROR_LIMITS}. Never throws; anything that is not
 * an object becomes an `Error` with an empty message.
 *
 * @param value What arrived.
 * @returns The error as plain data, checked.
 */
export function toRemoteErrorInfo(value: unknown): RemoteErrorInfo {
  try {
    return checkOne(value, newBudget(), 0);
  } catch {
    return { name: "Error", message: "" };
  }
}

function text(value: unknown, max: number, budget: Budget): string | undefined {
  return typeof value === "string" ? cut(value, max, budget) : undefined;
}

function checkOne(value: unknown, budget: Budget, depth: number): RemoteErrorInfo {
  budget.nodes--;
  if (!isObject(value)) return { name: "Error", message: "" };
  const info: RemoteErrorInfo = {
    name: text(own(value, "name"), L.name, budget) ?? "Error",
    message: text(own(value, "message"), L.message, budget) ?? "",
  };
  const stack = text(own(value, "stack"), L.stack, budget);
  if (stack !== undefined) info.stack = stack;
  const type = text(own(value, "type"), L.name, budget);
  if (type !== undefined) info.type = type;
  const className = text(own(value, "className"), L.name, budget);
  if (className !== undefined) info.className = className;
  const props = own(value, "props");
  if (isObject(props)) {
    const checked = propsOf(props, budget, (item) => item);
    if (checked) info.props = checked;
  }
  const nested = depth < L.depth;
  const errors = own(value, "errors");
  if (Array.isArray(errors)) {
    const out: RemoteErrorInfo[] = [];
    for (let i = 0; i < errors.length && nested && out.length < L.errors && budget.nodes > 0; i++) {
      out.push(checkOne(own(errors, String(i)), budget, depth + 1));
    }
    info.errors = out;
    const omitted = own(value, "errorsOmitted");
    const extra = Number.isSafeInteger(omitted) && (omitted as number) > 0 ? omitted as number : 0;
    if (errors.length - out.length + extra > 0) {
      info.errorsOmitted = errors.length - out.length + extra;
    }
  }
  if (own(value, "thrown") === true) {
    info.thrown = true;
    const copy = plainCopy(own(value, "value"), budget);
    if (copy !== undefined) info.value = copy;
  }
  const cause = own(value, "cause");
  if (isObject(cause) && nested && budget.nodes > 0) {
    info.cause = checkOne(cause, budget, depth + 1);
  }
  return info;
}

/**
 * The name a revived error gets: `name`, or the class's own name when the
 * class did not set a name of its own (`class NotFound extends Error {}` has
 * the name `"Error"`; it is revived as `"NotFound"`).
 *
 * @param info The error as plain data.
 * @returns The name to show.
 */
export function displayName(info: RemoteErrorInfo): string {
  return info.className !== undefined && info.type === undefined ? info.className : info.name;
}

/** A constructor an error can be revived as (its constructor is not run). */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/** Finds the package's own error class of a name, for {@linkcode reviveRemote}. */
export type ErrorClassLookup = (name: string) => ErrorClass | undefined;

function define(target: object, key: string, value: unknown, enumerable = false): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable });
}

/**
 * Rebuilds a remote error from checked plain data (see
 * {@linkcode toRemoteErrorInfo}): the package's own classes (found by
 * `lookup`) and the built-in ones (`TypeError`, `RangeError`, `SyntaxError`,
 * `AggregateError` with its revived `errors`, `DOMException` with its name,
 * `Deno.errors` classes) as themselves, anything else as an `Error` with the
 * remote name; each with its message, stack, own properties and revived
 * cause. A thrown value that was not an `Error` comes back as its plain copy.
 *
 * @param info The error as plain data, checked.
 * @param lookup The package's own error classes by name.
 * @returns The revived error, or the thrown value.
 */
export function reviveRemote(info: RemoteErrorInfo, lookup?: ErrorClassLookup): unknown {
  if (info.thrown) return info.value;
  const options = info.cause !== undefined
    ? { cause: reviveRemote(info.cause, lookup) }
    : undefined;
  const errors = info.errors?.map((entry) => reviveRemote(entry, lookup));
  const name = displayName(info);
  const troupe = lookup?.(info.name);
  const base = info.type ?? info.name;
  let error: Error;
  if (troupe !== undefined) {
    // The class's prototype, without running its constructor: the fields come from `props`.
    error = Reflect.construct(Error, [info.message, options], troupe) as Error;
    if (info.name === "ActorError") {
      define(error, "remote", info.cause ?? { name: "Error", message: "" }, true);
    }
  } else if (base === "DOMException") {
    error = new DOMException(info.message, name);
    if (options) define(error, "cause", options.cause);
  } else if (base === "AggregateError") {
    error = new AggregateError(errors ?? [], info.message, options);
  } else {
    const ctor = BUILTINS.get(base) ?? Error;
    error = new ctor(info.message, options);
  }
  if (error.name !== name) define(error, "name", name);
  if (info.stack !== undefined) define(error, "stack", info.stack);
  if (errors !== undefined && !(error instanceof AggregateError)) define(error, "errors", errors);
  if (info.props) {
    for (const [key, value] of Object.entries(info.props)) {
      if (!RESERVED.has(key)) define(error, key, Array.isArray(value) ? [...value] : value, true);
    }
  }
  return error;
}
