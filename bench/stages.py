#!/usr/bin/env python3
"""Splits POST → frame by stage from a /metrics scrape: for each queue a message or its event
waits in on its way to an agent's screen, and for the group commit itself, the count, the mean
and the bucket that holds the 50th and 99th percentile (an upper bound, as Prometheus's
histogram_quantile would interpolate inside it).

    python3 bench/stages.py metrics.txt
"""
import re
import sys

SERIES = [
    ("switchboard_stage_wait_seconds", 'stage="conversation_mailbox"', "webhook → conversation actor"),
    ("switchboard_commit_queue_wait_seconds", "", "actor → writer's group begins"),
    ("switchboard_commit_seconds", "", "group commit (per group)"),
    ("switchboard_stage_wait_seconds", 'stage="hub"', "committed event → hub"),
    ("switchboard_stage_wait_seconds", 'stage="agent_session"', "hub → agent's websocket"),
]


def histogram(text, name, labels):
    buckets, total, count = [], 0.0, 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not m or (labels and labels not in (m.group(2) or "")):
            continue
        metric, lbl, value = m.group(1), m.group(2) or "", float(m.group(3))
        if metric == name + "_bucket":
            le = re.search(r'le="([^"]+)"', lbl).group(1)
            buckets.append((float("inf") if le == "+Inf" else float(le), value))
        elif metric == name + "_sum":
            total = value
        elif metric == name + "_count":
            count = value
    return sorted(buckets), total, count


def bound(buckets, count, q):
    for le, cumulative in buckets:
        if cumulative >= q * count:
            return le
    return float("inf")


def fmt(seconds):
    return "+Inf" if seconds == float("inf") else f"{seconds * 1000:.2f} ms"


text = open(sys.argv[1]).read()
for name, labels, what in SERIES:
    buckets, total, count = histogram(text, name, labels)
    if not count:
        print(f"STAGE {what}: no samples")
        continue
    print(f"STAGE {what}: n={count:.0f} mean={fmt(total / count)} "
          f"p50≤{fmt(bound(buckets, count, 0.5))} p99≤{fmt(bound(buckets, count, 0.99))}")
