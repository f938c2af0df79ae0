/**
 * Child for the spawn and idle-memory baselines: writes one byte to stdout, then idles until its
 * stdin ends.
 *
 * @module
 */

await Deno.stdout.write(new Uint8Array([0x0a]));
const scratch = new Uint8Array(64);
while (await Deno.stdin.read(scratch) !== null) {
  // Idle: nothing is expected on stdin but its end.
}

// Exit at once, as a child that follows its parent would.
Deno.exit(0);
