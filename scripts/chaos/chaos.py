"""Chaos runs of the pipeline with real processes (issue 12): kill -9 under load, poison records, record-time
order and copies across workers. Every expectation is computed here, in Python, from the input (oracle.py),
and the lake is read back with DuckDB and pyarrow; nothing of the pipeline's own code judges the result.

    python scripts/chaos/chaos.py kill9 [--rounds 200]
    python scripts/chaos/chaos.py poison
    python scripts/chaos/chaos.py record-time
    python scripts/chaos/chaos.py all

Exits non-zero with one line per broken expectation."""

import argparse
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle import TYPES, Expected, parse_ts  # noqa: E402

# CHAOS_REPO runs the same checks against another checkout (e.g. an older commit, to see them fail there).
REPO = Path(os.environ.get("CHAOS_REPO") or Path(__file__).resolve().parents[2])
BUN = shutil.which("bun") or sys.exit("chaos: bun is not on PATH (npm i -g bun@1.4.4)")
failures = []


def say(line):
    print(line, flush=True)


def expect(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got}, expected {want}")
        say(f"  FAIL {what}: got {got}, expected {want}")
    else:
        say(f"  ok   {what}: {got}")


def env_for(data_dir):
    env = dict(os.environ)
    env.update({"DATA_DIR": str(data_dir), "METRICS_PORT": "0", "LOG_LEVEL": "Warn"})
    return env


def bun(args, data_dir, log=None, check=True, cwd=REPO):
    r = subprocess.run([BUN, *args], cwd=cwd, env=env_for(data_dir), stdout=subprocess.PIPE, stderr=log or subprocess.PIPE)
    if check and r.returncode != 0:
        err = r.stderr.decode(errors="replace")[-2000:] if r.stderr else ""
        raise SystemExit(f"chaos: '{' '.join(args)}' exited {r.returncode}: {err}")
    return r


def spawn(args, data_dir, log):
    # A session of its own: kill -9 of the group takes the workers of `--workers 2` too.
    return subprocess.Popen([BUN, *args], cwd=REPO, env=env_for(data_dir), stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)


def kill9(p):
    """SIGKILL the process group; True when it was still running (a real kill, not a clean exit)."""
    alive = p.poll() is None
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    return alive


def produce(lines, data_dir, record_time="now"):
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as f:
        f.write(b"\n".join(lines) + b"\n")
        path = f.name
    try:
        bun(["apps/cli/src/produce.ts", "--file", path, "--record-time", record_time], data_dir)
    finally:
        os.unlink(path)


def generated(n, seed, days=2):
    out = Path(tempfile.mkdtemp()) / "in.jsonl"
    bun(
        ["apps/generator/src/main.ts", "--backfill-days", str(days), "--seed", str(seed), "--max-events", str(n),
         "--dup-rate", "0.05", "--late-rate", "0.02", "--out", str(out)],
        out.parent,
    )
    lines = out.read_bytes().split(b"\n")
    shutil.rmtree(out.parent)
    return [l for l in lines if l]


def crafted_bad(n, seed):
    """Records that break one rule each, plus odd bytes, written here (not by the generator)."""
    r = random.Random(seed)
    base = {
        "schema_version": 1, "event_type": "page_view", "event_ts": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "anonymous_id": "a", "user_id": None, "session_id": "s", "context": {"device": "desktop", "country": "US"},
        "page_type": "home", "page_url": "/", "category": None,
    }
    out = []
    for i in range(n):
        e = dict(base, event_id=f"{r.getrandbits(32):08x}-0000-4000-8000-{i:012x}", session_id=f"bad-{i}")
        kind = i % 6
        if kind == 0:
            out.append(json.dumps(e)[: r.randint(1, 40)].encode())
        elif kind == 1:
            out.append(json.dumps(dict(e, schema_version=2)).encode())
        elif kind == 2:
            out.append(json.dumps(dict(e, event_type="wishlist_add")).encode())
        elif kind == 3:
            out.append(json.dumps(dict(e, context={"device": "fridge", "country": "US"})).encode())
        elif kind == 4:
            out.append(bytes(r.randint(0x80, 0xFF) for _ in range(r.randint(1, 50))).replace(b"\n", b"x"))
        else:
            out.append(json.dumps(dict(e, pad="x" * 70_000)).encode())
    return out


