// The parent's link to one running actor: its host (a worker, a thread or a
// process) and its channel. It launches the actor, reads the batches the
// actor sends, tells a death only the host can see from a channel that ends
// (what the actor sent before dying is let arrive first), and frees both at
// the end. What the batches say, and what an exit sets off, are the cell's
// (`cell.ts`).

import type { Transport } from "../../transports/transport.ts";
import type { ActorHostKind, Host, Launcher } from "./host.ts";
import { type CrashReason, ProtocolError } from "../../internal/errors.ts";
import type { BootMessage } from "./protocol.ts";
import { noop, settleWithin } from "../../internal/abort.ts";

/** How long a host's report of a death waits for the channel to deliver what was sent before it. */
const DEATH_GRACE_MS = 1000;

/** What a link tells its cell. */
export interface LinkOwner {
  /** Whether the actor's exit is decided. */
  ended(): boolean;
  /** The channel is up; `false` when the actor ended meanwhile (nothing is read then). */
  connected(transport: Transport): boolean;
  /** A batch from the actor. */
  received(batch: unknown[]): void;
  /** The actor is gone, for this reason. */
  crash(reason: CrashReason, error: Error): void;
}

/** The host and the channel of one running actor. */
export class CellLink {
  /** The actor's host, once launched. */
  host: Host | undefined;
  /** The parent's end of the actor's channel, once launched. */
  transport: Transport | undefined;
  #hostKind: ActorHostKind;
  #owner: LinkOwner;
  #launching: Promise<void> | undefined;
  #receiving: Promise<void> | undefined;
  #death: { reason: CrashReason; error: Error } | undefined;
  #deathReported: (() => void) | undefined;

  constructor(hostKind: ActorHostKind, owner: LinkOwner) {
    this.#hostKind = hostKind;
    this.#owner = owner;
  }

  /** Launches the actor and, once its channel is up, reads what it sends. */
  launch(launch: Launcher, boot: BootMessage): void {
    this.#launching = launch(boot, {
      died: (reason, error, graceMs) => this.#hostDied(reason, error, graceMs),
    })
      .then(({ host, transport }) => {
        this.host = host;
        this.transport = transport;
        if (this.#owner.connected(transport)) this.#receiving = this.#receive();
      }, (error) => {
        this.#owner.crash("error", error instanceof Error ? error : new Error(String(error)));
      });
  }

  // The host saw the actor die. What the actor sent before dying may still be
  // on its way through the channel (a goodbye, replies): let it arrive first.
  #hostDied(reason: CrashReason, error: Error, graceMs = DEATH_GRACE_MS): void {
    if (this.#owner.ended() || this.#death) return;
    this.#death = { reason, error };
    this.#deathReported?.();
    const receiving = this.#receiving;
    if (!receiving) {
      this.#owner.crash(reason, error);
      return;
    }
    void settleWithin(receiving, graceMs).then(() => this.#owner.crash(reason, error));
  }

  async #receive(): Promise<void> {
    try {
      for await (const batch of this.transport!.receive()) {
        this.#owner.received(batch);
        if (this.#owner.ended()) return;
      }
    } catch (error) {
      // A frame cut short is what a kill looks like from here: let the
      // host's exit status (the signal) say why, when it has one. Bytes that
      // break the protocol are the actor's error, whatever its exit says.
      const cutShort = !(error instanceof ProtocolError) || error.truncated;
      if (cutShort && await this.#hostWillReport()) return;
      this.#owner.crash("error", error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (await this.#hostWillReport()) return;
    this.#owner.crash("exited", new Error("The actor's channel closed without a goodbye"));
  }

  /**
   * After the channel ended or broke: waits a moment for a host that can
   * tell why (a process's exit status); `true` when it did, and so ends the
   * actor with its reason (see `#hostDied`).
   */
  async #hostWillReport(): Promise<boolean> {
    if (this.#owner.ended() || this.#death) return true;
    // A process's exit status and a thread's exit event (code, heap limit) say why.
    if (this.#hostKind === "worker") return false;
    await settleWithin(
      new Promise<void>((resolve) => this.#deathReported = resolve),
      DEATH_GRACE_MS,
    );
    return this.#death !== undefined;
  }

  // Frees the host and the channel; the cell's `exited` resolves only after
  // this, so a stopped actor leaves no worker, process or stream behind.
  async release(kill: boolean, killGraceMs: number | undefined): Promise<void> {
    await this.#launching;
    await Promise.all([
      this.transport?.close().catch(noop),
      kill ? this.host?.kill(killGraceMs) : this.host?.release(),
    ]);
  }
}
