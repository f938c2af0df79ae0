// Worker threads that outlive their termination. Deno cannot stop a worker
// spinning in synchronous code: `terminate()` returns, the thread keeps a
// core busy, and the process can never exit on its own. The system names
// such an actor on stderr, and (unless told not to) ends the process once
// the system has shut down and the main module has finished, if the thread
// still runs then, instead of hanging at the end of a script.

type Thread = () => Promise<"running" | "ended" | undefined>;

let mainFinished = false;
const watches = new Set<LeakWatch>();
// Fires when the main module (top-level await included) has finished; there
// is no main module to wait for in a worker.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "undefined") {
  globalThis.addEventListener("load", () => {
    mainFinished = true;
    for (const watch of watches) void watch.check();
  }, { once: true });
}

/** Says on stderr which actors leaked threads, and ends the process when nothing else can. */
export class LeakWatch {
  #exit: boolean;
  #leaked = new Map<string, Thread>();
  #down = false;
  #exiting = false;

  /** @param exit Whether to end the process after a leaking shutdown (`exitOnLeak`). */
  constructor(exit: boolean) {
    this.#exit = exit;
  }

  /**
   * A worker or thread actor's thread outlived its termination. `thread` looks again; it is
   * `undefined` when the threads cannot be seen (then the actor was only
   * terminated inside a handler, and may have ended).
   */
  leaked(id: string, host: string, thread: Thread | undefined): void {
    if (thread) this.#leaked.set(id, thread);
    console.error(
      `troupe: ${host} actor "${id}" ${
        thread ? "still runs" : "may still run"
      } after it was terminated inside a handler: a handler stuck in synchronous code cannot be ` +
        `stopped (Deno cannot stop such a thread), and then this process cannot exit on its own. ` +
        `Run actors that may spin with host: "process" (a process can be killed).` +
        (thread && this.#exit
          ? " If the thread still runs once the system has shut down and the main module has " +
            "finished, the process will exit with code 1 (ActorSystem.start({ exitOnLeak: false }) " +
            "keeps it running)."
          : " End the process with Deno.exit()."),
    );
    void this.check();
  }

  /** The system has shut down: resolves once the leaked threads were looked at again. */
  down(): Promise<void> {
    this.#down = true;
    if (this.#leaked.size > 0) watches.add(this);
    return this.check();
  }

  /** Ends the process when the system is down, the main module finished and a thread still runs. */
  async check(): Promise<void> {
    if (!this.#exit || !this.#down || !mainFinished || this.#exiting) return;
    const running: string[] = [];
    for (const [id, thread] of this.#leaked) {
      if (await thread() === "running") running.push(id);
      else this.#leaked.delete(id);
    }
    if (running.length === 0 || this.#exiting) return;
    this.#exiting = true;
    console.error(
      `troupe: exiting: the thread of ${
        running.map((id) => `"${id}"`).join(", ")
      } cannot be stopped`,
    );
    Deno.exit(1);
  }
}
