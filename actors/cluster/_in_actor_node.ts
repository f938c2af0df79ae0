// The node's end of a name served in the actor's own thread
// (`ExposeOptions.inActor`): it starts the actor's end (`_in_actor.ts`) as an
// extension of the actor (see `../core/extension.ts`), hands the
// subscription over once the actor's thread has subscribed, and takes it
// back when that thread stops serving: the actor ended, or declined.
//
// The node's exposure keeps the name served meanwhile, so a request finds a
// subscriber in every phase but one: between an actor's thread ending
// without warning (`Deno.exit()`, out of memory, terminated) and the node
// hearing of it, a request to a name no other process serves gets no
// responders. Asks the actor's thread held when it crashed or exited are
// answered by the node, with `ActorCrashedError`.

import { targetOf } from "../core/actor_ref.ts";
import type { ActorCell, ExtensionEnd } from "../core/cell.ts";
import { ActorCrashedError } from "../../internal/errors.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import {
  COUNTERS,
  type InActorData,
  type InActorEnd,
  type InActorHooks,
  type InActorNodeKit,
  type InActorReport,
  SharedText,
} from "./_in_actor_shared.ts";

const MODULE = new URL("./_in_actor.ts", import.meta.url).href;

/** Why `target` cannot serve a name in its own thread, or `undefined` when it can. */
function refusal(cell: ActorCell | undefined): string | undefined {
  if (cell === undefined || typeof cell.extend !== "function") {
    return "the target is not an actor spawned with system.spawn (a pool or a supervised child)";
  }
  if (cell.hostKind !== "worker" && cell.hostKind !== "thread") {
    return `the actor runs in a ${cell.hostKind}, not a worker or thread`;
  }
  if (cell.transportName !== "queue") {
    return `the actor's transport is ${cell.transportName}, not queue`;
  }
  return undefined;
}

/** The node's end of one name served in the actor's thread. */
export class InActorServing implements InActorEnd {
  /** The actor's thread's counters, which the exposure adds to its own. */
  readonly counters: Float64Array = new Float64Array(
    new SharedArrayBuffer(COUNTERS * Float64Array.BYTES_PER_ELEMENT),
  );
  /** The actor's thread's last error. */
  readonly lastError: SharedText = new SharedText();
  #hooks: InActorHooks;
  #actorId = "";
  #end: ExtensionEnd | undefined;
  #serving = false;
  #closed = Promise.withResolvers<void>();
  /** The last `nats-served-in-actor` state announced. */
  #announced: boolean | undefined;

  constructor(kit: InActorNodeKit, hooks: InActorHooks) {
    this.#hooks = hooks;
    const cell = targetOf(hooks.target) as ActorCell | undefined;
    const refused = refusal(cell);
    if (refused !== undefined) {
      this.#declined(refused);
      return;
    }
    this.#actorId = cell!.id;
    const data: InActorData = {
      options: kit.options,
      connectionName: `${kit.nodeName}/${cell!.id}`,
      name: hooks.name,
      subject: hooks.subject,
      queue: hooks.queue,
      settings: { ...hooks.settings, durable: undefined, inActor: false },
      counters: this.counters.buffer as SharedArrayBuffer,
      lastError: this.lastError.buffer,
      overflow: cell!.overflow,
    };
    this.#end = cell!.extend(MODULE, data, (report) => this.#heard(report as InActorReport));
    if (this.#end === undefined) {
      this.#declined("the actor is not running");
      return;
    }
    void cell!.exited.then(() => this.#over("the actor ended"));
  }

  /** Whether the actor's thread serves the name now. */
  get serving(): boolean {
    return this.#serving;
  }

  /** Says which thread serves the name, when that changed (or the actor declined). */
  #announce(serving: boolean, reason?: string): void {
    if (this.#announced === serving) return;
    this.#announced = serving;
    this.#hooks.emit({
      type: "nats-served-in-actor",
      name: this.#hooks.name,
      actorId: this.#actorId,
      serving,
      ...(reason !== undefined ? { reason } : {}),
      time: Date.now(),
    });
  }

  #declined(reason: string): void {
    this.#end?.close();
    this.#end = undefined;
    this.#closed.resolve();
    this.#announce(false, reason);
  }

  /** The node's thread takes the name back; the event once its subscription is registered. */
  async #giveBack(reason: string): Promise<void> {
    if (!this.#serving) return;
    this.#serving = false;
    await this.#hooks.gave();
    this.#announce(false, reason);
  }

  /** The actor's thread stopped serving the name (it ended, or declined). */
  #over(reason: string): void {
    if (this.#end === undefined) return;
    this.#end.close();
    this.#end = undefined;
    this.#closed.resolve();
    void this.#giveBack(reason).then(() => this.#announce(false, reason));
  }

  #heard(report: InActorReport): void {
    if ("serving" in report) {
      if (this.#end === undefined) return;
      this.#serving = true;
      // The event once the node's thread takes no more requests for the name.
      void this.#hooks.took().then(() => {
        if (this.#serving) this.#announce(true);
      });
    } else if ("declined" in report) this.#over(report.declined);
    else if ("event" in report) this.#hooks.emit(report.event);
    else if ("stopping" in report) {
      // A gapless hand-back: the actor's thread drains its subscription once the node's is on.
      void this.#giveBack("the actor is stopping").then(() => this.#end?.send({ resumed: true }));
    } else if ("orphans" in report) {
      // The thread is going: the node's takes the name back before it is gone.
      this.#over(report.why === "crash" ? "the actor crashed" : "the actor exited");
      this.#hooks.answer(
        report.orphans,
        new ActorCrashedError(this.#actorId, report.why === "crash" ? "error" : "exited"),
      );
    } else if ("closed" in report) this.#closed.resolve();
  }

  /**
   * Stops serving the name in the actor's thread: it unsubscribes, lets the
   * requests in hand finish (within `timeout`) and closes its connection.
   */
  async close(timeout: number, signal: AbortSignal | undefined): Promise<void> {
    const end = this.#end;
    if (end === undefined) return;
    end.send({ close: timeout });
    await settleWithin(this.#closed.promise, timeout + 1000, signal).catch(noop);
    end.close();
    this.#end = undefined;
    this.#serving = false;
  }
}
