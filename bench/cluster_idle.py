#!/usr/bin/env python3
"""Idle agent websockets across the nodes of a cluster, and what each one costs a node.

Two phases in one run, each on a fresh PostgreSQL schema (bench/failover.py's Setup: a private
`nats-server -js` too) and with the same node settings:

1. baseline: ONE node without `[cluster]` (single-node mode, PostgreSQL) holding one node's
   share of the cluster's connections (16,667 of 100,000 over 6);
2. cluster: `--nodes` cluster nodes on one PostgreSQL and
   one NATS, each held its share of `--total` idle agent websockets by a `loadgen idle-ws`
   process of its own (pointed at that node, from two loopback source addresses of its own,
   so no generator runs short of ephemeral ports).

The limits a node puts on this, all left at their defaults: actix-web accepts at most 25,600
connections per HTTP worker (`max_connections`, not set by Switchboard; the nodes run
`workers = 1`), and a process may open 20,000 files in this sandbox (hard limit), so one
node, and one generator, holds under 20,000 sockets: hence six nodes for 100,000. Every
websocket checks its token against the database every `realtime.token_recheck_secs` (60 s)
and is pinged every `realtime.heartbeat_secs` (10 s); both are left at their defaults, as are
the other settings of bench/failover.py's nodes (`workers = 1`, `db_pool_size = 3`).

In each phase every generator opens its connections (`--parallel` handshakes at once), prints
READY, and holds them until this script closes its standard input: the script waits until all
of them are READY, then holds everything `--hold` seconds. Reported per node:

- connections open (the generator's count, and the node's own `websocket_connections` gauge
  from /metrics) and connections that failed to open, with the cause;
- connections the server closed while held;
- resident memory (VmRSS) before the generators start, with everything open, and after the
  hold; memory per connection = (RSS open − RSS before) / connections open on the node;
- open files (/proc/PID/fd) against the process's limit;
- CPU while idle: the node's CPU time over the hold, as % of one core (pings every
  `realtime.heartbeat_secs`, token rechecks every `realtime.token_recheck_secs`, lease renewals),
  and nats-server's and PostgreSQL's (its processes alive over the whole hold, whoever uses
  them), and the same with no connection open, over `--quiet` seconds before each phase.

The cluster's shard table (`GET /api/cluster`) is read every 2 s from the cluster's start to
`--after` seconds after the generators exit, and the nodes log at `warn`: the script reports
the readings with fewer than 256 shards held or a node holding none, and the lease warnings
in each node's log (a lease not renewed in time under the load, say).

The kernel's share (slab caches: socket, inode, file, epoll entry) is the growth of
/proc/slabinfo while open; both ends of a loopback connection are in this kernel, so half of
it is the server's (as BENCHMARKS.md counts it).

    python3 bench/cluster_idle.py [--nodes 6] [--total 100000] [--hold 60]
        [--binary target/release/switchboard] [--loadgen target/release/loadgen]

Every process started is stopped at the end (also on failure or Ctrl-C); the schemas and the
nats-server's directory are removed.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import ADMIN, SECRET, Node, Setup, cluster_view, cpu_seconds, login, settled  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_files(pid):
    """(open file descriptors, the soft limit) of a process."""
    n = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return n, int(line.split()[3])
    return n, None


def slab_bytes():
    """Bytes in the kernel's slab caches (root only; None otherwise)."""
    try:
        with open("/proc/slabinfo") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return None
    total = 0
    for line in lines:
        f = line.split()
        total += int(f[2]) * int(f[3])
    return total


def postgres_pids():
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() in ("postgres", "postmaster"):
                        pids.append(int(p))
            except OSError:
                pass
    return pids


class PgCpu:
    """CPU time of PostgreSQL's processes over a window: the sum over the processes alive at
    both ends (its backends come and go with every client, the other users' too)."""

    def __init__(self):
        self.start = {p: cpu_sum([p]) for p in postgres_pids()}

    def seconds(self):
        total = 0.0
        for p, c0 in self.start.items():
            try:
                total += cpu_seconds(p) - c0
            except OSError:
                pass
        return total


def cpu_sum(pids):
    total = 0.0
    for p in pids:
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


