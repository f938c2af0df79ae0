// The node's end of a name served in the actor's own thread
// (`ExposeOptions.inActor`): it starts the actor's end (`_in_actor.ts`) as an
// extension of the actor (see `../core/extension.ts`), hands the
// subscription over once the actor's thread has subscribed, and takes it
// back when that thread stops serving: the actor ended, or declined.
//
// The node's exposure keeps the name served meanwhile, so a request finds a
// subscriber in every phase but one: between an actor's thread ending
// without a word (out of memory, terminated) and the node hearing of it, a
// request to a name no other process serves gets no responders. Asks the
// actor's thread held when it crashed or called `Deno.exit()` are handed to
// the node, which answers them `ActorCrashedError`; a thread that crashed
// runs on until the node's thread serves the name again, and passes the
// requests the server sent it meanwhile back to the subject (see
// `NODE_SERVES`) before the node lets it go. Those it held when it
// ended without a word, the node reads from their journal in shared memory
// (`AskJournal`) and answers as its own path answers an ended actor's.

import { type RefTarget, targetOf } from "../core/actor_ref.ts";
import { type ActorCell, exitError, type ExtensionEnd } from "../core/cell.ts";
import { ActorCrashedError } from "../../internal/errors.ts";
import { EXTENSION_CRASH_MS } from "../core/extension.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import {
  ACTOR_DONE,
  type ActorConnectionStats,
  AskJournal,
  COUNTERS,
  type InActorData,
  type InActorEnd,
  type InActorHooks,
  type InActorNodeKit,
  type InActorReport,
  NODE_SERVES,
  PENDING_SLOT,
  raise,
  raised,
  SharedText,
} from "./_in_actor_shared.ts";

const MODULE = new URL("./_in_actor.ts", import.meta.url).href;

/** Why `cell` cannot serve a name in its own thread, or `undefined` when it can. */
function refusal(cell: ActorCell): string | undefined {
  if (cell.hostKind !== "worker" && cell.hostKind !== "thread") {
    return `the actor runs in a ${cell.hostKind}, not a worker or thread`;
  }
  if (cell.transportName !== "queue") {
    return `the actor's transport is ${cell.transportName}, not queue`;
  }
  return undefined;
}

/** A running actor's cell (what `system.spawn` gives a ref), told by its `extend`. */
function isCell(target: RefTarget | undefined): target is ActorCell {
  return typeof (target as Partial<ActorCell> | undefined)?.extend === "function";
}

/**
 * The node's end of one name served in the actor's thread. For a
 * supervised child's ref it follows the child: each incarnation is asked
 * to serve the name once it runs, and the node's thread serves it between
 * them (where the ref's `whileRestarting` holds, as without the option).
 */
export class InActorServing implements InActorEnd {
  /** The actor's thread's counters, which the exposure adds to its own. */
  readonly counters: Float64Array = new Float64Array(
    new SharedArrayBuffer(COUNTERS * Float64Array.BYTES_PER_ELEMENT),
  );
  /** The actor's thread's last error. */
  readonly lastError: SharedText = new SharedText();
  /** The actor's own NATS connection, across its incarnations. */
  readonly connection: ActorConnectionStats = { connected: false, disconnects: 0, reconnects: 0 };
  #kit: InActorNodeKit;
  #hooks: InActorHooks;
  #actorId = "";
  /** The incarnation asked to serve the name now, and its end. */
  #cell: ActorCell | undefined;
  #end: ExtensionEnd | undefined;
  #serving = false;
  /** Resolves once the current incarnation's thread has let go of the name (see `close`). */
  #closed = Promise.withResolvers<void>();
  #closing = false;
  /** Stops following a supervised child's incarnations. */
  #unfollow: () => void = noop;
  /** The asks in hand of each incarnation asked to serve the name, until it ended. */
  #journals = new Map<ExtensionEnd, AskJournal>();
  /** The last `nats-served-in-actor` state announced. */
  #announced: boolean | undefined;