def lake_checks(data_dir, exp, topic_dlq=True, gold=True):
    """Every expectation of a finished run over DATA_DIR against the oracle's `exp`."""
    root = Path(data_dir)
    files = sorted(glob.glob(str(root / "bronze" / "**" / "*.parquet"), recursive=True)
                   + glob.glob(str(root / "silver" / "**" / "*.parquet"), recursive=True)
                   + glob.glob(str(root / "gold" / "**" / "*.parquet"), recursive=True))
    con = duckdb.connect()
    unreadable = 0
    for f in files:
        try:
            pq.read_metadata(f)
            con.execute("select count(*) from read_parquet(?)", [f]).fetchone()
        except Exception as e:  # noqa: BLE001
            unreadable += 1
            say(f"  unreadable {f}: {e}")
    expect(f"files unreadable by pyarrow or DuckDB (of {len(files)})", unreadable, 0)

    def glob_of(table):
        return f"read_parquet('{root / table}/*/*.parquet', hive_partitioning = true, union_by_name = true)"

    def count(table):
        if not glob.glob(str(root / table / "*" / "*.parquet")):
            return 0
        return con.execute(f"select count(*) from {glob_of(table)}").fetchone()[0]

    for t in TYPES:
        expect(f"silver/{t} rows", count(f"silver/{t}"), exp.silver[t])
    union = " union all ".join(f"select event_id from {glob_of('silver/' + t)}" for t in TYPES if exp.silver[t] > 0)
    ids = {row[0] for row in con.execute(union).fetchall()} if union else set()
    expect("silver event_ids missing or extra", len(ids ^ exp.ids), 0)
    expect("silver rows in all (no event_id twice)", sum(count(f"silver/{t}") for t in TYPES), len(exp.ids))
    expect("bronze/events rows (every delivery)", count("bronze/events"), exp.records)
    dlq = dict(con.execute(f"select error_code, count(*) from {glob_of('bronze/dlq')} group by 1").fetchall()) if sum(exp.dlq.values()) else {}
    expect("bronze/dlq by code", dict(sorted(dlq.items())), dict(sorted(exp.dlq.items())))
    totals = json.loads((root / "_metrics" / "stream.json").read_text()).get("totals", {})
    expect("duplicates counted", totals.get("duplicates"), exp.duplicates)
    expect("silver + dlq + duplicates = input", len(exp.ids) + sum(exp.dlq.values()) + totals.get("duplicates", 0), exp.records)
    if topic_dlq:
        r = bun(["apps/cli/src/consume.ts", "--topic", "events.dlq", "--from-beginning", "--until-end"], data_dir)
        keys = [json.loads(l)["key"] for l in r.stdout.decode().split("\n") if l.strip()]
        expect("events.dlq records", len(keys), sum(exp.dlq.values()))
        expect("events.dlq repeats", len(keys) - len(set(keys)), 0)
    if gold and exp.orders:
        want = {}
        for day, sub, disc, ship, tax, total in exp.orders:
            w = want.setdefault(day, [0, 0, 0, 0, 0, 0])
            for i, v in enumerate((1, sub, disc, ship, tax, total)):
                w[i] += v
        got = {
            str(d): [o, int(g * 100), int(di * 100), int(s * 100), int(t * 100), int(tc * 100)]
            for d, o, g, di, s, t, tc in con.execute(
                f"select r.event_date, o.orders, r.gmv, r.discounts, r.shipping, r.tax, r.total_collected "
                f"from {glob_of('gold/revenue_daily')} r join {glob_of('gold/orders_daily')} o using (event_date) where o.orders > 0"
            ).fetchall()
        }
        expect("gold orders and revenue per day, to the cent", got, {d: w for d, w in sorted(want.items())})