def agent_sockets(base):
    """The node's own count of open agent websockets (its /metrics gauge)."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            name = line.split("{", 1)[0]
            if name.endswith("websocket_connections") and 'kind="agent"' in line:
                return int(float(line.split()[-1]))
    return None


class Generator:
    """One `loadgen idle-ws` process holding `count` websockets to `node` until released."""

    def __init__(self, loadgen, node, count, sources, parallel, log_dir):
        env = dict(os.environ, LOADGEN_PASSWORD=ADMIN[1], LOADGEN_SECRET=SECRET)
        self.node = node
        self.lines = []
        self.ready = threading.Event()
        self.log = open(os.path.join(log_dir, f"loadgen-{node.name}.log"), "w")
        self.proc = subprocess.Popen(
            [loadgen, "idle-ws", "--base", node.base, "--email", ADMIN[0], "--count", str(count),
             "--sources", sources, "--parallel", str(parallel), "--until-eof",
             "--pid", str(node.proc.pid)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self.log.write(line)
            self.log.flush()
            if line.startswith("READY"):
                self.ready.set()
        self.ready.set()  # exited: waiting longer is pointless

    def field(self, prefix, key):
        for line in reversed(self.lines):
            if line.startswith(prefix):
                for kv in line.split()[1:]:
                    k, _, v = kv.partition("=")
                    if k == key:
                        return int(v)
        return None

    def failures(self):
        return [x for x in self.lines if "failed to open" in x]

    def release(self):
        """Closes its standard input (it reports and exits); waits for its report."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        time.sleep(0.2)  # the reader thread takes the last lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class ShardWatch:
    """Reads GET /api/cluster every 2 s: the shards each node holds, over the run."""

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.samples = []  # (seconds since start, {node: shard count})
        self.stop = threading.Event()
        self.t0 = time.time()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(2):
            try:
                view = cluster_view(self.base, self.token) or {}
            except OSError:
                continue
            counts = {n["node"]: n["shard_count"] for n in view.get("nodes", [])}
            self.samples.append((time.time() - self.t0, counts))

    def summary(self):
        self.stop.set()
        self.thread.join()
        short = [(t, c) for t, c in self.samples if sum(c.values()) < 256 or 0 in c.values()]
        lines = [f"{len(self.samples)} readings of GET /api/cluster every 2 s; "
                 f"{len(short)} with fewer than 256 shards held or a node holding none"]
        for t, c in short[:12]:
            lines.append(f"  at {t:.0f} s: {sum(c.values())} held: {json.dumps(c)}")
        if self.samples:
            lines.append(f"  last, at {self.samples[-1][0]:.0f} s: {json.dumps(self.samples[-1][1])}")
        return "\n".join(lines)


def lease_warnings(nodes):
    """Lease and membership warnings in each node's log (the nodes log at `warn`)."""
    out = {}
    for x in nodes:
        counts = {}
        try:
            with open(x.log_path, errors="replace") as f:
                for line in f:
                    for what in ("lease not renewed in time", "lease renewal timed out",
                                 "lease lost", "lease renewal refused", "membership not renewed",
                                 "membership renewal timed out", "could not take the shard"):
                        if what in line:
                            counts[what] = counts.get(what, 0) + 1
        except OSError:
            pass
        out[x.name] = counts
    return out


def idle_cpu(nodes, extra_pids, seconds):
    """% of one core of the nodes (together) and of each extra process over `seconds`, with
    no connection open: what the cluster costs with nothing to do."""
    pg = PgCpu()
    c0 = sum(cpu_seconds(x.proc.pid) for x in nodes)
    e0 = {k: cpu_sum(v) for k, v in extra_pids.items()}
    t0 = time.time()
    time.sleep(seconds)
    wall = time.time() - t0
    c1 = sum(cpu_seconds(x.proc.pid) for x in nodes)
    extra = ", ".join(f"{k} {100 * (cpu_sum(v) - e0[k]) / wall:.1f}%" for k, v in extra_pids.items())
    return (f"CPU with no connection open, over {wall:.0f} s (% of one core): nodes "
            f"{100 * (c1 - c0) / wall:.1f}% together{', ' + extra if extra else ''}, "
            f"PostgreSQL {100 * pg.seconds() / wall:.1f}%")


