// The command line of `troupe run`, split between troupe and the app: what
// comes after the app module and is not one of run's own options is the
// app's (`AppContext.args`), so `troupe run demo_app.ts --duration 30` hands
// `--duration 30` to the demo. A `--` after the app module is dropped
// (`deno task demo -- --observe` passes it on).

/** Run's options that take no value. */
const OWN_FLAGS = new Set(["--json", "--metrics", "-h", "--help"]);
/** Run's options that take a value (in the next argument, or after `=`). */
const OWN_VALUES = new Set(["--shutdown-timeout", "--name", "--control"]);

/** Tells whether an argument is an `--observe` address (a port, or host:port). */
function address(arg: string | undefined): boolean {
  return arg !== undefined && /^(\[[0-9a-f:.]+\]|[\w.-]+)?:?\d+$/i.test(arg);
}

/** Splits run's arguments into its own and the app's. */
export function splitAppArgs(args: readonly string[]): { own: string[]; app: string[] } {
  const own: string[] = [];
  const app: string[] = [];
  let seen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!seen) {
      own.push(arg);
      if (arg === "--") {
        own.push(...args.slice(i + 1));
        break;
      }
      if (OWN_VALUES.has(arg) && i + 1 < args.length) own.push(args[++i]!);
      else if (arg === "--observe" && address(args[i + 1])) own.push(args[++i]!);
      else if (!arg.startsWith("-")) seen = true;
      continue;
    }
    if (arg === "--") continue;
    const name = arg.split("=")[0]!;
    if (OWN_FLAGS.has(name) || (OWN_VALUES.has(name) && arg.includes("="))) own.push(arg);
    else if (OWN_VALUES.has(arg)) {
      own.push(arg);
      if (i + 1 < args.length) own.push(args[++i]!);
    } else if (name === "--observe") {
      own.push(arg);
      if (!arg.includes("=") && address(args[i + 1])) own.push(args[++i]!);
    } else app.push(arg);
  }
  return { own, app };
}