def run_kill9(rounds):
    say(f"== kill -9 under load: {rounds} rounds (half with --workers 2), with the gold loop and compaction")
    data = Path(tempfile.mkdtemp(prefix="chaos-kill9-"))
    log = open(data.parent / f"{data.name}.log", "wb")
    inputs = generated(40_000, seed=21) + crafted_bad(300, seed=21)
    random.Random(5).shuffle(inputs)
    exp = Expected()
    for v in inputs:
        exp.add(v)
    chunks = [inputs[i : i + 1000] for i in range(0, len(inputs), 1000)]
    produced = threading.Event()

    def producer():
        for c in chunks:
            produce(c, data)
            time.sleep(rounds * 2.2 / len(chunks))
        produced.set()

    bun(["apps/cli/src/topics.ts", "--ensure", "--partitions", "6"], data)
    t = threading.Thread(target=producer, daemon=True)
    t.start()
    r = random.Random(77)
    kills = {"processor": 0, "gold": 0, "compaction": 0}
    started = time.time()
    for i in range(rounds):
        workers = 1 if i % 2 == 0 else 2
        procs = [("processor", spawn(["apps/stream/src/main.ts", "--workers", str(workers), "--batch-records", "700", "--batch-ms", "50"], data, log))]
        if r.random() < 0.5:
            procs.append(("gold", spawn(["apps/gold/src/main.ts", "--interval-ms", "300", "--realtime-ms", "200"], data, log)))
        if r.random() < 0.4:
            procs.append(("compaction", spawn(["apps/gold/src/compact.ts"], data, log)))
        deadline = time.time() + r.uniform(1.0, 4.0)
        order = sorted(procs, key=lambda _: r.random())
        for name, p in order:
            time.sleep(max(0.0, min(deadline - time.time(), r.uniform(0.3, 3.0))))
            if kill9(p):
                kills[name] += 1
        if i % 20 == 19:
            say(f"  round {i + 1}/{rounds}: kills {kills} ({time.time() - started:.0f} s)")
    t.join()
    done = sum(json.loads(l[9:]).get("to", 0) - json.loads(l[9:]).get("from", 0) + 1
               for f in glob.glob(str(data / "_lake" / "commits" / "events.raw" / "*.log")) for l in open(f) if len(l) > 9)
    say(f"  kills: {kills}; all {len(inputs)} records produced, {done} committed under the kills; the final run finishes the job")
    bun(["apps/stream/src/main.ts", "--available-now", "--workers", "2"], data, log)
    bun(["apps/gold/src/main.ts", "--once", "--all"], data, log)
    expect("processor kills (at least 200 asked)", kills["processor"] >= min(rounds, 200) * 0.9, True)
    expect("records committed between kills", done > 0, True)
    expect("gold loop kills", kills["gold"] > 0, True)
    expect("compaction kills", kills["compaction"] > 0, True)
    lake_checks(data, exp)
    shutil.rmtree(data)


