"""Writes a large, plausible OT conn.log (Zeek TSV) for benchmarks: HMIs and SCADA servers polling
PLCs over Modbus, DNP3 and EtherNet/IP with per-poll connections, over 30 days.

Usage: gen_conn_log.py OUT ROWS
"""

import random
import sys

HEADER = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2026-10-01-00-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
"""

SERVICES = [(502, "modbus"), (20000, "dnp3_tcp"), (44818, "enip")]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def main(out, rows):
    rng = random.Random(42)
    masters = [f"10.10.2.{i}" for i in range(10, 30)]
    plcs = [f"10.10.10.{i}" for i in range(10, 210)]
    edges = []
    for plc_idx, plc in enumerate(plcs):
        port, service = SERVICES[plc_idx % 3]
        for master in rng.sample(masters, 2):
            edges.append((master, plc, port, service))
    start = 1_790_812_800.0  # 2026-10-01T00:00:00Z
    span = 30 * 86_400.0
    step = span / rows
    with open(out, "w") as log:
        log.write(HEADER)
        ts = start
        lines = []
        for row in range(rows):
            master, plc, port, service = edges[row % len(edges)]
            ts += step
            uid = "C" + "".join(rng.choice(ALPHABET) for _ in range(17))
            duration = 0.004 + rng.random() * 0.02
            orig_bytes = 12 + rng.randrange(4)
            resp_bytes = 20 + rng.randrange(40)
            orig_pkts = 5 + rng.randrange(2)
            resp_pkts = 4 + rng.randrange(2)
            state = "SF" if rng.random() > 0.001 else "RSTO"
            lines.append(
                f"{ts:.6f}\t{uid}\t{master}\t{40000 + row % 20000}\t{plc}\t{port}\ttcp\t{service}\t"
                f"{duration:.6f}\t{orig_bytes}\t{resp_bytes}\t{state}\tT\tT\t0\tShADadFf\t"
                f"{orig_pkts}\t{orig_bytes + 40 * orig_pkts}\t{resp_pkts}\t{resp_bytes + 40 * resp_pkts}\t-\n"
            )
            if len(lines) >= 100_000:
                log.writelines(lines)
                lines.clear()
        log.writelines(lines)
        log.write("#close\t2026-10-31-00-00-00\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
