/**
 * This process's anonymous memory by who holds it, from `/proc/self/smaps` (Linux): to tell, when
 * RSS grows while the JS heaps stay flat, glibc's malloc apart from V8's pages. Read
 * synchronously (an async read runs on one of Tokio's blocking threads).
 *
 * - `brk`: `[heap]`, the main arena of glibc's malloc (the main thread's allocations).
 * - `arenas`: glibc's thread arenas, one 64 MiB-aligned reservation each (a read-write part and
 *   its reserved rest); a thread that mallocs gets one, up to 8 per core unless
 *   `MALLOC_ARENA_MAX` says fewer.
 * - `v8Pages`: read-write anonymous mappings of exactly 256 KiB, V8's heap pages (of every
 *   isolate in the process: the main one and each worker's).
 * - `otherAnon`: every other anonymous mapping (thread stacks, large mallocs, V8's code and
 *   large-object space, shared memory).
 *
 * @module
 */

/** Resident MiB of each kind of anonymous memory, and how many arenas and V8 pages there are. */
export interface AnonBreakdown {
  brkMiB: number;
  arenasMiB: number;
  arenas: number;
  v8PagesMiB: number;
  v8Pages: number;
  otherAnonMiB: number;
}

interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** `""` for an anonymous mapping, its bracketed name (`[heap]`), or `"file"`. */
  name: string;
  rssKiB: number;
}

const ARENA_BYTES = 64 * 2 ** 20;
const V8_PAGE_BYTES = 256 * 1024;

function mappings(): Mapping[] {
  const maps: Mapping[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head !== null) {
      maps.push({
        start: parseInt(head[1], 16),
        end: parseInt(head[2], 16),
        perms: head[3],
        name: head[4] === "0" ? head[5] : "file",
        rssKiB: 0,
      });
    } else if (line.startsWith("Rss:") && maps.length > 0) {
      maps[maps.length - 1].rssKiB = Number(/(\d+) kB/.exec(line)![1]);
    }
  }
  return maps;
}

/** Reads `/proc/self/smaps` and sums its anonymous mappings by kind. */
export function anonBreakdown(): AnonBreakdown {
  const maps = mappings();
  let brk = 0, arenas = 0, arenaCount = 0, pages = 0, pageCount = 0, other = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i];
    if (m.name === "[heap]") {
      brk += m.rssKiB;
      continue;
    }
    if (m.name !== "") continue;
    const next = maps[i + 1];
    if (m.start % ARENA_BYTES === 0 && m.perms.startsWith("rw")) {
      const split = next !== undefined && next.start === m.end && next.name === "" &&
        next.perms.startsWith("---") && next.end - m.start === ARENA_BYTES;
      if (split || m.end - m.start === ARENA_BYTES) {
        arenas += m.rssKiB;
        arenaCount++;
        if (split) i++;
        continue;
      }
    }
    if (m.perms.startsWith("rw") && m.end - m.start === V8_PAGE_BYTES) {
      pages += m.rssKiB;
      pageCount++;
      continue;
    }
    other += m.rssKiB;
  }
  const mib = (kib: number) => Number((kib / 1024).toFixed(1));
  return {
    brkMiB: mib(brk),
    arenasMiB: mib(arenas),
    arenas: arenaCount,
    v8PagesMiB: mib(pages),
    v8Pages: pageCount,
    otherAnonMiB: mib(other),
  };
}

/**
 * Calls glibc's `malloc_trim(0)` (through FFI: needs `--allow-ffi`), which hands the free pages
 * inside every arena back to the system. What RSS loses by it was free but kept (fragmentation);
 * what stays is in use. Returns whether it ran (`false` off glibc or without FFI).
 */
export function mallocTrim(): boolean {
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
  } catch {
    return false;
  }
  try {
    libc.symbols.malloc_trim(0n);
    return true;
  } finally {
    libc.close();
  }
}