def poison_records():
    now = datetime.now(timezone.utc)
    ts = now.isoformat().replace("+00:00", "Z")
    env = {"schema_version": 1, "event_ts": ts, "anonymous_id": "a", "user_id": None, "session_id": "s-poison",
           "context": {"device": "mobile", "country": "DE"}}
    out = []
    n = 0

    def ev(**f):
        nonlocal n
        n += 1
        return dict(env, event_id=f"00000000-0000-4000-9000-{n:012x}", **f)

    ints = {
        "search.results_count": lambda v: ev(event_type="search", query="q", results_count=v),
        "checkout_started.item_count": lambda v: ev(event_type="checkout_started", cart_value=1, item_count=v, currency="USD"),
        "add_to_cart.quantity": lambda v: ev(event_type="add_to_cart", sku="S", quantity=v, unit_price=1, currency="USD"),
        "remove_from_cart.quantity": lambda v: ev(event_type="remove_from_cart", sku="S", quantity=v),
        "order_placed.items.quantity": lambda v: ev(event_type="order_placed", order_id="o", items=[{"sku": "S", "quantity": v, "unit_price": 1}],
                                                     subtotal=v, discount=0, shipping=0, tax=0, total=v, currency="USD", payment_method="card", coupon=None),
        "order_returned.items.quantity": lambda v: ev(event_type="order_returned", order_id="o", items=[{"sku": "S", "quantity": v}],
                                                       refund_amount=1, currency="USD", reason="r"),
        "schema_version": lambda v: dict(ev(event_type="search", query="q", results_count=1), schema_version=v),
    }
    for _field, make in ints.items():
        for v in (2**31, 2**53 + 1, -1):
            out.append(json.dumps(make(v)).encode())
    r = random.Random(3)
    for size in (60_000, 65_536, 200_000, 1_000_000, 2_000_000):
        out.append(bytes(r.randint(1, 31) for _ in range(size)).replace(b"\n", b"\x01"))
    return out


def run_poison():
    say("== poison records: every integer field at 2^31, 2^53 + 1 and -1; control bytes from 60 KB to 2 MB")
    data = Path(tempfile.mkdtemp(prefix="chaos-poison-"))
    good = generated(3_000, seed=8)
    inputs = good[:1500] + poison_records() + good[1500:]
    exp = Expected()
    for v in inputs:
        exp.add(v)
    produce(inputs, data)
    r = subprocess.run([BUN, "apps/stream/src/main.ts", "--available-now"], cwd=REPO, env=env_for(data), capture_output=True)
    expect("pipeline --available-now exit code", r.returncode, 0)
    if r.returncode != 0:
        say(r.stderr.decode(errors="replace")[-2000:])
    lake_checks(data, exp)
    shutil.rmtree(data)


def run_record_time():
    say("== record-time order: replays out of order, far-future and far-past stamps, one id in two cases on two workers")
    data = Path(tempfile.mkdtemp(prefix="chaos-rtime-"))
    r = random.Random(4)
    base = generated(6_000, seed=12, days=40)
    day = 86_400_000
    lines = []
    now_ms = int(time.time() * 1000)

    def stamped(line, ms):
        e = json.loads(line)
        e["event_ts"] = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return json.dumps(e).encode()

    for i, l in enumerate(base):
        if i % 500 == 0:
            l = stamped(l, int(datetime(9999, 12, 31, 12, tzinfo=timezone.utc).timestamp() * 1000) - i)
        elif i % 500 == 1:
            l = stamped(l, now_ms - 45 * day - i)
        lines.append(l)
    # The same events again, shuffled (a replay out of order), and 200 of them under an upper-case id and
    # another session, so the copy lands on another partition owned by the other worker.
    replay = lines[:]
    r.shuffle(replay)
    upper = []
    for l in r.sample(lines, 200):
        e = json.loads(l)
        e["event_id"] = e["event_id"].upper()
        e["session_id"] = e["session_id"] + "-other"
        upper.append(json.dumps(e).encode())
    inputs = lines + replay + upper
    exp = Expected()
    for v in inputs:
        e = json.loads(v) if v.startswith(b"{") else {}
        exp.add(v, parse_ts(e.get("event_ts")) if isinstance(e, dict) else None)
    bun(["apps/cli/src/topics.ts", "--ensure", "--partitions", "6"], data)
    produce(lines, data, "event")
    bun(["apps/stream/src/main.ts", "--available-now", "--workers", "2"], data)
    produce(replay + upper, data, "event")
    bun(["apps/stream/src/main.ts", "--available-now", "--workers", "2"], data)
    lake_checks(data, exp, gold=False)
    shutil.rmtree(data)


