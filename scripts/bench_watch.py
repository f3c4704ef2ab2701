#!/usr/bin/env python3
"""End-to-end benchmark of `otsentry watch` (release build): alert latency under a live load, and
throughput on a log written beforehand, in wall time and in CPU time (what a shared machine
skews less). Not a test: run it by hand (docs/watch.md has the figures).

Latency: a training log of the generator's `polls` layout (scripts/gen_conn_log.py) trains a
model; then a live conn.log is appended to at RATE lines/s (default 10,000) in 1 ms slices while
`watch --siem tcp://127.0.0.1:PORT` follows it. Every 100th line is a poll of a PLC from a host
never seen in training (a new source each time, so each is its own alert). A loopback TCP receiver
in its own process stamps each alert's arrival; the appender stamps each intruder line once its
write returned. Prints p50, p99 and max of append-to-arrival over the run, and the p99 beyond the
polling interval (the part the poll does not explain).

Throughput: LINES ordinary lines (default 1,000,000) written before `watch --exit-when-idle`
starts; prints lines/s over the whole run (model load and spool drain included).

Usage: scripts/bench_watch.py [WORK_DIR]   (default target/bench_watch)
Environment: RATE (10000), SECONDS (10), POLL_MS (500), LINES (1000000), TRAIN_ROWS (200000),
PHASES (latency,throughput: either or both),
BIN (a built otsentry; default: cargo build --release, then target/release/otsentry).
"""

import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_conn_log  # noqa: E402

START = 1_790_812_800.0
SPAN = 30 * 86_400.0
PLC = "10.10.10.10"  # the generator's first PLC, polled over Modbus on 502


def ordinary_edges():
    """The generator's edges, in its order (the same seed, so the same masters)."""
    import random

    rng = random.Random(42)
    masters = [f"10.10.2.{i}" for i in range(10, 30)]
    plcs = [f"10.10.10.{i}" for i in range(10, 210)]
    edges = []
    for plc_idx, plc in enumerate(plcs):
        port, service = gen_conn_log.SERVICES[plc_idx % 3]
        for master in rng.sample(masters, 2):
            edges.append((master, plc, port, service))
    return edges


class Lines:
    """Live lines continuing the training log's rhythm (same edges, same step of log time)."""

    def __init__(self, train_rows):
        self.edges = ordinary_edges()
        self.step = SPAN / train_rows
        self.ts = START + SPAN
        self.row = 0

    def ordinary(self):
        master, plc, port, service = self.edges[self.row % len(self.edges)]
        self.ts += self.step
        self.row += 1
        return (
            f"{self.ts:.6f}\tC{self.row:017d}\t{master}\t{40000 + self.row % 20000}\t{plc}\t{port}\ttcp\t"
            f"{service}\t0.012\t13\t41\tSF\tT\tT\t0\tShADadfF\t5\t281\t4\t201\t-\n"
        )

    def intruder(self, n):
        self.ts += self.step
        self.row += 1
        src = f"10.77.{n // 250}.{n % 250 + 1}"
        line = (
            f"{self.ts:.6f}\tCINTRUDER{n:09d}\t{src}\t{41000 + n % 20000}\t{PLC}\t502\ttcp\t"
            f"modbus\t0.012\t13\t41\tSF\tT\tT\t0\tShADadfF\t5\t281\t4\t201\t-\n"
        )
        return src, line


def receiver(sock, out_path):
    """Accepts watch's TCP sink and writes `arrival_time source_ip action` per alert line."""
    with open(out_path, "w") as out:
        conn, _ = sock.accept()
        buf = b""
        while True:
            data = conn.recv(1 << 16)
            if not data:
                conn, _ = sock.accept()
                continue
            now = time.time()
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                src = (event.get("source") or {}).get("ip", "")
                action = (event.get("event") or {}).get("action", "")
                out.write(f"{now:.6f} {src} {action}\n")
            out.flush()


def start_receiver(work):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    path = os.path.join(work, "arrivals.txt")
    proc = multiprocessing.Process(target=receiver, args=(sock, path), daemon=True)
    proc.start()
    return sock.getsockname()[1], proc, path


def percentile(values, p):
    values = sorted(values)
    idx = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[idx]