def hold(args, label, nodes, extra_pids, work):
    """Opens `per node` connections to every node in `nodes` at once, holds them; returns the
    per-node rows and the totals."""
    # --total over --nodes, the remainder to the first ones (100,000 over 6: 16,667 × 4 and
    # 16,666 × 2); the baseline's single node takes the first share.
    share = [args.total // args.nodes + (1 if i < args.total % args.nodes else 0)
             for i in range(args.nodes)]
    before = {x.name: rss_kib(x.proc.pid) for x in nodes}
    slab0 = slab_bytes()
    gens = []
    try:
        started = time.time()
        for i, node in enumerate(nodes):
            # Sources of its own for each generator: 127.0.<k>.1 and 127.0.<k>.2.
            k = 10 + i + (50 if label == "baseline" else 0)
            sources = f"127.0.{k}.1,127.0.{k}.2"
            gens.append(Generator(args.loadgen, node, share[i], sources, args.parallel, work))
        for g in gens:
            if not g.ready.wait(900):
                sys.exit(f"{g.node.name}'s generator never got its connections open")
        opened_in = time.time() - started
        time.sleep(2)  # the last handshakes' sessions settle
        loaded = {x.name: rss_kib(x.proc.pid) for x in nodes}
        gauge_loaded = {x.name: agent_sockets(x.base) for x in nodes}
        files = {x.name: open_files(x.proc.pid) for x in nodes}
        slab1 = slab_bytes()
        pg = PgCpu()
        cpu0 = {x.name: cpu_seconds(x.proc.pid) for x in nodes}
        cpu0_extra = {k: cpu_sum(v) for k, v in extra_pids.items()}
        t0 = time.time()
        time.sleep(args.hold)
        wall = time.time() - t0
        cpu = {x.name: cpu_seconds(x.proc.pid) - cpu0[x.name] for x in nodes}
        cpu_extra = {k: cpu_sum(v) - cpu0_extra[k] for k, v in extra_pids.items()}
        cpu_pg = pg.seconds()
        after = {x.name: rss_kib(x.proc.pid) for x in nodes}
        gauge_after = {x.name: agent_sockets(x.base) for x in nodes}
        for g in gens:
            g.release()
    finally:
        for g in gens:
            g.kill()

    rows = []
    for g, x in zip(gens, nodes):
        opened = g.field("HELD", "open") or g.field("READY", "open") or 0
        rows.append({
            "node": x.name,
            "asked": share[nodes.index(x)],
            "open": opened,
            "failed": g.field("HELD", "failed"),
            "closed_while_held": g.field("HELD", "closed_while_held"),
            "gauge_loaded": gauge_loaded[x.name],
            "gauge_after": gauge_after[x.name],
            "rss_before": before[x.name],
            "rss_loaded": loaded[x.name],
            "rss_after": after[x.name],
            "per_conn_kib": (loaded[x.name] - before[x.name]) / max(1, opened),
            "fds": files[x.name],
            "cpu_pct": 100 * cpu[x.name] / wall,
            "failures": g.failures(),
        })
    kernel = None
    if slab0 is not None and slab1 is not None:
        total_open = sum(r["open"] for r in rows)
        kernel = (slab1 - slab0) / 2 / max(1, total_open) / 1024
    return {
        "label": label,
        "rows": rows,
        "opened_in": opened_in,
        "wall": wall,
        "cpu_extra_pct": {k: 100 * v / wall for k, v in cpu_extra.items()},
        "cpu_pg_pct": 100 * cpu_pg / wall,
        "kernel_kib": kernel,
    }


