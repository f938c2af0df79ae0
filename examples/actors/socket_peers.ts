/**
 * The two actors of example 10: a socket server and its client, which prove
 * to each other that they know a shared secret.
 *
 * @module
 */
import { defineActor, dialSocket, listenSocket } from "../../mod.ts";

/** Message `i`: its number, then a run of `x` whose length depends on `i` (0 to 64 KiB). */
export function message(i: number): string {
  return `${i}:${"x".repeat((i * 7919) % 65_536)}`;
}

/** Listens on TCP 127.0.0.1 (a free port); every client must know the secret. */
export const server = defineActor({
  init: async (secret: string) => ({
    listener: await listenSocket({ port: 0, secret, onRejected: () => {} }),
  }),
  handlers: {
    port: (state) => state.listener.addr.port,
    /** Takes one client and reads its messages until it closes; checks that each is whole. */
    async receive(state) {
      const peer = await state.listener.accept();
      let count = 0, bytes = 0, whole = 0;
      for await (const batch of peer.receive()) {
        for (const text of batch as string[]) {
          count++;
          bytes += text.length;
          if (text === message(Number(text.slice(0, text.indexOf(":"))))) whole++;
        }
      }
      await peer.close();
      return { count, bytes, whole };
    },
  },
  stop: (state) => state.listener.close(),
});

/** Dials the server with the secret, sends `count` messages, and closes. */
export const client = defineActor({
  handlers: {
    async send(_state, job: { port: number; secret: string; count: number }) {
      const connection = await dialSocket({ port: job.port, secret: job.secret });
      for (let i = 0; i < job.count; i++) await connection.send([message(i)]);
      await connection.close();
    },
  },
});
