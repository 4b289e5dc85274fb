"""The crate tiers, read from `cargo metadata --no-deps` on standard input.

A crate's tier is its top directory: crates/ (library, rank 0), engine/ (rank 1), anything else
(app and harness). Library and engine crates are published and depend on no crate of a higher
rank; the others say publish = false. Prints the `-p NAME` arguments of the published crates.
"""
import json
import os
import sys

RANK = {"crates": 0, "engine": 1}

meta = json.load(sys.stdin)
root = os.getcwd()
tier = {p["name"]: os.path.relpath(p["manifest_path"], root).split("/")[0] for p in meta["packages"]}
bad = []
for p in meta["packages"]:
    name, t = p["name"], tier[p["name"]]
    if t not in RANK:
        if p["publish"] != []:
            bad.append(f"{name} ({t}/) must say publish = false")
        continue
    if p["publish"] == []:
        bad.append(f"{name} ({t}/) is a {t} crate but says publish = false")
    for d in p["dependencies"]:
        if d["kind"] == "dev" or d["name"] not in tier:
            continue
        if RANK.get(tier[d["name"]], 9) > RANK[t]:
            bad.append(f"{name} ({t}/) depends on {d['name']} ({tier[d['name']]}/)")
if bad:
    sys.exit("crate tiers broken:\n  " + "\n  ".join(bad))
print(" ".join(f"-p {p['name']}" for p in meta["packages"] if tier[p["name"]] in RANK))
