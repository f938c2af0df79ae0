/**
 * Worker for the batched `postMessage` and transfer baselines.
 *
 * - An array is a batch of small messages: each is counted, and the worker acks
 *   `{ ack: count }` whenever the count passes a multiple of `ACK_EVERY`.
 * - An `ArrayBuffer` (moved here by a transfer list) is one block: the worker reads its
 *   length and first byte, and acks `{ ack: blocks }` every `BLOCK_ACK_EVERY` blocks.
 *
 * @module
 */

import { ACK_EVERY, OP_TELL, type SmallMessage, type WorkerScope } from "./_util.ts";

/** The transfer baseline's receiver acks every this many blocks. */
const BLOCK_ACK_EVERY = 16;

const scope = self as unknown as WorkerScope;
let count = 0;
let blocks = 0;
let checksum = 0;

scope.onmessage = (event: MessageEvent) => {
  const data = event.data as SmallMessage[] | ArrayBuffer;
  if (data instanceof ArrayBuffer) {
    checksum += new Uint8Array(data)[0] + data.byteLength;
    blocks++;
    if (blocks % BLOCK_ACK_EVERY === 0) scope.postMessage({ ack: blocks, checksum });
    return;
  }
  const before = count;
  for (const message of data) if (message.op === OP_TELL) count++;
  if (Math.floor(count / ACK_EVERY) !== Math.floor(before / ACK_EVERY)) {
    scope.postMessage({ ack: count });
  }
};
scope.postMessage({ ready: true });
