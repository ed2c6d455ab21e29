#!/usr/bin/env python3
"""Runs the README's nginx example in front of three cluster nodes and checks it works.

The nginx configuration is read from README.md (the ```nginx block of "Several nodes"), so
what is checked is what the README shows; only the upstream servers' addresses and the
`listen` line are replaced with the local nodes' and a free port. Then, through nginx only:

1. `GET /healthz` answers 200 (round-robin over the three nodes: nginx's log shows each);
2. an agent logs in and opens the agent websocket (`/api/ws?token=…`; the upgrade goes
   through), and so does a second one;
3. `--messages` signed webhooks from as many contacts are posted once each; every one must be
   answered 200 to the client, a node answering 503 `moved` being retried by nginx on the next
   (its access log shows the upstream statuses, e.g. `503, 200`), and each must arrive at both
   agent websockets as `message.created`;
4. the agent's POST (an action, not idempotent) answered `moved` is *not* retried by nginx:
   the client sees the 503 (counted, not an error: the README says so);
5. the websocket stays open past nginx's default 60 s read timeout when `--idle` is given
   (the README sets a longer one; the server pings every 10 s anyway);
6. every webhook is stored exactly once;
7. with one node killed (-9), webhooks posted right after the kill (its conversations are
   refused by every node until its leases expire) and 5 s after it (all must be 200).

    python3 bench/lb_check.py [--messages 60] [--idle 0] [--binary target/release/switchboard]

Needs nginx (`apt-get install nginx`), nats-server, psql and PostgreSQL (see
bench/failover.py). Everything started is stopped at the end, also on failure.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import ADMIN, SECRET, Node, Setup, free_port, login, settled  # noqa: E402

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


def readme_nginx_block():
    text = open(README).read()
    section = text[text.index("## Several nodes"):]
    section = section[:section.index("\n## ", 1)]
    m = re.search(r"```nginx\n(.*?)```", section, re.S)
    if not m:
        sys.exit("README.md's cluster section has no ```nginx block")
    return m.group(1)


def local_config(block, ports, listen_port, work):
    """The README's block with the local nodes and port, inside a minimal nginx.conf."""
    servers = iter(ports)

    def server_line(m):
        return f"{m.group(1)}server 127.0.0.1:{next(servers)}{m.group(2)}"

    block, n = re.subn(r"^(\s*)server\s+[\w.\-]+:\d+(.*)$", server_line, block, flags=re.M)
    if n != len(ports):
        sys.exit(f"expected {len(ports)} upstream servers in the README's block, found {n}")
    block, n = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\1listen 127.0.0.1:{listen_port};", block,
                       flags=re.M)
    if n != 1:
        sys.exit("expected one `listen` line in the README's block")
    return (f"worker_processes 1;\nerror_log {work}/nginx-error.log warn;\npid {work}/nginx.pid;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n"
            f"  log_format upstreams '$request_method $uri $status "
            f"upstreams=\"$upstream_addr\" statuses=\"$upstream_status\"';\n"
            f"  access_log {work}/nginx-access.log upstreams;\n"
            f"  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;\n"
            f"  fastcgi_temp_path {work}/fastcgi; uwsgi_temp_path {work}/uwsgi;\n"
            f"  scgi_temp_path {work}/scgi;\n"
            f"{block}}}\n")


class WebSocket:
    """A minimal RFC 6455 client (text frames, answers pings): enough to check the upgrade."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = head.split(b"\r\n")[0].decode()
        if " 101 " not in self.status + " ":
            raise ConnectionError(f"upgrade refused: {self.status}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        n = len(payload)
        header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def frame(self, timeout):
        """The next text frame's text (pings answered on the way); None on timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                b0, b1 = self._read(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack(">H", self._read(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", self._read(8))[0]
                payload = self._read(n)
                opcode = b0 & 0x0F
                if opcode == 0x9:
                    self._send(0xA, payload)
                elif opcode == 0x8:
                    raise ConnectionError(f"closed by the server: {payload[2:].decode(errors='replace')}")
                elif opcode == 0x1:
                    return payload.decode()
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


