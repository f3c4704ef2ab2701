"""Bench helper for scripts/bench_read.sh.

`generate OUT SIZE_MB` writes a realistic Zeek conn.log (current 22-column layout, OT and IT
services, unset and empty markers) of about SIZE_MB megabytes, deterministic for a fixed seed.

`read FILE` reads it the way an analyst would with pandas,
`pd.read_csv(sep='\\t', comment='#', header=None, names=fields)`, and prints the row count and a
few column sums so the work cannot be skipped.
"""

import random
import sys
import time

HEADER = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2026-11-01-10-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount
"""

UID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def generate(out_path, size_mb):
    rng = random.Random(42)
    target = size_mb * 1024 * 1024
    hosts = [f"10.{a}.{b}.{c}" for a in range(1, 4) for b in range(0, 8) for c in range(1, 40)]
    services = [
        ("tcp", 502, "modbus"),
        ("tcp", 20000, "dnp3_tcp"),
        ("tcp", 44818, "enip"),
        ("udp", 2222, "cip"),
        ("tcp", 102, "cotp,s7comm"),
        ("tcp", 102, "s7comm,cotp"),
        ("udp", 47808, "bacnet"),
        ("udp", 53, "dns"),
        ("tcp", 443, "ssl"),
        ("tcp", 445, "-"),
        ("tcp", 502, "-"),
    ]
    states = ["SF", "S0", "RSTO", "OTH", "SHR", "REJ"]
    histories = ["ShADadFf", "ShADadfF", "Dd", "S", "ShADdar", "ShR"]
    ts = 1793527200.0
    written = 0
    with open(out_path, "w", encoding="ascii") as out:
        out.write(HEADER)
        lines = []
        while written < target:
            ts += rng.random() * 0.01
            proto, port, service = rng.choice(services)
            uid = "C" + "".join(rng.choices(UID_ALPHABET, k=17))
            unset_sizes = rng.random() < 0.05
            line = "\t".join(
                [
                    f"{ts:.6f}",
                    uid,
                    rng.choice(hosts),
                    str(rng.randint(1024, 65535)),
                    rng.choice(hosts),
                    str(port),
                    proto,
                    service,
                    "-" if unset_sizes else f"{rng.random() * 30:.6f}",
                    "-" if unset_sizes else str(rng.randint(0, 100000)),
                    "-" if unset_sizes else str(rng.randint(0, 100000)),
                    rng.choice(states),
                    rng.choice("TF"),
                    rng.choice("TF"),
                    "0",
                    rng.choice(histories),
                    str(rng.randint(1, 500)),
                    str(rng.randint(40, 200000)),
                    str(rng.randint(0, 500)),
                    str(rng.randint(0, 200000)),
                    "(empty)" if rng.random() < 0.5 else "-",
                    "6" if proto == "tcp" else "17",
                ]
            )
            lines.append(line)
            written += len(line) + 1
            if len(lines) >= 10000:
                out.write("\n".join(lines))
                out.write("\n")
                lines.clear()
        if lines:
            out.write("\n".join(lines))
            out.write("\n")
        out.write("#close\t2026-11-02-10-00-00\n")


def read(path):
    import pandas as pd

    fields = None
    with open(path, encoding="utf-8") as log:
        for line in log:
            if line.startswith("#fields"):
                fields = line.rstrip("\n").split("\t")[1:]
                break
    if fields is None:
        sys.exit(f"{path}: no #fields line")
    started = time.perf_counter()
    frame = pd.read_csv(path, sep="\t", comment="#", header=None, names=fields)
    seconds = time.perf_counter() - started
    resp_pkts = int(frame["resp_pkts"].sum())
    responders = frame["id.resp_h"].nunique()
    print(
        f"records={len(frame)} resp_pkts={resp_pkts} responders={responders} "
        f"seconds={seconds:.3f} records_per_second={len(frame) / seconds:.0f}"
    )


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "read":
        read(sys.argv[2])
    else:
        sys.exit("usage: bench_read_pandas.py generate OUT SIZE_MB | read FILE")


if __name__ == "__main__":
    main()
