#!/usr/bin/env python3
"""Idle cost, memory and run-listing time of `muster serve` against a journal with history (issue 12, item 10).

Usage: scripts/idle-bench.py MUSTER_BINARY [--notes 462000] [--runs 600] [--idle 10]

Builds a journal with the CLI (one open run, one closed run), then grows it in SQLite directly with rows that
keep every hash chain valid (the event hash is recomputed exactly as `Chain.eventHash` does): NOTES notes on the
open run and RUNS copies of the closed run. Then starts `muster serve` on it and measures, on the server process
(/proc/PID): CPU while idle for IDLE seconds, RSS, and the time of GET /api/runs (best of 5); then touches every
run once (GET /api/runs/ID) and measures RSS and idle CPU again. Nothing else runs meanwhile.
"""
import hashlib, json, os, re, sqlite3, subprocess, sys, tempfile, time, urllib.request

def arg(name, default):
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default

BIN = os.path.abspath(sys.argv[1])
NOTES, RUNS, IDLE = arg("--notes", 462000), arg("--runs", 600), arg("--idle", 10)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOME = tempfile.mkdtemp(prefix="muster-idle-bench-")
ENV = dict(os.environ, MUSTER_HOME=HOME, MUSTER_USER="Dana")

def cli(*args):
    return subprocess.run([BIN, *args], env=ENV, cwd=ROOT, check=True, capture_output=True, text=True).stdout

def js(s):  # canonical JSON string for the plain ASCII used here
    return json.dumps(s, ensure_ascii=False)

def event_hash(run, seq, at, scen, actor, role, typ, payload, prev):
    parts = ["[", js("muster-event/1"), ",", js(run), ",", str(seq), ",", str(at), ",",
             "null" if scen is None else str(scen), ",", js(actor), ",", "null" if role is None else js(role), ",",
             js(typ), ",", payload, ",", js(prev), "]"]
    return hashlib.sha256("".join(parts).encode()).hexdigest()

def header_hash(run, pid, ver, sha):
    return hashlib.sha256(f'[{js("muster-run/1")},{js(run)},{js(pid)},{ver},{js(sha)}]'.encode()).hexdigest()

def build():
    big = cli("incident", "declare", "playbooks/ransomware-file-servers.yaml", "--title", "Long run").split()[0]
    cli("incident", "note", "seed", "--run", big)
    short = cli("incident", "declare", "playbooks/ransomware-file-servers.yaml", "--title", "Short run").split()[0]
    cli("incident", "close", "--reason", "drill", "--run", short)
    db = sqlite3.connect(os.path.join(HOME, "muster.db"))
    # Notes on the open run.
    seq, prev = db.execute("SELECT seq, hash FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1", (big,)).fetchone()
    tmpl = db.execute("SELECT at_ms, actor, role, payload FROM events WHERE run_id=? AND type='note-added'", (big,)).fetchone()
    at, actor, role, payload = tmpl
    rows = []
    for i in range(NOTES):
        seq += 1
        p = payload.replace('"seed"', js(f"note {i}"))
        h = event_hash(big, seq, at, None, actor, role, "note-added", p, prev)
        rows.append((big, seq, at, None, actor, role, "note-added", p, prev, h))
        prev = h
    db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    # Copies of the closed run (header and events; the chain recomputed for each copy's id).
    cols = "id, playbook_id, playbook_version, playbook_sha256, playbook_text, mode, title, created_at"
    hdr = db.execute(f"SELECT {cols} FROM runs WHERE id=?", (short,)).fetchone()
    evs = db.execute("SELECT seq, at_ms, scenario_ms, actor, role, type, payload FROM events WHERE run_id=? ORDER BY seq", (short,)).fetchall()
    acc = db.execute("SELECT restricted, set_by, set_at FROM run_access WHERE run_id=?", (short,)).fetchone()
    for n in range(RUNS):
        rid = f"r-b{n:05d}"
        db.execute(f"INSERT INTO runs ({cols}) VALUES (?,?,?,?,?,?,?,?)", (rid, *hdr[1:6], f"Short run {n}", hdr[7] + n + 1))
        if acc: db.execute("INSERT INTO run_access VALUES (?,?,?,?)", (rid, *acc))
        prev = header_hash(rid, hdr[1], hdr[2], hdr[3])
        for (s, a, sc, ac, ro, ty, pl) in evs:
            pl = pl.replace(short, rid)
            h = event_hash(rid, s, a, sc, ac, ro, ty, pl, prev)
            db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", (rid, s, a, sc, ac, ro, ty, pl, prev, h))
            prev = h
    # Rows were added behind the journal's back: when this build keeps run summaries (format 4), make the file a
    # format 3 journal again so that opening it fills the summaries from the events, as for any older journal.
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'run_summary'").fetchone():
        db.executescript("""DROP TABLE run_summary; DELETE FROM grdb_migrations WHERE identifier = 'v4';
                            UPDATE meta SET value = '3' WHERE key = 'format_version';""")
    db.commit()
    db.close()
    return big

