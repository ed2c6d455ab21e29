#!/usr/bin/env python3
"""Cluster failover time, as a distribution over repeated kills; and ingest on 1, 2, 3 nodes.

Starts a private `nats-server -js`, a fresh PostgreSQL schema and three Switchboard nodes
(cluster development mode), keeps signed webhooks flowing round-robin (a failed post is sent
again to the next node with the same provider id, as a provider or a load balancer would),
kills -9 the node holding the most conversations, and measures, for each of its
conversations, the time from the kill to the first acknowledged message; the kill's failover
time is the longest of them. The node is started again (it takes its share back) and the next
kill follows. At the end, every acknowledged message is checked to be stored exactly once.

    python3 bench/failover.py [--kills 10] [--binary target/release/switchboard]
    python3 bench/failover.py --ingest single,1,2,3 [--seconds 20]

Ingest: the same senders for `--seconds` against N nodes (round-robin, `moved` answers sent
again to the next node); prints acknowledged messages per second and CPU per message of the
node processes and of nats-server together (from /proc), the point being the cost per
message of more nodes on the same two cores, not a speed-up. `single` is the baseline: one
node without `[cluster]` on the same PostgreSQL with the same settings (no nats-server
counted, none used); the table at the end gives each run's CPU per message as a ratio to the
first run (list `single` first).

Needs nats-server, psql and PostgreSQL at $SWITCHBOARD_TEST_PG_URL (default CI's).
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

SECRET = "bench-inbox-secret-0123"
ADMIN = ("admin@bench.local", "admin-password-1")
PG = os.environ.get("SWITCHBOARD_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, body=None, headers=None, timeout=5):
    host, port = base.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else None)
    finally:
        conn.close()


def post_message(base, msg_id, contact):
    body = json.dumps({"external_id": msg_id, "contact": {"external_id": contact},
                       "text": "failover bench"}).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    try:
        status, _ = request(base, "POST", "/webhooks/api/support", body,
                            {"Content-Type": "application/json", "X-Switchboard-Signature": sig})
        return 200 <= status < 300
    except OSError:
        return False


class Node:
    """One Switchboard process; a cluster node unless `cluster` is false (then the single-node
    mode, on the same config file and database, with no [cluster] and no NATS)."""

    def __init__(self, binary, config, name, nats_url, workdir, cluster=True, bind="127.0.0.1:0",
                 log="error"):
        env = dict(os.environ, SWITCHBOARD_CONFIG=config, SWITCHBOARD_BIND=bind, RUST_LOG=log)
        for var in ("DATABASE_URL", "SWITCHBOARD_NATS_URL", "SWITCHBOARD_NODE_ID"):
            env.pop(var, None)
        if cluster:
            env.update(SWITCHBOARD_NATS_URL=nats_url, SWITCHBOARD_NODE_ID=name)
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(os.path.join(workdir, f"{name}.log"), "ab")
        self.proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=self.log)
        for line in self.proc.stdout:
            m = re.match(rb"Switchboard listening on (\S+)", line)
            if m:
                # The line may carry the scheme already (`http://127.0.0.1:PORT`).
                self.base = "http://" + m.group(1).decode().removeprefix("http://")
                break
        else:
            sys.exit(f"{name} did not start (see {workdir}/{name}.log)")
        # The node logs to stdout: into its log file with its stderr.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


def cluster_view(base, token):
    status, body = request(base, "GET", "/api/cluster", headers={"Authorization": f"Bearer {token}"})
    return body if status == 200 else None


def settled(base, token, n, limit=60):
    start, last = time.time(), None
    while time.time() - start < limit:
        try:
            view = cluster_view(base, token)
        except OSError:  # a node still starting (or a loaded machine) may answer late
            view = None
        nodes = (view or {}).get("nodes", [])
        counts = [x["shard_count"] for x in nodes]
        ok = len(nodes) == n and sum(counts) == 256 and min(counts) >= 256 // n // 2
        if ok and last == nodes:
            return view
        last = nodes if ok else None
        time.sleep(1.1)
    sys.exit("the cluster never settled")


def shard_of(conversation_id):
    return int(conversation_id.replace("-", "")[-2:], 16)


def cpu_seconds(pid):
    """User + system CPU time of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Setup:
    """A private nats-server, a fresh schema and a config file; cleaned up by close()."""

    def __init__(self, extra=""):
        """`extra`: more TOML, appended to the config file all the nodes share."""
        self.work = tempfile.mkdtemp(prefix="sb-cluster-bench-")
        port = free_port()
        self.nats = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js",
                                      "-sd", os.path.join(self.work, "nats")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.nats_url = f"nats://127.0.0.1:{port}"
        self.schema = "bench_" + uuid.uuid4().hex[:12]
        try:
            subprocess.run(["psql", PG, "-qc", f"CREATE SCHEMA {self.schema}"], check=True)
        except BaseException:
            self.nats.kill()
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        sep = "&" if "?" in PG else "?"
        self.db_url = f"{PG}{sep}options=-csearch_path%3D{self.schema}"
        self.config = os.path.join(self.work, "switchboard.toml")
        with open(self.config, "w") as f:
            f.write(f'[server]\ndata_dir = "{self.work}/data"\ndatabase_url = "{self.db_url}"\n'
                    f'workers = 1\ndb_pool_size = 3\nwebhook_rate_per_second = 0\n\n'
                    f'[conversations]\ntimer_scan_secs = 1\n\n'
                    f'[admin]\nemail = "{ADMIN[0]}"\npassword = "{ADMIN[1]}"\n\n'
                    f'[[inbox]]\nid = "support"\nchannel = "api"\nsecret = "{SECRET}"\n'
                    f'{extra}')
        time.sleep(0.5)

    def close(self):
        self.nats.kill()
        self.nats.wait()
        subprocess.run(["psql", PG, "-qc", f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"],
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.work, ignore_errors=True)


def login(base):
    _, body = request(base, "POST", "/api/auth/login",
                      json.dumps({"email": ADMIN[0], "password": ADMIN[1]}).encode(),
                      {"Content-Type": "application/json"})
    return body["token"]


def ingest(args, label):
    """One ingest run: `label` is a node count, or `single` (one node without [cluster]).
    Returns (label, acknowledged/s, CPU µs per message, posts answered `moved`)."""
    single = label == "single"
    n = 1 if single else int(label)
    setup = Setup()
    nodes = []
    try:
        for i in range(n):
            nodes.append(Node(args.binary, setup.config, f"n{i + 1}", setup.nats_url, setup.work,
                              cluster=not single))
        token = login(nodes[0].base)
        if not single:
            settled(nodes[0].base, token, n)
        acked, moved, lock = [0], [0], threading.Lock()
        stop = threading.Event()

        def sender(s):
            k = 0
            while not stop.is_set():
                contact = f"in-{(s * 13 + k) % 200}"
                i = s + k
                while True:
                    if post_message(nodes[i % n].base, f"i{s}-{k}", contact):
                        break
                    with lock:
                        moved[0] += 1
                    i += 1
                with lock:
                    acked[0] += 1
                k += 1

        pids = [x.proc.pid for x in nodes] + ([] if single else [setup.nats.pid])
        threads = [threading.Thread(target=sender, args=(s,)) for s in range(args.senders)]
        for t in threads:
            t.start()
        time.sleep(3)  # warm up: conversations created, actors started
        with lock:
            a0 = acked[0]
        c0, t0 = sum(cpu_seconds(p) for p in pids), time.time()
        time.sleep(args.seconds)
        with lock:
            a1 = acked[0]
        c1, t1 = sum(cpu_seconds(p) for p in pids), time.time()
        stop.set()
        for t in threads:
            t.join()
        rate = (a1 - a0) / (t1 - t0)
        cpu_us = (c1 - c0) / max(1, a1 - a0) * 1e6
        what = "1 node without [cluster]" if single else f"{n} cluster node(s)"
        print(f"{what}: {rate:.0f} acknowledged messages/s with {args.senders} senders; "
              f"{cpu_us:.0f} µs CPU per message (nodes + nats-server); "
              f"{moved[0]} posts answered `moved` and sent again", flush=True)
        return label, rate, cpu_us, moved[0]
    finally:
        for x in nodes:
            x.stop()
        setup.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--binary", default="target/release/switchboard")
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--contacts", type=int, default=30)
    ap.add_argument("--ingest", default="")
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    if args.ingest:
        labels = [x.strip() for x in args.ingest.split(",")]
        for x in labels:
            if x != "single" and not x.isdigit():
                sys.exit(f"--ingest takes node counts and `single`, not {x!r}")
        rows = [ingest(args, x) for x in labels]
        base_cpu = rows[0][2]
        print(f"\n| nodes | acknowledged/s | CPU per message | ratio to {rows[0][0]} | "
              "posts answered `moved` |\n|---|---|---|---|---|")
        for label, rate, cpu_us, moved in rows:
            name = "1, no `[cluster]`" if label == "single" else label
            print(f"| {name} | {rate:,.0f} | {cpu_us:,.0f} µs | {cpu_us / base_cpu:.2f} | {moved:,} |")
        return

    setup = Setup()
    work, config, nats_url, db_url = setup.work, setup.config, setup.nats_url, setup.db_url
    nodes = {}
    try:
        for name in ("n1", "n2", "n3"):
            nodes[name] = Node(args.binary, config, name, nats_url, work)
        base0 = nodes["n1"].base
        token = login(base0)
        auth = {"Authorization": f"Bearer {token}"}
        settled(base0, token, 3)

        acked, lock = [], threading.Lock()
        sequence = [0]

        def send_until_acked(msg_id, contact, first):
            names = sorted(nodes)
            i = first
            while True:
                node = nodes[names[i % len(names)]]
                if post_message(node.base, msg_id, contact):
                    with lock:
                        acked.append((msg_id, contact, time.time()))
                    return
                i += 1
                time.sleep(0.02)

        contacts = [f"fo-{i}" for i in range(args.contacts)]
        for i, c in enumerate(contacts):
            send_until_acked(f"{c}-first", c, i)
        _, listing = request(base0, "GET", "/api/conversations?limit=200", headers=auth)
        shard_of_contact = {c["contact"]["external_id"]: shard_of(c["id"]) for c in listing["items"]}

        results = []
        for k in range(args.kills):
            view = settled(nodes["n1"].base, token, 3)
            holder = {s: n["node"] for n in view["nodes"] for s in n["shards"]}
            owned = {}
            for c, s in shard_of_contact.items():
                owned.setdefault(holder[s], []).append(c)
            victim = max(owned, key=lambda n: len(owned[n]))
            dead = set(owned[victim])
            stop = threading.Event()

            def sender(s):
                n = 0
                while not stop.is_set():
                    with lock:
                        sequence[0] += 1
                        seq = sequence[0]
                    c = contacts[(s * 7 + n) % len(contacts)]
                    send_until_acked(f"k{k}-{seq}", c, s + n)
                    n += 1

            threads = [threading.Thread(target=sender, args=(s,)) for s in range(args.senders)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            nodes[victim].kill9()
            killed = time.time()
            # Until every conversation of the dead node has answered again.
            while time.time() - killed < 30:
                with lock:
                    answered = {c for (_, c, at) in acked if at > killed}
                if dead <= answered:
                    break
                time.sleep(0.05)
            with lock:
                firsts = [min(at for (_, c, at) in acked if c == d and at > killed) - killed
                          for d in dead]
            stop.set()
            for t in threads:
                t.join()
            worst = max(firsts)
            results.append(worst)
            print(f"kill {k + 1}: {victim} held {len(dead)} of {len(contacts)} conversations; "
                  f"all answered again within {worst:.2f} s (first {min(firsts):.2f} s)", flush=True)
            nodes[victim] = Node(args.binary, config, victim, nats_url, work)

        # Every acknowledged message stored exactly once.
        ids = [m for (m, _, _) in acked]
        out = subprocess.run(["psql", db_url, "-Atc",
                              "SELECT external_id, count(*) FROM messages WHERE author = 'customer' "
                              "GROUP BY external_id"], check=True, capture_output=True, text=True)
        stored = dict(line.split("|") for line in out.stdout.split())
        twice = [m for m in ids if stored.get(m) != "1"]
        results.sort()
        print(f"\n{len(results)} kills, failover (kill -> every conversation of the dead node "
              f"answering again): min {results[0]:.2f} s, median {statistics.median(results):.2f} s, "
              f"max {results[-1]:.2f} s")
        print(f"{len(ids)} messages acknowledged; stored other than exactly once: {len(twice)}")
    finally:
        for n in nodes.values():
            n.stop()
        setup.close()


if __name__ == "__main__":
    main()
