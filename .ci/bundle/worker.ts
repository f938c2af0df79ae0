// What a worker actor's thread runs before its actor: the bootstrap and the
// `connect` of every built-in transport. `deno task bundle` bundles it into
// actors/hosts/_bundles/worker.js, which a worker's entry imports for a
// built-in transport: one file loads in a fresh isolate several milliseconds
// faster than the 25 or so modules it is made of (see ../bundle.ts). Each
// `connect` is exported under its transport's name (transports/preset.ts's
// BUNDLED_TRANSPORTS).
export { runWorkerActor } from "../../actors/hosts/_worker.ts";
export { connect as queue } from "../../transports/queue.ts";
export { connect as ring } from "../../transports/ring/ring.ts";
export { connect as pipe } from "../../transports/pipe/pipe.ts";
export { connect as socket } from "../../transports/socket/socket.ts";
