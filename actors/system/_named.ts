// A system's named work queues and semaphores: created by the first call that
// names one, returned to the calls after it. Actors reach them by name
// (`ctx.queue`, `ctx.semaphore`), through the system's calls or, for a worker
// actor's semaphore, through shared memory.

import { WorkQueue, type WorkQueueOptions } from "../sync/work_queue.ts";
import { Semaphore } from "../sync/semaphore.ts";

/** The work queues and semaphores of one system, by name. */
export class Named {
  readonly queues: Map<string, WorkQueue<unknown>> = new Map();
  readonly semaphores: Map<string, Semaphore> = new Map();

  /** The queue of that name, created with `options` when there is none. */
  queue<T>(name: string, options: WorkQueueOptions): WorkQueue<T> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new WorkQueue<unknown>(name, options);
      this.queues.set(name, queue);
    }
    return queue as WorkQueue<T>;
  }

  /**
   * The semaphore of that name, created with `permits` when there is none.
   *
   * @throws {TypeError} When it exists with a different number of permits.
   */
  semaphore(name: string, permits: number): Semaphore {
    let semaphore = this.semaphores.get(name);
    if (!semaphore) {
      semaphore = new Semaphore(permits, { name });
      this.semaphores.set(name, semaphore);
    } else if (semaphore.permits !== permits) {
      throw new TypeError(
        `Cannot create semaphore "${name}": it exists with ${semaphore.permits} permits, not ${permits}`,
      );
    }
    return semaphore;
  }
}
