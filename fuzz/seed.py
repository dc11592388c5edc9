#!/usr/bin/env python3
"""Builds the seed corpora under fuzz/corpus/ (not committed): the project's
fixtures and shipped files, and ../shared's samples and conformance cases.
Usage: python3 fuzz/seed.py [SHARED_DIR]"""
import glob
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


events = sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/events/*.json")))
events += sorted(glob.glob(os.path.join(SHARED, "samples/guardduty/*.json")))
for path in events:
    put("event_reader", read(path))
    put("render", read(path))

for path in sorted(glob.glob(os.path.join(ROOT, "patterns/*.json"))):
    put("pattern_compile", read(path))

cases = []
for path in sorted(glob.glob(os.path.join(SHARED, "conformance/*.jsonl"))):
    with open(path, encoding="utf-8") as f:
        cases += [json.loads(line) for line in f if line.strip()]
for case in cases:
    pattern = case.get("pattern")
    event = case.get("event")
    if pattern is None:
        continue
    p = pattern if case.get("pattern_raw") else json.dumps(pattern)
    put("pattern_compile", p)
    if event is not None and "\n" not in p:
        e = event if case.get("event_raw") else json.dumps(event)
        put("pattern_match", p + "\n" + e)

for path in sorted(glob.glob(os.path.join(ROOT, "patterns/*.toml"))) + sorted(
    glob.glob(os.path.join(ROOT, "tests/routes/*.toml"))
):
    put("routes_loader", read(path))

for target in ["event_reader", "pattern_compile", "pattern_match", "routes_loader", "render"]:
    n = len(os.listdir(os.path.join(HERE, "corpus", target)))
    print(f"{target}: {n} seeds")
