#!/usr/bin/env python3
"""Soak test helper for bench/soak: load generator + sampler, and the report (summary + plot).

  soak.py load --url URL --pid PID --csv FILE --stats FILE (--sqlite PATH | --pg-url URL)
               [--duration S] [--rate R] [--fingerprints N] [--sample S] [--senders N]
               [--drain S] [--seed N]
      Sends Alertmanager v4 webhooks to URL/webhook/alertmanager at a paced RATE alerts/s for
      DURATION seconds while sampling nightwatch (PID) every SAMPLE seconds into FILE (CSV),
      then waits up to DRAIN seconds for nightwatch_queue_depth 0 and takes a final sample.
      Writes the run's counters to --stats (JSON). Exit 0, or 3 if nightwatch went away.

  soak.py report --out DIR --backends sqlite,postgres [--check] [--png FILE]
      Reads DIR/soak-BACKEND.csv and .json, draws FILE (four panels) and prints a markdown
      summary on stdout. With --check: exits 1, naming each failure on stderr, if a POST
      failed, the queue did not drain, fds or RSS grew past the limits.

Load model: FINGERPRINTS label sets that look like Kubernetes alerts, each with its own state.
Each time a fingerprint is picked it first may change state (firing -> resolved with
P_RESOLVE, resolved -> firing with P_REFIRE, which starts a new occurrence with a new startsAt)
and is then sent in its current state. So most sends are re-firings of an open incident
(nightwatch folds them as suppressed); some resolve incidents and some open new ones. The
fingerprints are split between the senders (one keep-alive connection each), so the sends of
one fingerprint stay in order.
"""
import argparse
import csv
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone

P_RESOLVE = 0.03  # per send of a firing fingerprint
P_REFIRE = 0.30  # per send of a resolved fingerprint
MAX_LAG = 2.0  # a sender further behind its schedule than this drops the backlog (counted)
ZERO_TIME = "0001-01-01T00:00:00Z"
COLUMNS = ["t_seconds", "rss_kib", "fds", "db_bytes", "queue_depth", "alerts_received", "posts", "non2xx"]

ALERTNAMES = [
    "KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting",
    "NodeNotReady", "TargetDown", "HighErrorRate",
]
APPS = ["checkout", "payments", "cart", "search", "auth", "catalog", "orders", "ledger",
        "gateway", "notifier", "profile", "inventory"]
