/**
 * Child for the spawn baseline: reads the first bytes that come on stdin and writes them back to
 * stdout, the job a spawned process actor does before its first reply (it gets a message, it
 * answers it), then idles until its stdin ends.
 *
 * @module
 */

const scratch = new Uint8Array(64);
const n = await Deno.stdin.read(scratch);
if (n !== null) {
  await Deno.stdout.write(scratch.subarray(0, n));
  while (await Deno.stdin.read(scratch) !== null) {
    // Idle: nothing more is expected on stdin but its end.
  }
}