def latency(binary, model, work, train_rows):
    rate = int(os.environ.get("RATE", "10000"))
    seconds = float(os.environ.get("SECONDS", "10"))
    poll_ms = int(os.environ.get("POLL_MS", "500"))
    live = os.path.join(work, "live")
    state = os.path.join(work, "state-live")
    subprocess.run(["rm", "-rf", live, state], check=True)
    os.makedirs(live)
    log = os.path.join(live, "conn.log")
    port, proc, arrivals_path = start_receiver(work)
    lines = Lines(train_rows)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, gen_conn_log.HEADER.encode())
    watch = subprocess.Popen(
        [binary, "watch", "--log", live, "--model", model, "--siem", f"tcp://127.0.0.1:{port}",
         "--state-dir", state, "--poll-ms", str(poll_ms), "--health-every", "5"],
        stderr=open(os.path.join(work, "watch-live.err"), "w"),
    )
    time.sleep(1.5)  # the model loads; the first poll finds only the header
    appended = {}
    per_ms = rate / 1000.0
    owed = 0.0
    intruders = 0
    written = 0
    begin = time.perf_counter()
    next_slice = begin
    while time.perf_counter() - begin < seconds:
        owed += per_ms
        chunk = []
        srcs = []
        while owed >= 1.0:
            owed -= 1.0
            written += 1
            if written % 100 == 0:
                src, line = lines.intruder(intruders)
                intruders += 1
                srcs.append(src)
                chunk.append(line)
            else:
                chunk.append(lines.ordinary())
        if chunk:
            os.write(fd, "".join(chunk).encode())
            now = time.time()
            for src in srcs:
                appended[src] = now
        next_slice += 0.001
        pause = next_slice - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    took = time.perf_counter() - begin
    os.close(fd)
    deadline = time.time() + 10 + poll_ms / 1000.0
    arrived = {}
    while time.time() < deadline:
        arrived = {}
        with open(arrivals_path) as f:
            for row in f:
                t, src, action = row.split()
                if action == "alert_opened" and src in appended and src not in arrived:
                    arrived[src] = float(t)
        if len(arrived) == len(appended):
            break
        time.sleep(0.2)
    watch.terminate()
    watch.wait()
    proc.terminate()
    delays = [(arrived[src] - appended[src]) * 1000.0 for src in arrived]
    print(f"latency: {written} lines in {took:.1f} s ({written / took:.0f} lines/s), "
          f"{len(appended)} intruder alerts, {len(arrived)} arrived, polling every {poll_ms} ms")
    if delays:
        p50, p99 = percentile(delays, 50), percentile(delays, 99)
        print(f"  append to arrival: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(delays):.1f} ms; "
              f"p99 beyond the polling interval: {p99 - poll_ms:.1f} ms")


def throughput(binary, model, work, train_rows):
    count = int(os.environ.get("LINES", "1000000"))
    logs = os.path.join(work, "prewritten")
    state = os.path.join(work, "state-prewritten")
    subprocess.run(["rm", "-rf", logs, state], check=True)
    os.makedirs(logs)
    lines = Lines(train_rows)
    with open(os.path.join(logs, "conn.log"), "w") as out:
        out.write(gen_conn_log.HEADER)
        batch = []
        for n in range(count):
            batch.append(lines.ordinary())
            if len(batch) == 10000:
                out.write("".join(batch))
                batch = []
        out.write("".join(batch))
    port, proc, _ = start_receiver(work)
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    result = subprocess.run(
        [binary, "watch", "--log", logs, "--model", model, "--siem", f"tcp://127.0.0.1:{port}",
         "--state-dir", state, "--exit-when-idle", "--poll-ms", "10", "--drain-secs", "10"],
        stderr=subprocess.PIPE, text=True,
    )
    took = time.perf_counter() - begin
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    proc.terminate()
    if result.returncode != 0:
        sys.exit(f"watch failed: {result.stderr}")
    stopped = [line for line in result.stderr.splitlines() if line.startswith("watch stopped")]
    print(f"throughput: {count} lines written beforehand, watch --exit-when-idle took {took:.2f} s: "
          f"{count / took:,.0f} lines/s (model load and spool drain included); "
          f"{cpu:.2f} CPU s: {count / max(cpu, 1e-9):,.0f} lines per CPU second")
    if stopped:
        print(f"  {stopped[-1]}")


def main():
    work = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target", "bench_watch"))
    os.makedirs(work, exist_ok=True)
    binary = os.environ.get("BIN")
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
        binary = os.path.join(REPO, "target", "release", "otsentry")
    train_rows = int(os.environ.get("TRAIN_ROWS", "200000"))
    train_log = os.path.join(work, "train", "conn.log")
    model = os.path.join(work, "bench.model")
    if not os.path.exists(model):
        os.makedirs(os.path.dirname(train_log), exist_ok=True)
        gen_conn_log.main(train_log, train_rows)
        subprocess.run([binary, "train", "--log", train_log, "--out", model], check=True,
                       stdout=subprocess.DEVNULL)
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, load average {open('/proc/loadavg').read().split()[:3]}")
    phases = os.environ.get("PHASES", "latency,throughput").split(",")
    if "latency" in phases:
        latency(binary, model, work, train_rows)
    if "throughput" in phases:
        throughput(binary, model, work, train_rows)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
