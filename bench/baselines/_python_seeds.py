"""The seed workloads of Troupe's bench, as the Python multiprocessing articles write them.

Usage: python3 _python_seeds.py counter|queue|pipe N

  counter: 4 processes each do N // 4 times `with v.get_lock(): v.value += 1` on one
           `multiprocessing.Value('i', 0)`; the value must end at exactly N. Prints adds/s.
  queue:   4 consumer processes take ints 0..N-1 from one `multiprocessing.Queue` until their
           `None` sentinel (one per worker), each summing what it took; the counts must add up to
           N and the sums to N(N-1)/2 (every item handled exactly once). Prints items/s.
  pipe:    one child process echoes every message it receives on a duplex `multiprocessing.Pipe()`
           until `None`; the parent sends N small dicts one at a time and receives each echo before
           the next send. Prints messages/s with each of the N messages counted once each way
           (2N / seconds).

The code is the articles' code, with nothing tuned: the timer starts when every process is up
(after `start()`, released by an `Event` for the counter, so start-up is not timed, as it is not on
Troupe's side) and stops when the work is done and checked. Prints one JSON object: {"rate": x}.
"""

import json
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

WORKERS = 4


def exit_with_parent():
    """Ends this child when its parent dies, even by SIGKILL, so a killed bench leaves no child
    blocked on a queue or a pipe for ever."""
    sentinel = mp.parent_process().sentinel

    def watch():
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


# --- counter: Value('i', 0) and its lock -------------------------------------------------------


def add(v, times, go):
    exit_with_parent()
    go.wait()
    for _ in range(times):
        with v.get_lock():
            v.value += 1


def counter(n):
    v = mp.Value("i", 0)
    go = mp.Event()
    procs = [mp.Process(target=add, args=(v, n // WORKERS, go)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    start = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    if v.value != n:
        sys.exit(f"counter ended at {v.value}, expected {n}")
    return n / elapsed


# --- queue: 4 consumers, one None sentinel each ------------------------------------------------


def consume(q, results):
    exit_with_parent()
    count = total = 0
    while True:
        item = q.get()
        if item is None:
            break
        count += 1
        total += item
    results.put((count, total))


def queue(n):
    q, results = mp.Queue(), mp.Queue()
    procs = [mp.Process(target=consume, args=(q, results)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    start = time.perf_counter()
    for i in range(n):
        q.put(i)
    for _ in procs:
        q.put(None)
    handled = [results.get() for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    count = sum(c for c, _ in handled)
    total = sum(t for _, t in handled)
    if count != n or total != n * (n - 1) // 2:
        sys.exit(f"queue handled {count} items summing to {total}, expected {n} and {n * (n - 1) // 2}")
    return n / elapsed


# --- pipe: a child echoes every message --------------------------------------------------------


def echo(conn):
    exit_with_parent()
    while True:
        message = conn.recv()
        if message is None:
            break
        conn.send(message)


def pipe(n):
    parent_end, child_end = mp.Pipe()
    child = mp.Process(target=echo, args=(child_end,))
    child.start()
    start = time.perf_counter()
    for i in range(n):
        message = {"id": 1_000_000 + i, "op": "counter.get", "n": 100_000_000 + i}
        parent_end.send(message)
        if parent_end.recv() != message:
            sys.exit(f"pipe echo {i} came back different")
    elapsed = time.perf_counter() - start
    parent_end.send(None)
    child.join()
    return 2 * n / elapsed


def on_sigterm(signum, frame):
    sys.exit(128 + signum)  # runs the finally blocks, which stop the children


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    kind, n = sys.argv[1], int(sys.argv[2])
    workloads = {"counter": counter, "queue": queue, "pipe": pipe}
    if kind not in workloads:
        sys.exit(f"unknown workload {kind!r}, expected counter, queue or pipe")
    if n % WORKERS != 0:
        sys.exit(f"N must be a multiple of {WORKERS}, received {n}")
    try:
        rate = workloads[kind](n)
    finally:
        for p in mp.active_children():
            p.kill()
            p.join()
    print(json.dumps({"rate": rate}))


if __name__ == "__main__":
    main()
