/**
 * The shared memory layout of a `Semaphore`, its record packing and
 * the argument checks its methods share.
 *
 * @module
 */

import { sharedDescriptor } from "./_shared_memory.ts";

// Layout of the shared buffer:
//   Int32 header (8 words): magic, permits, queue size, head, tail, gen,
//     orphans (free permits taken back from dead holders), 1 spare
//   BigInt64 queue ring (queue size words): one record per ticket
//   Int32 permit table (permits words): 0 when free, ORPHANED when free and
//     taken back from a holder that died, else owner + 1
//
// Tickets are int32 counters that wrap around: `tail` is the next ticket to
// hand out, `head` the ticket at the front. Ticket t's record lives at
// t & mask and packs the ticket (high 32 bits), the state (2 bits) and
// owner + 1 (30 bits) into one word, so publishing, cancelling and
// reclaiming a ticket are each a single compare-and-swap.
//
// Only the thread holding the head ticket may take a permit (strict FIFO).
// It takes a free slot in the permit table (one CAS that records its owner),
// then moves the head on. A waiter that gives up marks its record cancelled;
// whoever moves the head skips cancelled records. Every step is one atomic
// write that leaves the state consistent, so a thread that dies between two
// steps leaves nothing `releaseAllOf` cannot find: its permits carry its
// owner id, and so do its queued tickets.
export const MAGIC = 0x5452_5301; // "TRS" and layout version 1
export const HEADER_BYTES = 32;
export const H_MAGIC = 0;
export const H_PERMITS = 1;
export const H_QUEUE = 2;
export const H_HEAD = 3;
export const H_TAIL = 4;
export const H_GEN = 5;
export const H_ORPHANS = 6;
export const ORPHANED = -1;
export const WAITING = 1;
export const CANCELLED = 2;
export const OWNER_MASK = 0x3fff_ffff;
export const MAX_OWNER = OWNER_MASK - 1;
export const MAX_PERMITS = 65536;
export const MAX_QUEUE = 65536;
export const DEFAULT_QUEUE = 256;
// A ref'd timer keeps the event loop alive while a wait has no deadline: a
// pending Atomics.waitAsync alone does not.
export const KEEPALIVE_MS = 2 ** 30;
export const ATTACH: unique symbol = Symbol("attach");

export function record(ticket: number, owner: number, state: number): bigint {
  const low = ((state << 30) | (owner + 1)) >>> 0;
  return BigInt.asIntN(64, (BigInt(ticket >>> 0) << 32n) | BigInt(low));
}

export function ticketOf(rec: bigint): number {
  return Number(rec >> 32n) | 0;
}

export function stateOf(rec: bigint): number {
  return Number(BigInt.asUintN(32, rec)) >>> 30;
}

export function ownerOf(rec: bigint): number {
  return (Number(BigInt.asUintN(32, rec)) & OWNER_MASK) - 1;
}

export function checkOwner(owner: unknown, what: string): number {
  if (!Number.isInteger(owner) || (owner as number) < 0 || (owner as number) > MAX_OWNER) {
    throw new RangeError(
      `Cannot ${what}: owner must be an integer from 0 to ${MAX_OWNER}, received ${owner}`,
    );
  }
  return owner as number;
}

export function checkTimeout(timeout: unknown, what: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(
      `Cannot ${what}: timeout must be a finite number of at least 0 milliseconds, received ${timeout}`,
    );
  }
  return timeout;
}

export function checkSignal(signal: unknown, what: string): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(`Cannot ${what}: signal must be an AbortSignal, received ${typeof signal}`);
}

export function checkName(name: unknown, fallback: string, what: string): string {
  if (name === undefined) return fallback;
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: name must be a string, received ${typeof name}`);
  }
  return name;
}

export function checkDescriptor(descriptor: unknown, what: string): void {
  const { name, buffer } = sharedDescriptor(descriptor, what);
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: the descriptor's name must be a string`);
  }
  const header = buffer.byteLength >= HEADER_BYTES
    ? new Int32Array(buffer, 0, HEADER_BYTES / 4)
    : undefined;
  const permits = header ? Atomics.load(header, H_PERMITS) : 0;
  const queue = header ? Atomics.load(header, H_QUEUE) : 0;
  if (
    !header || Atomics.load(header, H_MAGIC) !== MAGIC ||
    permits < 1 || permits > MAX_PERMITS ||
    queue < 1 || queue > MAX_QUEUE || (queue & (queue - 1)) !== 0 ||
    buffer.byteLength !== HEADER_BYTES + 8 * queue + 4 * permits
  ) {
    throw new TypeError(
      `Cannot ${what}: the buffer does not hold a semaphore made by this version of Troupe`,
    );
  }
}
