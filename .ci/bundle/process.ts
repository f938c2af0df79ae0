// What a process actor's child runs before its actor: the bootstrap and the
// `connect` of the built-in transports a process takes. `deno task bundle`
// bundles it into actors/hosts/_bundles/process.js, which a child's entry
// imports for a built-in transport (see worker.ts and ../bundle.ts).
export { runProcessActor } from "../../actors/hosts/_process.ts";
export { connect as pipe } from "../../transports/pipe/pipe.ts";
export { connect as socket } from "../../transports/socket/socket.ts";
