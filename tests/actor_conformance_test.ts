// Every transport on every host it reaches runs the same actor-level suite.
// Adding a transport or host is one entry here.
import { pipeTransport } from "../transports/pipe/pipe.ts";
import { socketTransport } from "../transports/socket/socket.ts";
import { ringTransport } from "../transports/ring/ring.ts";
import { actorConformance, type ConformanceTarget } from "./actor_conformance.ts";

const targets: ConformanceTarget[] = [
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

for (const target of targets) actorConformance(target);
