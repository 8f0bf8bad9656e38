"""Independent checks for scripts/chaos/disk-full.ts (pyarrow only, no code of the pipeline).

  expect INPUT.jsonl...         -> {"records": N, "by_type": {event_type: distinct event_ids}} of the input
  check DATA_DIR EXPECTED.json  -> every committed file read whole by pyarrow, rows as the commit log says;
                                   no .parquet the logs do not list, no temp leftovers; Silver's distinct
                                   event_ids per type equal the input's and nothing doubled; Bronze has every
                                   record once. Prints JSON; exits 1 with one line per problem.
"""

import json
import os
import sys
import zlib

import pyarrow.parquet as pq


def expect(paths):
    by_type = {}
    records = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                records += 1
                e = json.loads(line)
                by_type.setdefault(e["event_type"], set()).add(e["event_id"])
    return {"records": records, "by_type": {t: len(ids) for t, ids in sorted(by_type.items())}}


def committed_files(data):
    """(path, rows) of every file of every committed batch, from the checksummed commit logs."""
    out = {}
    problems = []
    commits = os.path.join(data, "_lake", "commits")
    for topic in sorted(os.listdir(commits)) if os.path.isdir(commits) else []:
        for name in sorted(os.listdir(os.path.join(commits, topic))):
            if not name.endswith(".log"):
                continue
            raw = open(os.path.join(commits, topic, name), "rb").read()
            lines = raw.split(b"\n")
            if lines[-1] != b"":
                problems.append(f"{topic}/{name}: ends in a torn line after a clean restart")
            expected_next = 0
            for line in lines[:-1]:
                text = line.decode("utf-8")
                crc, body = text[:8], text[9:]
                if format(zlib.crc32(body.encode("utf-8")), "08x") != crc:
                    problems.append(f"{topic}/{name}: a line fails its checksum")
                    break
                entry = json.loads(body)
                if entry["from"] != expected_next:
                    problems.append(f"{topic}/{name}: batch {entry['from']}..{entry['to']} after offset {expected_next - 1}")
                expected_next = entry["to"] + 1
                for f in entry["files"]:
                    if f["path"] in out:
                        problems.append(f"{f['path']} is listed by two batches")
                    out[f["path"]] = f
    return out, problems


def check(data, expected_path):
    expected = json.load(open(expected_path))
    files, problems = committed_files(data)
    rows_read = 0
    per_table = {}
    for rel, f in sorted(files.items()):
        path = os.path.join(data, rel)
        if not os.path.exists(path):
            problems.append(f"{rel}: committed but missing")
            continue
        if os.path.getsize(path) != f["bytes"]:
            problems.append(f"{rel}: {os.path.getsize(path)} bytes on disk, the commit log says {f['bytes']}")
        try:
            t = pq.read_table(path)
        except Exception as e:  # noqa: BLE001 - any reader failure is the finding
            problems.append(f"{rel}: pyarrow cannot read it: {e}")
            continue
        if t.num_rows != f["rows"]:
            problems.append(f"{rel}: {t.num_rows} rows, the commit log says {f['rows']}")
        rows_read += t.num_rows
        per_table.setdefault(f["table"], []).append(t)
    # Nothing beside the committed files: a glob reader sees exactly them.
    for layer in ("bronze", "silver"):
        base = os.path.join(data, layer)
        for root, _dirs, names in os.walk(base):
            for n in names:
                rel = os.path.relpath(os.path.join(root, n), data)
                if n.endswith(".parquet") and rel not in files:
                    problems.append(f"{rel}: a .parquet no commit log lists")
                if n.endswith(".tmp"):
                    problems.append(f"{rel}: a temp file left in a table")
    tmp = os.path.join(data, "_lake", "tmp")
    if os.path.isdir(tmp) and os.listdir(tmp):
        problems.append(f"_lake/tmp holds {len(os.listdir(tmp))} leftovers: {sorted(os.listdir(tmp))[:3]}")
    silver = {}
    for event_type, want in expected["by_type"].items():
        tables = per_table.get(f"silver/{event_type}", [])
        ids = [i for t in tables for i in t.column("event_id").to_pylist()]
        silver[event_type] = {"rows": len(ids), "distinct": len(set(ids)), "expected": want}
        if len(set(ids)) != want:
            problems.append(f"silver/{event_type}: {len(set(ids))} distinct event_ids, the input has {want}")
        if len(ids) != len(set(ids)):
            problems.append(f"silver/{event_type}: {len(ids) - len(set(ids))} rows doubled")
    bronze = sum(t.num_rows for t in per_table.get("bronze/events", []))
    if bronze != expected["records"]:
        problems.append(f"bronze/events: {bronze} rows, the input has {expected['records']} records")
    return {"files": len(files), "rows_read": rows_read, "bronze": bronze, "silver": silver, "problems": problems}


if __name__ == "__main__":
    if sys.argv[1] == "expect":
        print(json.dumps(expect(sys.argv[2:])))
    elif sys.argv[1] == "check":
        result = check(sys.argv[2], sys.argv[3])
        print(json.dumps(result))
        sys.exit(1 if result["problems"] else 0)
    else:
        sys.exit(f"usage: {sys.argv[0]} expect INPUT | check DATA_DIR EXPECTED.json")
