// The lines a service printed (lifecycle events, its own messages, its app's
// log lines), kept for `troupe logs`: the last ones in a ring buffer, and the
// new ones handed to every follower as they come.

/** How many lines a service keeps for `troupe logs` without `--follow`. */
export const LOGBOOK_LINES = 1000;

/** A ring buffer of the last lines, with followers. */
export class Logbook {
  #lines: string[] = [];
  #start = 0;
  #capacity: number;
  #followers = new Set<(line: string) => void>();

  constructor(capacity: number = LOGBOOK_LINES) {
    this.#capacity = capacity;
  }

  /** Keeps a line and hands it to the followers. */
  add(line: string): void {
    if (this.#lines.length < this.#capacity) this.#lines.push(line);
    else {
      this.#lines[this.#start] = line;
      this.#start = (this.#start + 1) % this.#capacity;
    }
    for (const follower of this.#followers) follower(line);
  }

  /** The last `count` lines, oldest first. */
  last(count: number): string[] {
    const ordered = [...this.#lines.slice(this.#start), ...this.#lines.slice(0, this.#start)];
    return count <= 0 ? [] : ordered.slice(-count);
  }

  /** Hands every new line to `follower` until the returned function is called. */
  follow(follower: (line: string) => void): () => void {
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }
}
