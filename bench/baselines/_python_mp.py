"""Python multiprocessing baselines for Troupe's bench (no Troupe code involved).

Usage: python3 _python_mp.py queue|pipe TOTAL WARMUP ROUNDS RTT_WARMUP

Measures, between this process and one child process:
  - one-way throughput of a small dict {id, op, n} (47 bytes as JSON), the child acking every
    1000 messages and the sender keeping at most 8000 unacknowledged messages in flight;
  - ping-pong round trips of the same dict.
Prints one JSON object: {"small": msg/s, "rtt_p50": us, "rtt_p99": us}.
"""

import json
import math
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

ACK_EVERY = 1000
WINDOW = 8 * ACK_EVERY
OP_TELL = "counter.add"
OP_ECHO = "counter.get"


def small_message(i, op=OP_TELL):
    return {"id": 1_000_000 + i, "op": op, "n": 100_000_000 + i}


def exit_with_parent():
    """Ends this child when its parent dies, even by SIGKILL (the child holds both ends of the
    queue's pipe, so it would otherwise wait for input forever)."""
    sentinel = mp.parent_process().sentinel

    def watch():
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def serve(recv, send):
    exit_with_parent()
    count = 0
    while True:
        message = recv()
        if message is None:
            return
        if message["op"] == OP_ECHO:
            send(message)
            continue
        count += 1
        if count % ACK_EVERY == 0:
            send(count)


def queue_child(inbound, outbound):
    serve(inbound.get, outbound.put)


def pipe_child(conn):
    serve(conn.recv, conn.send)


def percentile(sorted_samples, p):
    rank = math.ceil(p / 100 * len(sorted_samples))
    return sorted_samples[min(len(sorted_samples) - 1, max(0, rank - 1))]


def measure(send, recv, total, warmup, rounds, rtt_warmup):
    state = {"sent": 0, "acked": 0}

    def pump(count):
        end = state["sent"] + count
        while state["sent"] < end:
            while state["sent"] - state["acked"] >= WINDOW:
                state["acked"] = recv()
            send(small_message(state["sent"]))
            state["sent"] += 1
        while state["acked"] < end:
            state["acked"] = recv()

    pump(warmup)
    start = time.perf_counter()
    pump(total)
    throughput = total / (time.perf_counter() - start)

    samples = []
    for i in range(rtt_warmup + rounds):
        start = time.perf_counter()
        send(small_message(i, OP_ECHO))
        recv()
        if i >= rtt_warmup:
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return {
        "small": throughput,
        "rtt_p50": percentile(samples, 50),
        "rtt_p99": percentile(samples, 99),
    }


def on_sigterm(signum, frame):
    sys.exit(128 + signum)  # runs the finally blocks, which stop the child


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    kind = sys.argv[1]
    total, warmup, rounds, rtt_warmup = (int(a) for a in sys.argv[2:6])
    if kind == "queue":
        inbound, outbound = mp.Queue(), mp.Queue()
        child = mp.Process(target=queue_child, args=(inbound, outbound), daemon=True)
        send, recv, stop = inbound.put, outbound.get, lambda: inbound.put(None)
    elif kind == "pipe":
        parent_end, child_end = mp.Pipe()
        child = mp.Process(target=pipe_child, args=(child_end,), daemon=True)
        send, recv, stop = parent_end.send, parent_end.recv, lambda: parent_end.send(None)
    else:
        sys.exit(f"unknown kind {kind!r}, expected queue or pipe")
    child.start()
    try:
        result = measure(send, recv, total, warmup, rounds, rtt_warmup)
        stop()
        child.join(5)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
