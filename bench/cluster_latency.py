#!/usr/bin/env python3
"""POST → `message.created` frame across the nodes of a cluster, against one node without it.

The time from when a signed inbound webhook POST is due to when the matching
`message.created` frame reaches each of `--agents` agent websockets, measured by `loadgen
ws-latency` (open loop at `--rate`/s for `--seconds`, HDR histogram over every frame at every
agent; see BENCHMARKS.md), in four runs in one invocation, each warm (every contact has written
once before, so each run's messages go to existing conversations):

  a. single: one node without `[cluster]` on PostgreSQL; posts and agents on it (baseline);
  b. same node: a 3-node cluster; posts to n1 from contacts whose conversations n1 holds, the
     agents on n1 (the frame still makes the round trip through JetStream: a node delivers the
     events, its own included, as they come back from the stream);
  c. other node: the same posts to n1, the agents on n2 and n3;
  d. round-robin: posts to n1, n2, n3 in turn from every contact (a post answered 503 `moved`
     is sent again at once to the next node, as a load balancer or provider would; its latency
     counts from when the first attempt was due), agents spread over the three nodes.

Runs b, c and d share one cluster (started once; its shard table is checked unchanged before
each). CPU per message is the nodes' and nats-server's CPU time over the sending, divided by
the messages sent, and given as a ratio to run a. Each run prints loadgen's own lines too.

    python3 bench/cluster_latency.py [--rate 200] [--agents 10] [--seconds 25] [--contacts 300]
        [--binary target/release/switchboard] [--loadgen target/release/loadgen]

Needs nats-server, psql and PostgreSQL at $SWITCHBOARD_TEST_PG_URL (see bench/failover.py);
every process it starts is stopped, and its schemas removed, also on failure.
"""

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import (  # noqa: E402
    ADMIN, SECRET, Node, Setup, cluster_view, login, post_message, settled, shard_of)


def warm(bases, contacts, run):
    """One message from each contact, each first to bases[i % n] and, when refused (`moved`,
    unreachable), again to the next; returns the posts refused on the way."""
    def one(i):
        refused = 0
        k = i
        while not post_message(bases[k % len(bases)], f"{run}-{i}", contacts[i]):
            refused += 1
            k += 1
            if refused > 30:
                raise RuntimeError(f"warm-up: {contacts[i]} refused 30 times")
        return refused

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(one, range(len(contacts))))


def conversation_of(db_url, contacts):
    """contact external id → its conversation id, from the database."""
    out = subprocess.run(
        ["psql", db_url, "-Atc",
         "SELECT c.external_id, v.id FROM contacts c JOIN conversations v ON v.contact_id = c.id"],
        check=True, capture_output=True, text=True).stdout
    found = dict(line.split("|") for line in out.split())
    return {c: found[c] for c in contacts if c in found}


def holders(view):
    return {s: n["node"] for n in view["nodes"] for s in n["shards"]}


def ws_latency(args, label, login_base, post_bases, ws_bases, contacts_file, cpu_pids, work):
    """One loadgen ws-latency run; returns its RESULT fields."""
    env = dict(os.environ, LOADGEN_PASSWORD=ADMIN[1], LOADGEN_SECRET=SECRET)
    cmd = [args.loadgen, "ws-latency", "--base", login_base, "--email", ADMIN[0],
           "--rate", str(args.rate), "--agents", str(args.agents), "--duration", str(args.seconds),
           "--contacts-file", contacts_file,
           "--post-base", ",".join(post_bases), "--ws-base", ",".join(ws_bases),
           "--cpu-pids", ",".join(str(p) for p in cpu_pids)]
    print(f"\n== {label}\n$ {' '.join(cmd)}", flush=True)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.seconds + 180)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.exit(f"loadgen failed: {out.stderr}")
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result = dict(kv.split("=", 1) for kv in line.split()[1:])
    result["label"] = label
    return result