NAMESPACES = ["prod-shop", "prod-payments", "prod-core", "staging-shop", "staging-core",
              "platform", "monitoring", "data"]


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rfc3339(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def am_fingerprint(labels):
    """Alertmanager's fingerprint: FNV-1a 64 over sorted names and values, 0xff-separated."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for b in part.encode() + b"\xff":
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


class Fingerprint:
    __slots__ = ("labels", "annotations", "fp", "firing", "starts_at", "ends_at")

    def __init__(self, i, rng, now):
        name = ALERTNAMES[i % len(ALERTNAMES)]
        k = i // len(ALERTNAMES)  # unique within the alertname
        app = APPS[k % len(APPS)]
        ns = NAMESPACES[(k // len(APPS)) % len(NAMESPACES)]
        node = f"ip-10-0-{k % 64}-{(k * 7) % 250 + 1}.eu-west-1.compute.internal"
        sev = "critical" if name in ("KubePodCrashLooping", "NodeNotReady", "TargetDown") else "warning"
        if name.startswith("Kube"):
            # kube-state-metrics style pod alert; pod keeps the fingerprint (alertname:ns:pod:container)
            pod = f"{app}-{k:05x}{k % 7}c9d-{(k * 2654435761) % 0xFFFFF:05x}"
            labels = {
                "alertname": name, "namespace": ns, "pod": pod, "container": app,
                "node": node, "severity": sev, "job": "kube-state-metrics",
                "prometheus": "monitoring/k8s",
            }
            summary = f"Pod {ns}/{pod} ({app}) is not healthy."
            desc = (f"Pod {ns}/{pod} container {app} on {node} has been in a bad state "
                    "for longer than 15 minutes.")
        elif name == "NodeNotReady":
            # node alerts fold by alertname:node; one node per fingerprint
            node = f"ip-10-1-{k // 250}-{k % 250 + 1}.eu-west-1.compute.internal"
            labels = {"alertname": name, "node": node, "severity": sev,
                      "job": "kube-state-metrics", "prometheus": "monitoring/k8s"}
            summary = f"Node {node} is not ready."
            desc = f"{node} has been unready for more than 15 minutes."
        elif name == "TargetDown":
            svc = f"{app}-{k}"
            labels = {"alertname": name, "namespace": ns, "service": svc, "job": svc,
                      "severity": sev, "prometheus": "monitoring/k8s"}
            summary = "One or more targets are unreachable."
            desc = f"100% of the {svc}/{svc} targets in {ns} namespace are down."
        else:  # HighErrorRate
            svc = f"{app}-api-{k}"
            labels = {"alertname": name, "namespace": ns, "service": svc,
                      "job": f"{ns}/{svc}", "severity": sev, "prometheus": "monitoring/k8s"}
            summary = f"Error rate above 5% for {svc}"
            desc = f"{svc} in {ns} has been returning 5xx at more than 5% for 5 minutes."
        self.labels = labels
        self.annotations = {
            "summary": summary, "description": desc,
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/" + name.lower(),
        }
        self.fp = am_fingerprint(labels)
        # Already firing when the soak starts, for up to an hour.
        self.firing = True
        self.starts_at = rfc3339(now - rng.uniform(0, 3600))
        self.ends_at = ZERO_TIME

    def step(self, rng, now):
        """Maybe flips the state; returns 'resolve', 'refire' or None."""
        if self.firing and rng.random() < P_RESOLVE:
            self.firing = False
            self.ends_at = rfc3339(now)
            return "resolve"
        if not self.firing and rng.random() < P_REFIRE:
            self.firing = True
            self.starts_at = rfc3339(now)
            self.ends_at = ZERO_TIME
            return "refire"
        return None

    def alert(self):
        return {
            "status": "firing" if self.firing else "resolved",
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": self.starts_at,
            "endsAt": self.ends_at,
            "generatorURL": "http://prometheus-k8s.monitoring.svc:9090/graph?g0.expr=ALERTS&g0.tab=1",
            "fingerprint": self.fp,
        }


def webhook(fps, name):
    alerts = [f.alert() for f in fps]
    common = dict(alerts[0]["labels"])
    for a in alerts[1:]:
        common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
    return {
        "version": "4",
        "groupKey": '{}/{}:{alertname="%s"}' % name,
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "nightwatch",
        "groupLabels": {"alertname": name},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager-main.monitoring.svc:9093",
        "alerts": alerts,
    }


class Sender(threading.Thread):
    """Sends groups of 1-10 alerts from its own fingerprints at RATE/SENDERS alerts/s."""

    def __init__(self, idx, host, port, fps, rate, t0, t_end, seed):
        super().__init__(daemon=True, name=f"sender-{idx}")
        self.host, self.port = host, port
        self.rate, self.t0, self.t_end = rate, t0, t_end
        self.rng = random.Random(seed)
        self.by_name = {}
        for f in fps:
            self.by_name.setdefault(f.labels["alertname"], []).append(f)
        self.names = sorted(self.by_name)
        self.weights = [len(self.by_name[n]) for n in self.names]
        self.posts = self.alerts = self.non2xx = self.errors = self.lag_resets = 0
        self.resolves = self.refires = self.resolved_sent = 0
        self.status_counts = {}
        self.first_failures = []
        self.latencies = []
        self.conn = None
        self.done_at = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def _post(self, body):
        if self.conn is None:
            self._connect()
        t = time.monotonic()
        try:
            self.conn.request("POST", "/webhook/alertmanager", body,
                              {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
            text = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.conn = None
            return None, f"{type(e).__name__}: {e}"
        self.latencies.append(time.monotonic() - t)
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return status, text[:300].decode(errors="replace")

    def run(self):
        next_t = self.t0
        while True:
            now = time.monotonic()
            if now >= self.t_end:
                break
            if next_t > now:
                time.sleep(max(0.0, min(next_t, self.t_end) - now))
                continue
            if now - next_t > MAX_LAG:  # far behind (server stalled): drop the backlog
                self.lag_resets += 1
                next_t = now
            n = self.rng.randint(1, 10)
            name = self.rng.choices(self.names, self.weights)[0]
            pool = self.by_name[name]
            group = self.rng.sample(pool, min(n, len(pool)))
            wall = time.time()
            for f in group:
                change = f.step(self.rng, wall)
                if change == "resolve":
                    self.resolves += 1
                elif change == "refire":
                    self.refires += 1
                if not f.firing:
                    self.resolved_sent += 1
            body = json.dumps(webhook(group, name), separators=(",", ":")).encode()
            status, detail = self._post(body)
            self.posts += 1
            self.alerts += len(group)
            if status is None or not 200 <= status < 300:
                self.non2xx += 1
                key = str(status) if status is not None else "error"
                if status is None:
                    self.errors += 1
                self.status_counts[key] = self.status_counts.get(key, 0) + 1
                if len(self.first_failures) < 5:
                    self.first_failures.append(f"{key}: {detail}")
            else:
                self.status_counts[str(status)] = self.status_counts.get(str(status), 0) + 1
            next_t += len(group) / self.rate
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.done_at = time.monotonic()


class Gone(Exception):
    pass


class Sampler:
    def __init__(self, args):
        self.url, self.pid, self.args = args.url.rstrip("/"), args.pid, args
        self.metric_failures = 0

    def alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                return fh.read().split(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    def metrics(self, extra=None):
        """(queue_depth, alerts_received) from /metrics, or (None, None). Fills `extra` (a
        dict), when given, with nightwatch_incidents by state and nightwatch_pruned_rows_total
        by kind."""
        try:
            request = urllib.request.Request(self.url + "/metrics")
            token = os.environ.get("NIGHTWATCH_TOKEN")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request, timeout=20) as resp:
                text = resp.read().decode()
        except OSError as e:
            self.metric_failures += 1
            log(f"  /metrics failed: {e}")
            return None, None
        depth, received = None, 0
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name, _, value = line.rpartition(" ")
            if name == "nightwatch_queue_depth":
                depth = int(float(value))
            elif name.startswith("nightwatch_alerts_received_total"):
                received += int(float(value))
            elif extra is not None and name.startswith('nightwatch_incidents{state="'):
                extra.setdefault("incidents", {})[name.split('"')[1]] = int(float(value))
            elif extra is not None and name.startswith('nightwatch_pruned_rows_total{kind="'):
                extra.setdefault("pruned", {})[name.split('"')[1]] = int(float(value))
        return depth, received

    def db_bytes(self):
        if self.args.sqlite:
            return sum(os.path.getsize(p) for p in
                       (self.args.sqlite, self.args.sqlite + "-wal", self.args.sqlite + "-shm")
                       if os.path.exists(p))
        try:
            out = subprocess.run(
                ["psql", self.args.pg_url, "-Atc", "select pg_database_size(current_database())"],
                capture_output=True, text=True, timeout=20, check=True).stdout
            return int(out.strip())
        except (subprocess.SubprocessError, ValueError) as e:
            log(f"  pg_database_size failed: {e}")
            return None

    def proc(self):
        try:
            with open(f"/proc/{self.pid}/status") as fh:
                rss = next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        except (OSError, StopIteration) as e:
            raise Gone(f"nightwatch (pid {self.pid}) is gone: {e}") from e
        return rss, fds

    def sample(self, t, senders):
        if not self.alive():
            raise Gone(f"nightwatch (pid {self.pid}) exited")
        rss, fds = self.proc()
        depth, received = self.metrics()
        db = self.db_bytes()
        row = {
            "t_seconds": round(t, 1), "rss_kib": rss, "fds": fds, "db_bytes": db,
            "queue_depth": depth, "alerts_received": received,
            "posts": sum(s.posts for s in senders), "non2xx": sum(s.non2xx for s in senders),
        }
        return {k: ("" if v is None else v) for k, v in row.items()}


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def cmd_load(args):
    rng = random.Random(args.seed)
    now = time.time()
    fps = [Fingerprint(i, rng, now) for i in range(args.fingerprints)]
    host, _, port = args.url.split("://", 1)[1].rstrip("/").partition(":")
    port = int(port or 80)
    sampler = Sampler(args)
    out = open(args.csv, "w", newline="")
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()

    n = max(1, min(args.senders, args.fingerprints))
    t0 = time.monotonic() + 0.2
    t_end = t0 + args.duration
    senders = [Sender(k, host, port, fps[k::n], args.rate / n, t0 + k * 0.05, t_end, args.seed * 1000 + k)
               for k in range(n)]
    stats = {"backend": args.backend, "duration": args.duration, "rate_target": args.rate,
             "fingerprints": args.fingerprints, "senders": n, "sample": args.sample}
    rows = []
    gone = None

    def take(t):
        row = sampler.sample(t, senders)
        rows.append(row)
        writer.writerow(row)
        out.flush()
        return row

    log(f"{args.backend}: {args.rate} alerts/s for {args.duration}s from {args.fingerprints} "
        f"fingerprints, {n} senders; sampling every {args.sample}s")
    time.sleep(max(0, t0 - time.monotonic()))
    for s in senders:
        s.start()
    k = 0
    try:
        # Sampling during the load, on a fixed schedule from the start of the load.
        while t0 + k * args.sample <= t_end + 0.001:
            time.sleep(max(0, t0 + k * args.sample - time.monotonic()))
            row = take(time.monotonic() - t0)
            if k % max(1, int(60 / args.sample)) == 0:
                log(f"  t={row['t_seconds']:>6}s rss={row['rss_kib']}KiB fds={row['fds']} "
                    f"db={row['db_bytes']} queue={row['queue_depth']} received={row['alerts_received']} "
                    f"posts={row['posts']} non2xx={row['non2xx']}")
            k += 1
        for s in senders:
            s.join()
        load_end = max(s.done_at for s in senders)
        stats["load_seconds"] = round(load_end - t0, 2)
        # Drain: the queue must reach 0; keep sampling on the same schedule meanwhile.
        deadline = load_end + args.drain
        drained = False
        depth = None
        log(f"  load done after {stats['load_seconds']}s; waiting up to {args.drain}s for queue depth 0")
        while True:
            if not sampler.alive():
                raise Gone(f"nightwatch (pid {args.pid}) exited during the drain")
            depth, _ = sampler.metrics()
            if depth == 0:
                drained = True
                break
            nowm = time.monotonic()
            if nowm >= deadline:
                break
            if nowm >= t0 + k * args.sample:
                take(nowm - t0)
                k += 1
            time.sleep(min(1.0, max(0.0, deadline - nowm)))
        stats["drained"] = drained
        stats["drain_seconds"] = round(time.monotonic() - load_end, 1)
        final = take(time.monotonic() - t0)
        stats["final_queue_depth"] = final["queue_depth"]
        extra = {}
        sampler.metrics(extra)
        stats["incidents"] = extra.get("incidents", {})
        stats["pruned"] = extra.get("pruned")
        log(f"  {'drained' if drained else 'NOT drained'} after {stats['drain_seconds']}s; final: "
            f"rss={final['rss_kib']}KiB fds={final['fds']} db={final['db_bytes']} "
            f"queue={final['queue_depth']} received={final['alerts_received']}")
    except Gone as e:
        gone = str(e)
        log(f"ERROR: {gone}")
        for s in senders:
            s.t_end = 0
        for s in senders:
            s.join(timeout=65)
        stats.setdefault("load_seconds", round(time.monotonic() - t0, 2))
        stats["drained"] = False
    out.close()

    lat = [x for s in senders for x in s.latencies]
    status_counts = {}
    for s in senders:
        for key, v in s.status_counts.items():
            status_counts[key] = status_counts.get(key, 0) + v
    alerts = sum(s.alerts for s in senders)
    stats.update({
        "gone": gone,
        "posts": sum(s.posts for s in senders),
        "alerts_sent": alerts,
        "non2xx": sum(s.non2xx for s in senders),
        "errors": sum(s.errors for s in senders),
        "status_counts": status_counts,
        "first_failures": [f for s in senders for f in s.first_failures][:10],
        "lag_resets": sum(s.lag_resets for s in senders),
        "resolves": sum(s.resolves for s in senders),
        "refires": sum(s.refires for s in senders),
        "resolved_sent": sum(s.resolved_sent for s in senders),
        "achieved_rate": round(alerts / stats["load_seconds"], 1) if stats["load_seconds"] else 0,
        "latency_ms": {p: (round(1000 * percentile(lat, q), 1) if lat else None)
                       for p, q in (("p50", 50), ("p99", 99), ("max", 100))},
        "metrics_failures": sampler.metric_failures,
        "alerts_received_final": rows[-1]["alerts_received"] if rows else None,
        "warmup": args.warmup,
    })
    with open(args.stats, "w") as fh:
        json.dump(stats, fh, indent=1)
    log(f"  {stats['posts']} POSTs, {alerts} alerts ({stats['achieved_rate']}/s), "
        f"non-2xx {stats['non2xx']} (connection errors {stats['errors']}), "
        f"resolves {stats['resolves']}, re-firings after resolve {stats['refires']}, "
        f"POST latency p50/p99/max {stats['latency_ms']['p50']}/{stats['latency_ms']['p99']}/"
        f"{stats['latency_ms']['max']} ms")
    return 3 if gone else 0


# ------------------------------------------------------------------------------------ report

METRICS = [  # (column, label, scale)
    ("rss_kib", "RSS (MiB)", 1 / 1024),
    ("fds", "open fds", 1),
    ("db_bytes", "DB size (MiB)", 1 / 1048576),
    ("queue_depth", "queue depth (alerts)", 1),
]


def read_csv(path):
    rows = []
    with open(path) as fh:
        for r in csv.DictReader(fh):
            rows.append({k: (float(v) if v != "" else None) for k, v in r.items()})
    return rows


def at(rows, t):
    """The sample nearest to t (seconds)."""
    return min(rows, key=lambda r: abs(r["t_seconds"] - t))


def slope_per_min(rows, col, t_from, t_to):
    pts = [(r["t_seconds"], r[col]) for r in rows
           if t_from <= r["t_seconds"] <= t_to and r[col] is not None]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return None if den == 0 else 60 * sum((p[0] - mx) * (p[1] - my) for p in pts) / den


def fmt(v, scale=1, digits=1):
    if v is None:
        return "-"
    v = v * scale
    return f"{v:.{digits}f}" if digits else f"{v:.0f}"


def plot(runs, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), sharex=True)
    colors = {"sqlite": "tab:blue", "postgres": "tab:orange"}
    for ax, (col, label, scale) in zip(axes.flat, METRICS):
        for backend, (rows, stats) in runs.items():
            xs = [r["t_seconds"] / 60 for r in rows if r[col] is not None]
            ys = [r[col] * scale for r in rows if r[col] is not None]
            ax.plot(xs, ys, marker=".", markersize=4, linewidth=1.4,
                    color=colors.get(backend), label=backend)
            ax.axvline(stats["load_seconds"] / 60, color=colors.get(backend), linestyle=":",
                       linewidth=1)
        ax.set_title(label)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
        if col in ("db_bytes", "queue_depth"):  # bottom row
            ax.set_xlabel("minutes since the load started (dotted: load stopped)")
        ax.legend(loc="best")
    s0 = next(iter(runs.values()))[1]
    achieved = ", ".join(f"{b} {st['achieved_rate']:g}/s" for b, (_, st) in runs.items())
    fig.suptitle(f"nightwatch soak: {s0['rate_target']:g} alerts/s target ({achieved}), "
                 f"{s0['fingerprints']} fingerprints, {s0['duration']:g} s of load", fontsize=13)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def cmd_report(args):
    runs = {}
    failures = []
    lines = []
    for backend in args.backends.split(","):
        try:
            with open(os.path.join(args.out, f"soak-{backend}.json")) as fh:
                stats = json.load(fh)
            rows = read_csv(os.path.join(args.out, f"soak-{backend}.csv"))
        except (OSError, ValueError) as e:
            rows, why = [], str(e)
        else:
            why = "no samples"
        if rows:
            runs[backend] = (rows, stats)
        else:
            lines += [f"### {backend}", "", f"- **No results**: {why}.", ""]
            failures.append(f"{backend}: no results ({why})")
    for backend, (rows, s) in runs.items():
        d = s["duration"]
        load = [r for r in rows if r["t_seconds"] <= d + 1] or rows
        end = rows[-1]
        lat = s["latency_ms"]
        lines += [
            f"### {backend}", "",
            f"- Load: {s['alerts_sent']} alerts in {s['posts']} POSTs over {s['load_seconds']} s: "
            f"**{s['achieved_rate']} alerts/s** achieved (target {s['rate_target']:g}), "
            f"{s['senders']} senders, {s['fingerprints']} fingerprints. POST latency p50 "
            f"{lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms.",
            f"- **Non-2xx: {s['non2xx']}** (of which connection errors {s['errors']}); "
            f"answers: {', '.join(f'{k}×{v}' for k, v in sorted(s['status_counts'].items()))}."
            + (f" Schedule reset after a >{MAX_LAG:.0f}s stall: {s['lag_resets']}×." if s["lag_resets"] else ""),
            f"- Alerts stored (nightwatch_alerts_received_total) at the end: "
            f"{fmt(end['alerts_received'], digits=0)} of {s['alerts_sent']} sent. Transitions: "
            f"{s['resolves']} resolutions, {s['refires']} re-firings after a resolve "
            f"(new occurrences); {s['resolved_sent']} alerts sent as resolved.",
            f"- Incidents by state at the end (nightwatch_incidents): "
            f"{', '.join(f'{k} {v}' for k, v in sorted(s.get('incidents', {}).items()) if v) or '-'}.",
            f"- Rows pruned by retention (nightwatch_pruned_rows_total): "
            + (", ".join(f"{k} {v}" for k, v in sorted(s["pruned"].items())) if s.get("pruned") is not None
               else "- (no such metric)") + ".",
            f"- Queue after the load: {'drained to 0' if s.get('drained') else '**not drained**'} "
            f"after {s.get('drain_seconds', '-')} s (final depth {s.get('final_queue_depth', '-')}).",
        ]
        if s.get("gone"):
            lines.append(f"- **{s['gone']}**")
        p10, p50 = at(load, 0.1 * d), at(load, 0.5 * d)
        lines += ["",
                  f"| {backend} | at 10% (t={p10['t_seconds']:.0f}s) | at 50% (t={p50['t_seconds']:.0f}s) "
                  f"| end (t={end['t_seconds']:.0f}s) | max | slope, 2nd half (/min) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for col, label, scale in METRICS:
            vals = [r[col] for r in rows if r[col] is not None]
            slope = slope_per_min(load, col, d / 2, d)
            digits = 1 if scale != 1 else 0
            lines.append(f"| {label} | {fmt(p10[col], scale, digits)} | {fmt(p50[col], scale, digits)} "
                         f"| {fmt(end[col], scale, digits)} | {fmt(max(vals) if vals else None, scale, digits)} "
                         f"| {'-' if slope is None else f'{slope * scale:+.2f}'} |")
        lines.append("")

        # --- checks
        if s.get("gone"):
            failures.append(f"{backend}: {s['gone']}")
        if s["non2xx"]:
            failures.append(f"{backend}: {s['non2xx']} POSTs failed "
                            f"({', '.join(f'{k}×{v}' for k, v in sorted(s['status_counts'].items()) if not k.startswith('2'))}); "
                            f"first: {s['first_failures'][:3]}")
        if not s.get("drained"):
            failures.append(f"{backend}: queue did not drain to 0 within the drain time after the load "
                            f"(depth {s.get('final_queue_depth')})")
        warm = next((r for r in load if r["t_seconds"] >= s["warmup"] and r["fds"] is not None), None)
        if warm and end["fds"] is not None and end["fds"] > warm["fds"] + 20:
            failures.append(f"{backend}: open fds grew from {warm['fds']:.0f} (t={warm['t_seconds']:.0f}s, "
                            f"after warm-up) to {end['fds']:.0f} at the end (limit +20)")
        r25 = at(load, 0.25 * d)
        if r25["rss_kib"] and end["rss_kib"]:
            limit = max(2 * r25["rss_kib"], r25["rss_kib"] + 64 * 1024)
            if end["rss_kib"] > limit:
                failures.append(f"{backend}: RSS grew from {r25['rss_kib'] / 1024:.1f} MiB "
                                f"(t={r25['t_seconds']:.0f}s) to {end['rss_kib'] / 1024:.1f} MiB at the end "
                                f"(limit {limit / 1024:.1f} MiB)")
    if args.png and runs:
        plot(runs, args.png)
    print("\n".join(lines))
    if args.check:
        if failures:
            print("CHECK: **failed**: " + "; ".join(failures))
            for f in failures:
                print(f"CHECK FAILED: {f}", file=sys.stderr)
            return 1
        print("CHECK: passed (no failed POSTs, queue drained, fds and RSS within limits).")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--backend", default="sqlite")
    lp.add_argument("--url", required=True)
    lp.add_argument("--pid", type=int, required=True)
    lp.add_argument("--csv", required=True)
    lp.add_argument("--stats", required=True)
    g = lp.add_mutually_exclusive_group(required=True)
    g.add_argument("--sqlite")
    g.add_argument("--pg-url")
    lp.add_argument("--duration", type=float, default=1800)
    lp.add_argument("--rate", type=float, default=200)
    lp.add_argument("--fingerprints", type=int, default=2000)
    lp.add_argument("--sample", type=float, default=10)
    lp.add_argument("--senders", type=int, default=4)
    lp.add_argument("--drain", type=float, default=120)
    lp.add_argument("--warmup", type=float, default=None,
                    help="fd baseline: first sample at or after this (default max(SAMPLE, 10%% of DURATION))")
    lp.add_argument("--seed", type=int, default=1)
    rp = sub.add_parser("report")
    rp.add_argument("--out", required=True)
    rp.add_argument("--backends", required=True)
    rp.add_argument("--png")
    rp.add_argument("--check", action="store_true")
    args = p.parse_args()
    if args.cmd == "load":
        if args.warmup is None:
            args.warmup = max(args.sample, 0.1 * args.duration)
        sys.exit(cmd_load(args))
    sys.exit(cmd_report(args))


if __name__ == "__main__":
    main()
