"""Writes a large, plausible OT conn.log (Zeek TSV) for benchmarks, over 30 days, in one of two
layouts:

- `polls` (the default): 20 HMIs and SCADA servers poll 200 PLCs over Modbus, DNP3 and
  EtherNet/IP, one connection per poll, round robin over 400 edges at a steady rate.
- `plant2`: another site: 6 SCADA front ends and 2 engineering stations on 172.20.0.0/16 poll
  1,200 RTUs and PLCs over Modbus, DNP3, S7comm, EtherNet/IP and BACnet/UDP, each edge at its own
  period (2 s to 15 min) with jitter, merged in time order; durations and sizes drawn per edge
  (register counts, retransmissions, failed connections), and the columns in another order with
  site-added ones (community_id, VLANs, MAC addresses), as a Zeek with packages writes them.

Usage: gen_conn_log.py OUT ROWS [polls|plant2]
"""

import heapq
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


PLANT2_FIELDS = [
    ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"),
    ("id.resp_h", "addr"), ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"),
    ("duration", "interval"), ("orig_bytes", "count"), ("resp_bytes", "count"),
    ("conn_state", "string"), ("local_orig", "bool"), ("local_resp", "bool"),
    ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"), ("vlan", "int"), ("inner_vlan", "int"),
    ("orig_l2_addr", "string"), ("resp_l2_addr", "string"), ("community_id", "string"),
]

# (port, proto, service, request bytes, response bytes per register or object)
PLANT2_SERVICES = [
    (502, "tcp", "modbus", 12, 2),
    (20000, "tcp", "dnp3_tcp", 27, 3),
    (102, "tcp", "s7comm,cotp", 33, 4),
    (44818, "tcp", "enip", 40, 4),
    (47808, "udp", "bacnet", 17, 5),
]

PLANT2_PERIODS = [2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0]


def plant2(out, rows):
    rng = random.Random(7)
    fronts = [f"172.20.1.{i}" for i in range(20, 26)]
    stations = ["172.20.9.40", "172.20.9.41"]
    edges = []
    for idx in range(1200):
        port, proto, service, request, per_register = PLANT2_SERVICES[rng.randrange(len(PLANT2_SERVICES))]
        resp = f"172.20.{16 + idx // 200}.{10 + idx % 200}"
        orig = rng.choice(stations) if rng.random() < 0.03 else fronts[idx % len(fronts)]
        edges.append({
            "orig": orig, "resp": resp, "port": port, "proto": proto, "service": service,
            "request": request, "response": request + per_register * rng.choice([1, 2, 4, 8, 10, 16, 32, 64]),
            "period": rng.choice(PLANT2_PERIODS),
            "latency": rng.uniform(0.002, 0.05),
            "vlan": 100 + idx // 200,
            "orig_mac": "00:1b:1b:%02x:%02x:%02x" % (1, idx // 256, idx % 256),
            "resp_mac": "00:0e:8c:%02x:%02x:%02x" % (2, idx // 256, idx % 256),
        })
    start = 1_790_812_800.0  # 2026-10-01T00:00:00Z
    span = 30 * 86_400.0
    # Scale the periods so that the edges together write `rows` rows in the 30 days.
    rate = sum(1.0 / edge["period"] for edge in edges)
    scale = rate * span / rows
    for edge in edges:
        edge["period"] *= scale
    queue = [(start + rng.random() * edge["period"], idx) for idx, edge in enumerate(edges)]
    heapq.heapify(queue)
    header = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    header += "#open\t2026-10-01-00-00-00\n"
    header += "#fields\t" + "\t".join(name for name, _ in PLANT2_FIELDS) + "\n"
    header += "#types\t" + "\t".join(kind for _, kind in PLANT2_FIELDS) + "\n"
    with open(out, "w") as log:
        log.write(header)
        lines = []
        for row in range(rows):
            ts, idx = heapq.heappop(queue)
            edge = edges[idx]
            heapq.heappush(queue, (ts + edge["period"] * rng.uniform(0.97, 1.03), idx))
            uid = "C" + "".join(rng.choice(ALPHABET) for _ in range(17))
            orig_p = 1024 + rng.randrange(64000)
            chance = rng.random()
            if edge["proto"] == "udp":
                state, history = "SF", "Dd"
                duration = edge["latency"] * rng.lognormvariate(0.0, 0.3)
                orig_bytes, resp_bytes, orig_pkts, resp_pkts = edge["request"], edge["response"], 1, 1
            elif chance < 0.002:
                state, history = "S0", "S"
                duration, orig_bytes, resp_bytes, orig_pkts, resp_pkts = 0.0, 0, 0, 1, 0
            elif chance < 0.004:
                state, history = "REJ", "Sr"
                duration, orig_bytes, resp_bytes, orig_pkts, resp_pkts = edge["latency"] / 4, 0, 0, 1, 1
            else:
                retransmits = 1 if chance > 0.98 else 0
                state, history = ("RSTO", "ShADadR") if chance > 0.995 else ("SF", "ShADadFf")
                duration = edge["latency"] * rng.lognormvariate(0.0, 0.4) * (1 + 2 * retransmits)
                orig_bytes = edge["request"] * (1 + retransmits)
                resp_bytes = edge["response"]
                orig_pkts, resp_pkts = 5 + retransmits, 4 + rng.randrange(2)
            community = "1:" + "".join(rng.choice(ALPHABET) for _ in range(27)) + "="
            duration_text = f"{duration:.6f}" if state != "S0" else "-"
            lines.append(
                f"{ts:.6f}\t{uid}\t{edge['orig']}\t{orig_p}\t{edge['resp']}\t{edge['port']}\t{edge['proto']}\t"
                f"{edge['service'] if state not in ('S0', 'REJ') else '-'}\t{duration_text}\t{orig_bytes}\t{resp_bytes}\t"
                f"{state}\tT\tT\t0\t{history}\t{orig_pkts}\t{orig_bytes + 40 * orig_pkts}\t{resp_pkts}\t"
                f"{resp_bytes + 40 * resp_pkts}\t(empty)\t{edge['vlan']}\t-\t{edge['orig_mac']}\t{edge['resp_mac']}\t{community}\n"
            )
            if len(lines) >= 100_000:
                log.writelines(lines)
                lines.clear()
        log.writelines(lines)
        log.write("#close\t2026-10-31-00-00-00\n")


if __name__ == "__main__":
    layout = sys.argv[3] if len(sys.argv) > 3 else "polls"
    if layout == "polls":
        main(sys.argv[1], int(sys.argv[2]))
    elif layout == "plant2":
        plant2(sys.argv[1], int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown layout {layout!r}: expected polls or plant2")
