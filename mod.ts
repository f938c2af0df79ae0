/**
 * Troupe: typed actors for Deno, in Workers or subprocesses, with bounded
 * mailboxes over selectable transports (queue, pipe, ring, socket),
 * supervision trees, pools, work queues, semaphores and shared memory.
 *
 * @example Define an actor in its own module, spawn it, talk to it
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import type { counter } from "./examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * await using system = await ActorSystem.start();
 * const ref = await system.spawn<typeof counter>(
 *   new URL("./examples/actors/counter.ts", import.meta.url),
 * );
 * await ref.tell("inc", 2);
 * assert.equal(await ref.ask("get"), 2);
 * ```
 *
 * @module
 */

export {
  type ActorContext,
  type ActorDefinition,
  type ActorSpec,
  type AnyActorDefinition,
  type ArgsOf,
  defineActor,
  type Handler,
  type Handlers,
  type HandlersOf,
  type ItemOf,
  type MessageName,
  type PayloadArgs,
  type ReplyOf,
  type StreamName,
} from "./actors/core/define_actor.ts";
export {
  type ActorExit,
  ActorRef,
  type ActorStats,
  type AskOptions,
  type DeadLetter,
  type ExitReason,
  type StopOptions,
  type StreamOptions,
  type TellOptions,
} from "./actors/core/actor_ref.ts";
export {
  ActorSystem,
  type OverflowPolicy,
  type ShutdownOptions,
  type ShutdownResult,
  type SignalShutdownOptions,
  type SpawnOptions,
  type SystemOptions,
  type SystemStats,
  type TelemetryOptions,
} from "./actors/system/system.ts";
export {
  ActorCrashedError,
  ActorError,
  ActorExitedError,
  ActorOutOfMemoryError,
  ActorRestartingError,
  ActorStoppedError,
  AuthenticationError,
  BrokerUnavailableError,
  ConnectionClosedError,
  ConnectionLostError,
  type CrashReason,
  type CrashSummary,
  FrameTooLargeError,
  MailboxFullError,
  MessageNotCloneableError,
  NoRespondersError,
  type ProcessExitInfo,
  ProtocolError,
  PublishOutcomeUnknownError,
  type RemoteErrorInfo,
  SpawnError,
  SupervisorGaveUpError,
  UnknownMessageError,
} from "./internal/errors.ts";
export type { ActorPermissions, PermissionValue } from "./actors/hosts/permissions.ts";
export type {
  ClusterEvent,
  CrashRecord,
  LifecycleEvent,
  LifecycleEventType,
} from "./actors/core/events.ts";
export {
  type SharedKind,
  SharedValue,
  type SharedValueDescriptor,
  type SharedValueType,
} from "./actors/sync/shared_value.ts";
export { SharedArray, type SharedArrayDescriptor } from "./actors/sync/shared_array.ts";
export {
  type LockOptions,
  Mutex,
  type MutexDescriptor,
  type MutexGuard,
  type MutexHandleOptions,
  type MutexOptions,
  type TryLockOptions,
} from "./actors/sync/mutex.ts";
export {
  type AcquireOptions,
  Semaphore,
  type SemaphoreDescriptor,
  type SemaphoreHandle,
  type SemaphoreHandleOptions,
  type SemaphoreOptions,
  type SemaphorePermit,
  type TryAcquireOptions,
} from "./actors/sync/semaphore.ts";
export {
  type BroadcastResult,
  Pool,
  type PoolAskOptions,
  type PoolOptions,
  type PoolStats,
  type PoolStrategy,
  type PoolTellOptions,
} from "./actors/supervision/pool.ts";
export {
  QueueClosedError,
  type QueueHandle,
  type QueueWaitOptions,
  WorkQueue,
  type WorkQueueOptions,
} from "./actors/sync/work_queue.ts";
export {
  type BackoffOptions,
  type ChildSpec,
  type RestartPolicy,
  type RestartStrategy,
  type SupervisionNode,
  type SupervisionState,
  Supervisor,
  type SupervisorSpec,
} from "./actors/supervision/supervisor.ts";
export type { ActorHostKind } from "./actors/hosts/spawn_options.ts";
export type { HostKind } from "./transports/transport.ts";
export { queueTransport } from "./transports/queue.ts";
export { ringTransport, type RingTransportOptions } from "./transports/ring/ring.ts";
export { pipeTransport, type PipeTransportOptions } from "./transports/pipe/pipe.ts";
export {
  type Connection,
  connectionFromStreams,
  Pipe,
  type PipeEnd,
  pipeEnds,
  type PipeOptions,
  type ReadConnection,
  type ReadPipeEnd,
  type RecvOptions,
  type WriteConnection,
  type WritePipeEnd,
} from "./transports/pipe/channel.ts";
export { dialSocket } from "./transports/socket/dial.ts";
export { listenSocket, type SocketServer } from "./transports/socket/server.ts";
export type { SocketTransport } from "./transports/socket/end.ts";
export { socketTransport } from "./transports/socket/socket.ts";
export type {
  DialSocketOptions,
  ListenSocketOptions,
  SocketOptions,
  SocketRejection,
  SocketSecret,
  SocketServerOptions,
  SocketTransportOptions,
  SocketWaitOptions,
  TcpDialOptions,
  TcpListenOptions,
  UnixDialOptions,
  UnixListenOptions,
} from "./transports/socket/options.ts";
export { type Codec, jsonCodec, v8Codec } from "./transports/codec.ts";