def print_phase(result, baseline_kib=None):
    rows = result["rows"]
    print(f"\n### {result['label']}: {len(rows)} node(s); all open after "
          f"{result['opened_in']:.0f} s, held {result['wall']:.0f} s\n")
    print("| node | asked | open (generator) | open (node's gauge, after hold) | failed to open "
          "| closed by server while held | RSS before → open → after hold | per connection "
          "| open files / limit | CPU while idle |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['node']} | {r['asked']:,} | {r['open']:,} | {r['gauge_after']} | {r['failed']} "
              f"| {r['closed_while_held']} | {r['rss_before'] // 1024} → {r['rss_loaded'] // 1024} → "
              f"{r['rss_after'] // 1024} MiB | {r['per_conn_kib']:.1f} KiB | "
              f"{r['fds'][0]:,} / {r['fds'][1]:,} | {r['cpu_pct']:.1f}% |")
    total_open = sum(r["open"] for r in rows)
    grown = sum(r["rss_loaded"] - r["rss_before"] for r in rows)
    per = grown / max(1, total_open)
    ratio = f"; ratio to the single node {per / baseline_kib:.2f}" if baseline_kib else ""
    print(f"\ntotal: {total_open:,} open of {sum(r['asked'] for r in rows):,} asked; "
          f"failed {sum(r['failed'] or 0 for r in rows)}; closed by the servers while held "
          f"{sum(r['closed_while_held'] or 0 for r in rows)}; nodes' RSS grew "
          f"{grown / 1024:.0f} MiB = {per:.1f} KiB per connection (user space){ratio}")
    if result["kernel_kib"] is not None:
        print(f"kernel slab growth, the server's half: {result['kernel_kib']:.1f} KiB per connection")
    cpu_nodes = sum(r["cpu_pct"] for r in rows)
    extra = ", ".join(f"{k} {v:.1f}%" for k, v in result["cpu_extra_pct"].items())
    print(f"CPU while idle (% of one core): nodes {cpu_nodes:.1f}% together"
          f"{', ' + extra if extra else ''}, PostgreSQL {result['cpu_pg_pct']:.1f}%")
    for r in rows:
        for f in r["failures"]:
            print(f"{r['node']}: {f}")
    return per


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--total", type=int, default=100_000)
    ap.add_argument("--hold", type=int, default=60)
    ap.add_argument("--parallel", type=int, default=100, help="handshakes at once, per generator")
    ap.add_argument("--binary", default="target/release/switchboard")
    ap.add_argument("--loadgen", default="target/release/loadgen")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--quiet", type=int, default=20,
                    help="seconds of CPU measured with no connection open, before each phase")
    ap.add_argument("--after", type=int, default=10,
                    help="seconds the shard table is still read after the generators exit")
    args = ap.parse_args()
    per_node = -(-args.total // args.nodes)
    print(f"{args.total:,} idle agent websockets over {args.nodes} nodes: up to {per_node:,} per "
          f"node; baseline: {per_node:,} on one node without [cluster]", flush=True)

    baseline_kib = None
    if not args.no_baseline:
        setup, node = Setup(), None
        try:
            node = Node(args.binary, setup.config, "single", setup.nats_url, setup.work,
                        cluster=False, log="warn")
            login(node.base)
            print(idle_cpu([node], {}, args.quiet), flush=True)
            result = hold(args, "baseline", [node], {}, setup.work)
            baseline_kib = print_phase(result)
        finally:
            if node:
                node.stop()
            setup.close()

    setup, nodes = Setup(), []
    try:
        for i in range(args.nodes):
            nodes.append(Node(args.binary, setup.config, f"n{i + 1}", setup.nats_url, setup.work,
                              log="warn"))
        token = login(nodes[0].base)
        settled(nodes[0].base, token, args.nodes)
        nats = {"nats-server": [setup.nats.pid]}
        print(f"\ncluster of {args.nodes} settled; " + idle_cpu(nodes, nats, args.quiet), flush=True)
        watch = ShardWatch(nodes[0].base, token)
        result = hold(args, f"cluster of {args.nodes}", nodes, nats, setup.work)
        print_phase(result, baseline_kib)
        time.sleep(args.after)  # the shard table after the generators are gone
        print(watch.summary())
        print(f"lease warnings in the nodes' logs: {json.dumps(lease_warnings(nodes))}")
        dead = [x.name for x in nodes if x.proc.poll() is not None]
        if dead:
            print(f"nodes that exited during the run: {dead} (see {setup.work})")
    finally:
        for x in nodes:
            x.stop()
        setup.close()


if __name__ == "__main__":
    main()