def fuzz_corpus(n, seed):
    """Valid events, their mutations (each field deleted, retyped or pushed to an edge), odd bytes and sizes."""
    r = random.Random(seed)
    valid = generated(n // 2, seed=seed)
    edges = [None, 0, -1, 1.5, 2**31, 2**53 + 1, 1e21, "", "x" * 300, [], {}, True, "\u0000", "2026-13-01T00:00:00Z"]
    out = list(valid)
    while len(out) < n:
        base = json.loads(r.choice(valid))
        kind = r.randrange(8)
        if kind == 0:
            del base[r.choice(list(base))]
            out.append(json.dumps(base).encode())
        elif kind == 1:
            base[r.choice(list(base))] = r.choice(edges)
            out.append(json.dumps(base).encode())
        elif kind == 2:
            base["context"] = dict(base["context"], **{r.choice(["device", "country", "referrer"]): r.choice(edges)})
            out.append(json.dumps(base).encode())
        elif kind == 3:
            t = json.dumps(base)
            out.append(t[: r.randrange(len(t))].encode())
        elif kind == 4:
            out.append(bytes(r.randrange(256) for _ in range(r.randrange(1, 200))).replace(b"\n", b" "))
        elif kind == 5:
            base["pad"] = "".join(chr(r.randrange(1, 32)) for _ in range(r.choice([100, 20_000, 70_000])))
            out.append(json.dumps(base, ensure_ascii=False).encode().replace(b"\n", b"\\n"))
        elif kind == 6:
            out.append(b"\xef\xbb\xbf" + json.dumps(base).encode())
        else:
            base["event_id"] = base["event_id"].upper() if r.random() < 0.5 else base["event_id"]
            out.append(json.dumps(base).encode())
    r.shuffle(out)
    # produce skips blank lines ("" or a lone "\r"): a file line is a record only when it has content.
    return [l for l in out if b"\n" not in l and l not in (b"", b"\r")]


def run_fuzz(n, kafka):
    where = f"Kafka at {kafka}" if kafka else "the embedded broker"
    say(f"== fuzz: {n} records (valid, mutated, odd bytes, BOMs, control bytes) through {where}, 2 workers")
    data = Path(tempfile.mkdtemp(prefix="chaos-fuzz-"))
    inputs = fuzz_corpus(n, seed=31)
    exp = Expected()
    for v in inputs:
        exp.add(v)
    if kafka:
        os.environ["KAFKA_BROKERS"] = kafka
        # Earlier Kafka specs leave records on events.raw: the corpus must be alone on fresh topics. Run from
        # apps/cli, where @shop/broker and effect resolve (the repository root depends on neither).
        bun(["-e", "import { deleteKafkaTopics } from '@shop/broker'; import { Effect } from 'effect'; "
                   "await Effect.runPromise(deleteKafkaTopics(process.env.KAFKA_BROKERS.split(','), ['events.raw', 'events.dlq']))"],
            data, cwd=REPO / "apps" / "cli")
    bun(["apps/cli/src/topics.ts", "--ensure", "--partitions", "6"], data)
    for i in range(0, len(inputs), 5_000):
        produce(inputs[i : i + 5_000], data)
    bun(["apps/stream/src/main.ts", "--available-now", "--workers", "2"], data)
    lake_checks(data, exp, gold=False)
    os.environ.pop("KAFKA_BROKERS", None)
    shutil.rmtree(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["kill9", "poison", "record-time", "fuzz", "all"])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--fuzz-records", type=int, default=20_000)
    ap.add_argument("--kafka", help="bootstrap servers: run the fuzz corpus through this Kafka instead")
    a = ap.parse_args()
    started = time.time()
    if a.what in ("poison", "all"):
        run_poison()
    if a.what in ("record-time", "all"):
        run_record_time()
    if a.what in ("fuzz", "all"):
        run_fuzz(a.fuzz_records, a.kafka)
    if a.what in ("kill9", "all"):
        run_kill9(a.rounds)
    say(f"chaos {a.what}: {len(failures)} failed expectations in {time.time() - started:.0f} s")
    if failures:
        for f in failures:
            print(f"chaos: {f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