  constructor(kit: InActorNodeKit, hooks: InActorHooks) {
    this.#kit = kit;
    this.#hooks = hooks;
    const target = targetOf(hooks.target);
    if (isCell(target)) {
      this.#attach(target);
    } else if (target?.incarnations !== undefined) {
      this.#actorId = target.id;
      this.#unfollow = target.incarnations((cell) => {
        if (isCell(cell)) this.#attach(cell);
      });
      void target.exited.then(() => this.#unfollow());
    } else {
      this.#announce(false, "the target is not an actor's ref (a pool)");
    }
  }

  /** Whether the actor's thread serves the name now. */
  get serving(): boolean {
    return this.#serving;
  }

  /** Asks the incarnation `cell` to serve the name in its thread. */
  #attach(cell: ActorCell): void {
    if (this.#closing) return;
    this.#actorId = cell.id;
    const refused = refusal(cell);
    if (refused !== undefined) {
      this.#announce(false, refused);
      return;
    }
    const kit = this.#kit;
    const hooks = this.#hooks;
    const journal = new AskJournal(hooks.settings.maxPending);
    const flags = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
    const data: InActorData = {
      options: kit.options,
      connectionName: `${kit.nodeName}/${cell.id}`,
      name: hooks.name,
      subject: hooks.subject,
      queue: hooks.queue,
      settings: { ...hooks.settings, durable: undefined, inActor: false },
      counters: this.counters.buffer as SharedArrayBuffer,
      lastError: this.lastError.buffer,
      journal: journal.buffer,
      flags: flags.buffer as SharedArrayBuffer,
      overflow: cell.overflow,
    };
    const closed = this.#closed = Promise.withResolvers<void>();
    const end: ExtensionEnd | undefined = cell.extend(
      MODULE,
      data,
      (report) => this.#heard(end!, closed, flags, report as InActorReport),
    );
    if (end === undefined) {
      closed.resolve();
      this.#announce(false, "the actor is not running");
      return;
    }
    this.#cell = cell;
    this.#end = end;
    this.#journals.set(end, journal);
    void cell.exited.then((exit) => {
      // Asks the thread held and never handed over (it ended without a word): answered as
      // the node's own path answers an ended actor's.
      const held = this.#journals.get(end)?.read() ?? [];
      this.#journals.delete(end);
      if (held.length > 0) this.#hooks.answer(held, exitError(cell.id, exit));
      this.#over(end, closed, "the actor ended");
    });
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

  /** The node's thread takes the name back; the event once its subscription is registered. */
  async #giveBack(reason: string): Promise<void> {
    if (!this.#serving) return;
    this.#serving = false;
    this.connection.connected = false;
    await this.#hooks.gave();
    // Not if the actor's thread took the name again meanwhile (its connection came back).
    if (!this.#serving) this.#announce(false, reason);
  }

  /** The actor's thread serves the name: the node's lets go of it. */
  #take(end: ExtensionEnd): void {
    this.#serving = true;
    this.connection.connected = true;
    // The event once the node's thread takes no more requests for the name.
    void this.#hooks.took().then(() => {
      if (this.#serving && this.#end === end) this.#announce(true);
    });
  }

  /**
   * The incarnation behind `end` stopped serving the name (it ended, or
   * declined). With the `flags` of a thread that crashed: it runs on to
   * pass back the requests it got since, once the node's thread serves the
   * name again; its end is closed (and the thread let go) once it did.
   */
  #over(
    end: ExtensionEnd,
    closed: PromiseWithResolvers<void>,
    reason: string,
    flags?: Int32Array,
  ): void {
    const current = this.#end === end;
    const letGo = () => {
      end.close();
      closed.resolve();
    };
    if (flags === undefined || !current) letGo();
    if (!current) return;
    this.#end = undefined;
    this.#cell = undefined;
    this.connection.connected = false;
    // Nothing of that thread's is in hand any more: its asks were answered or handed over.
    this.counters[PENDING_SLOT] = 0;
    void this.#giveBack(reason).then(async () => {
      this.#announce(false, reason);
      if (flags === undefined) return;
      raise(flags, NODE_SERVES);
      await raised(flags, ACTOR_DONE, EXTENSION_CRASH_MS);
      letGo();
    });
  }

  #heard(
    end: ExtensionEnd,
    closed: PromiseWithResolvers<void>,
    flags: Int32Array,
    report: InActorReport,
  ): void {
    if ("closed" in report) {
      closed.resolve();
      return;
    }
    if ("event" in report) {
      this.#hooks.emit(report.event);
      return;
    }
    if (this.#end !== end) return;
    if ("serving" in report) this.#take(end);
    else if ("link" in report) {
      // The actor's own connection: while it is down, the node's thread serves the name.
      const time = Date.now();
      const { server } = report;
      if (report.link === "down") {
        this.connection.disconnects++;
        this.#hooks.emit({
          type: "nats-disconnected",
          actorId: this.#actorId,
          server,
          failedAsks: 0,
          time,
        });
        void this.#giveBack("the actor's NATS connection dropped");
      } else {
        this.connection.reconnects++;
        this.#hooks.emit({ type: "nats-reconnected", actorId: this.#actorId, server, time });
        this.#take(end);
      }
    } else if ("declined" in report) this.#over(end, closed, report.declined);
    else if ("stopping" in report) {
      // A gapless hand-back: the actor's thread drains its subscription once the node's is on.
      void this.#giveBack("the actor is stopping").then(() => end.send({ resumed: true }));
    } else if ("orphans" in report) {
      // Handed over: the journal is not read again.
      this.#journals.delete(end);
      // The thread is going: the node's takes the name back before it is gone.
      this.#hooks.answer(
        report.orphans,
        new ActorCrashedError(this.#actorId, report.why === "crash" ? "error" : "exited"),
      );
      if (report.why === "crash") this.#over(end, closed, "the actor crashed", flags);
      else this.#over(end, closed, "the actor exited");
    }
  }

  /**
   * Stops serving the name in the actor's thread: it unsubscribes, lets the
   * requests in hand finish (within `timeout`) and closes its connection.
   * A supervised child's later incarnations are not asked again.
   */
  async close(timeout: number, signal: AbortSignal | undefined): Promise<void> {
    this.#closing = true;
    this.#unfollow();
    const end = this.#end;
    if (end === undefined) return;
    end.send({ close: timeout });
    await settleWithin(this.#closed.promise, timeout + 1000, signal).catch(noop);
    end.close();
    this.#end = undefined;
    this.#cell = undefined;
    this.#serving = false;
    this.connection.connected = false;
  }
}