def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def rss_mb(pid):
    m = re.search(r"VmRSS:\s+(\d+) kB", open(f"/proc/{pid}/status").read())
    return int(m.group(1)) / 1024

def idle_cpu(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.time()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.time() - t0)

def main():
    t = time.time()
    big = build()
    print(f"journal: {NOTES} notes on {big}, {RUNS} closed runs ({time.time() - t:.1f} s to build) in {HOME}")
    t = time.time()
    listed = subprocess.run([BIN, "incident", "list"], env=ENV, cwd=ROOT, capture_output=True, text=True)
    print(f"first muster incident list (opens the journal, migrating it if needed): exit {listed.returncode} in {time.time() - t:.1f} s")
    t = time.time()
    subprocess.run([BIN, "incident", "list"], env=ENV, cwd=ROOT, capture_output=True, text=True)
    print(f"muster incident list: {time.time() - t:.2f} s")
    token = re.search(r"mst_[0-9a-f]{64}", cli("users", "add", "Dana", "--admin")).group(0)
    server = subprocess.Popen([BIN, "serve", "--port", "0", "--playbooks", "playbooks"], env=ENV, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    port = int(re.search(r":(\d+)/", line).group(1))
    base = f"http://127.0.0.1:{port}"
    def get(path):
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.read()
    try:
        time.sleep(10)  # the start-up work (taking up the open run) is over
        print(f"idle CPU, fresh server: {idle_cpu(server.pid, IDLE):.1f}% of a core over {IDLE} s; RSS {rss_mb(server.pid):.1f} MB")
        best = min((lambda t0: (get('/api/runs'), time.time() - t0)[1])(time.time()) for _ in range(5))
        print(f"GET /api/runs ({RUNS + 2} runs): best of 5 {best * 1000:.0f} ms; RSS {rss_mb(server.pid):.1f} MB")
        runs = json.loads(get("/api/runs"))["runs"]
        before = rss_mb(server.pid)
        t0 = time.time()
        for r in runs:
            if r["id"] != big: get(f"/api/runs/{r['id']}")
        print(f"touched {len(runs) - 1} closed runs in {time.time() - t0:.1f} s: RSS {before:.1f} -> {rss_mb(server.pid):.1f} MB")
        t0 = time.time()
        get(f"/api/runs/{big}")
        print(f"touched the {NOTES}-note run in {time.time() - t0:.1f} s: RSS {rss_mb(server.pid):.1f} MB")
        print(f"idle CPU after touching every run: {idle_cpu(server.pid, IDLE):.1f}% of a core over {IDLE} s; RSS {rss_mb(server.pid):.1f} MB")
        best = min((lambda t0: (get('/api/runs'), time.time() - t0)[1])(time.time()) for _ in range(5))
        print(f"GET /api/runs again: best of 5 {best * 1000:.0f} ms")
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", HOME])

main()