def post(port, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def webhook(port, msg_id, contact, text):
    body = json.dumps({"external_id": msg_id, "contact": {"external_id": contact},
                       "text": text}).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return post(port, "/webhooks/api/support", body,
                {"Content-Type": "application/json", "X-Switchboard-Signature": sig})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=60)
    ap.add_argument("--idle", type=int, default=0,
                    help="seconds the websocket is left idle before the webhooks (e.g. 75)")
    ap.add_argument("--binary", default="target/release/switchboard")
    args = ap.parse_args()
    setup, nodes, nginx, sockets = Setup(), [], None, []
    failures = []
    try:
        for i in range(3):
            nodes.append(Node(args.binary, setup.config, f"n{i + 1}", setup.nats_url, setup.work))
        ports = [int(x.base.rsplit(":", 1)[1]) for x in nodes]
        settled(nodes[0].base, login(nodes[0].base), 3)
        lb = free_port()
        conf = os.path.join(setup.work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(local_config(readme_nginx_block(), ports, lb, setup.work))
        nginx = subprocess.Popen(["nginx", "-p", setup.work, "-c", conf, "-g", "daemon off;"],
                                 stderr=subprocess.PIPE)
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", lb), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"nginx did not start: {nginx.stderr.read().decode()}")
        base = f"http://127.0.0.1:{lb}"
        print(f"nginx on {base} in front of nodes on ports {ports} (config from README.md)")

        # 1. Health, round-robin.
        statuses = []
        for _ in range(6):
            conn = http.client.HTTPConnection("127.0.0.1", lb, timeout=5)
            conn.request("GET", "/healthz")
            statuses.append(conn.getresponse().status)
            conn.close()
        time.sleep(0.2)
        with open(os.path.join(setup.work, "nginx-access.log")) as f:
            upstreams = {re.search(r'upstreams="([^"]*)"', line).group(1)
                         for line in f if "/healthz" in line}
        print(f"1. GET /healthz ×6 through nginx: {statuses}; answered by {sorted(upstreams)}")
        if set(statuses) != {200}:
            failures.append("healthz")

        # 2. Two agents' websockets through nginx.
        token = login(base)
        for _ in range(2):
            ws = WebSocket(lb, f"/api/ws?token={token}")
            sockets.append(ws)
            hello = ws.frame(5)
            print(f"2. agent websocket through nginx: {ws.status}; first frame "
                  f"{json.loads(hello)['type'] if hello else None!r}")
            if not hello:
                failures.append("websocket hello")

        if args.idle:
            print(f"   leaving both websockets idle {args.idle} s (nginx's default "
                  "proxy_read_timeout is 60 s)", flush=True)
            end = time.time() + args.idle
            while time.time() < end:
                for ws in sockets:
                    ws.frame(0.5)  # answers the server's pings, as a browser does

        # 3. Webhooks, each posted once by the client.
        answers, run = {}, f"lb{int(time.time())}"
        ids = [f"{run}-{i}" for i in range(args.messages)]
        for i, msg_id in enumerate(ids):
            status, _ = webhook(lb, msg_id, f"lb-contact-{i}", f"through nginx {msg_id}")
            answers[status] = answers.get(status, 0) + 1
        print(f"3. {args.messages} webhooks posted once each through nginx: answers {answers}")
        if set(answers) != {200}:
            failures.append("webhooks not all 200")
        seen = [set(), set()]
        deadline = time.time() + 10
        while time.time() < deadline and any(len(s) < len(ids) for s in seen):
            for k, ws in enumerate(sockets):
                text = ws.frame(0.2)
                if text and '"message.created"' in text:
                    t = json.loads(text)["message"].get("text") or ""
                    if t.startswith("through nginx "):
                        seen[k].add(t.removeprefix("through nginx "))
        print(f"   message.created at the two agent websockets: {len(seen[0])} and "
              f"{len(seen[1])} of {len(ids)}")
        if any(len(s) < len(ids) for s in seen):
            failures.append("frames missing")
        with open(os.path.join(setup.work, "nginx-access.log")) as f:
            log = [line for line in f if "/webhooks/" in line]
        retried = [line for line in log if "503, " in line]
        print(f"   nginx's log: {len(retried)} of {len(log)} webhooks answered 503 by a node and "
              "sent on by nginx to the next; e.g.:")
        for line in retried[:2]:
            print("     " + line.strip())

        # 4. An agent action refused `moved` is not retried by nginx (POST, not idempotent).
        conn = http.client.HTTPConnection("127.0.0.1", lb, timeout=5)
        conn.request("GET", "/api/conversations?limit=200",
                     headers={"Authorization": f"Bearer {token}"})
        listing = json.loads(conn.getresponse().read())
        conn.close()
        action = {}
        for item in listing["items"][:30]:
            status, body = post(lb, f"/api/conversations/{item['id']}/read", b"",
                                {"Authorization": f"Bearer {token}"})
            key = f"{status} {json.loads(body).get('error')}" if status >= 400 and body else str(status)
            action[key] = action.get(key, 0) + 1
        print(f"4. POST /api/conversations/{{id}}/read ×{sum(action.values())} through nginx "
              f"(not retried by it): {action}")

        # 5. The websockets are still open (idle time included).
        for k, ws in enumerate(sockets):
            try:
                ws.frame(0.5)
                print(f"5. agent websocket {k + 1} still open")
            except ConnectionError as e:
                print(f"5. agent websocket {k + 1}: {e}")
                failures.append("websocket closed")

        # 6. Stored exactly once.
        out = subprocess.run(["psql", setup.db_url, "-Atc",
                              f"SELECT count(*), count(DISTINCT external_id) FROM messages "
                              f"WHERE external_id LIKE '{run}-%'"],
                             check=True, capture_output=True, text=True).stdout.strip()
        total, distinct = map(int, out.split("|"))
        print(f"6. stored: {total} messages for {distinct} distinct webhooks "
              f"(posted {len(ids)})")
        if not (total == distinct == len(ids)):
            failures.append("not stored exactly once")

        # 7. A node killed: webhooks go on to the others; its conversations are refused by all
        # until its leases expire (the provider's retry covers that), then answered.
        nodes[2].kill9()
        killed = time.time()
        for label, wait in (("right after", 0), ("5 s after", 5)):
            time.sleep(max(0.0, killed + wait - time.time()))
            answers = {}
            for i in range(30):
                status, _ = webhook(lb, f"{run}-k{wait}-{i}", f"lb-contact-{i}", "after the kill")
                answers[status] = answers.get(status, 0) + 1
            print(f"7. n3 killed (-9); 30 webhooks (contacts of step 3) posted {label} the kill: "
                  f"answers {answers}")
            if wait and set(answers) != {200}:
                failures.append("webhooks refused after the leases expired")
    finally:
        for ws in sockets:
            ws.close()
        if nginx:
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        for x in nodes:
            x.stop()
        setup.close()
    print("OK: the README's nginx example works" if not failures else f"FAILED: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