def write_contacts(work, name, contacts):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("\n".join(contacts) + "\n")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=25)
    ap.add_argument("--contacts", type=int, default=300,
                    help="contacts per run (in b and c: held by n1)")
    ap.add_argument("--binary", default="target/release/switchboard")
    ap.add_argument("--loadgen", default="target/release/loadgen")
    args = ap.parse_args()
    results = []

    # a. One node without [cluster].
    setup, node = Setup(), None
    try:
        node = Node(args.binary, setup.config, "single", setup.nats_url, setup.work, cluster=False)
        login(node.base)
        contacts = [f"lat-{i}" for i in range(args.contacts)]
        warm([node.base], contacts, "warm")
        path = write_contacts(setup.work, "contacts.txt", contacts)
        results.append(ws_latency(args, "a. single node, no [cluster]", node.base, [node.base],
                                  [node.base], path, [node.proc.pid], setup.work))
    finally:
        if node:
            node.stop()
        setup.close()

    # b, c, d. Three cluster nodes.
    setup, nodes = Setup(), []
    try:
        for i in range(3):
            nodes.append(Node(args.binary, setup.config, f"n{i + 1}", setup.nats_url, setup.work))
        bases = [x.base for x in nodes]
        token = login(bases[0])
        view = settled(bases[0], token, 3)
        # Enough contacts that about `--contacts` of them are held by n1.
        contacts = [f"lat-{i}" for i in range(args.contacts * 3 + args.contacts // 2)]
        refused = warm(bases, contacts, "warm")
        conv = conversation_of(setup.db_url, contacts)
        owner = holders(view)
        mine = [c for c in contacts if owner.get(shard_of(conv[c])) == "n1"][:args.contacts]
        print(f"cluster warm-up: {len(contacts)} contacts ({refused} posts answered `moved` on "
              f"the way); {len(mine)} of them held by n1", flush=True)
        mine_file = write_contacts(setup.work, "n1.txt", mine)
        all_file = write_contacts(setup.work, "all.txt", contacts)
        pids = [x.proc.pid for x in nodes] + [setup.nats.pid]
        runs = [
            ("b. cluster, agents on the node posted to", [bases[0]], [bases[0]], mine_file),
            ("c. cluster, agents on the other nodes", [bases[0]], bases[1:], mine_file),
            ("d. cluster, posts and agents round-robin", bases, bases, all_file),
        ]
        for label, post, ws, path in runs:
            now = cluster_view(bases[0], token)
            if holders(now) != owner:
                print("note: the shard table changed since the warm-up", flush=True)
                owner = holders(now)
            results.append(ws_latency(args, label, bases[0], post, ws, path, pids, setup.work))
    finally:
        for x in nodes:
            x.stop()
        setup.close()

    base_cpu = float(results[0]["cpu_us_per_msg_pids"])
    base_p50 = float(results[0]["frame_p50_ms"])
    base_p99 = float(results[0]["frame_p99_ms"])
    print(f"\n{args.rate}/s for {args.seconds} s, {args.agents} agents; POST due → "
          "`message.created` at every agent\n")
    print("| run | frames | p50 | p99 | p99.9 | max | p50 / p99 ratio to a | CPU per message "
          "| ratio to a | attempts answered `moved` |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        cpu = float(r["cpu_us_per_msg_pids"])
        print(f"| {r['label']} | {int(r['frames']):,} of {int(r['expected']):,} "
              f"| {float(r['frame_p50_ms']):.1f} ms | {float(r['frame_p99_ms']):.1f} ms "
              f"| {float(r['frame_p999_ms']):.1f} ms | {float(r['frame_max_ms']):.1f} ms "
              f"| {float(r['frame_p50_ms']) / base_p50:.2f} / {float(r['frame_p99_ms']) / base_p99:.2f} "
              f"| {cpu:,.0f} µs | {cpu / base_cpu:.2f} | {int(r['moved']):,} |")


if __name__ == "__main__":
    main()
