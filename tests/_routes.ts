// Every transport on every host it reaches: the routes the actor conformance
// suite runs, and the suites that run on every route too (handler aborts,
// streams). Adding a transport or host is one entry here.
import { pipeTransport } from "../transports/pipe/pipe.ts";
import { socketTransport } from "../transports/socket/socket.ts";
import { ringTransport } from "../transports/ring/ring.ts";
import type { ConformanceTarget } from "./actor_conformance.ts";

/** Each route, with a factory for a small frame limit where the transport has one. */
export const ROUTES: readonly ConformanceTarget[] = [
  { transport: "queue", host: "worker" },
  {
    transport: "pipe",
    host: "worker",
    small: (maxFrameBytes) => pipeTransport({ maxFrameBytes }),
  },
  {
    transport: "pipe",
    host: "process",
    small: (maxFrameBytes) => pipeTransport({ maxFrameBytes }),
  },
  {
    transport: "ring",
    host: "worker",
    small: (maxFrameBytes) => ringTransport({ maxFrameBytes: maxFrameBytes }),
  },
  {
    transport: "socket",
    host: "worker",
    small: (maxFrameBytes) => socketTransport({ maxFrameBytes }),
  },
  {
    transport: "socket",
    host: "process",
    small: (maxFrameBytes) => socketTransport({ maxFrameBytes }),
  },
  // A thread actor is reached by every transport that reaches workers.
  { transport: "queue", host: "thread" },
  {
    transport: "pipe",
    host: "thread",
    small: (maxFrameBytes) => pipeTransport({ maxFrameBytes }),
  },
  {
    transport: "ring",
    host: "thread",
    small: (maxFrameBytes) => ringTransport({ maxFrameBytes: maxFrameBytes }),
  },
  {
    transport: "socket",
    host: "thread",
    small: (maxFrameBytes) => socketTransport({ maxFrameBytes }),
  },
];
