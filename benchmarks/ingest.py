"""Capture throughput over HTTP: acknowledged events/s, latency and memory of `loopwise serve`.

Starts `loopwise serve` on a free loopback port with a fresh data directory (write-ahead-log
mode: a request is answered once its events are fsynced), creates a project, then drives
`POST /batch/` from client processes, each running concurrent senders on keep-alive HTTP/1.1
connections. Every request is a batch of realistic PostHog events (page views with URLs,
referrers, UTM tags and sessions; custom events; `$set`; `$identify`) with fresh uuids.

Concurrency rises stage by stage. Per stage: acknowledged events/s, events/s the flusher moved
into DuckDB, acknowledgement latency (p50/p99), non-200 answers by status, the server's CPU
(all threads, its event-loop thread, its busiest other thread), the clients' CPU, the CPU of
everything else on the machine (a disturbed run shows there), the server's peak RSS, and the
flusher's backlog at the end. After the load: the time until everything acknowledged is in
DuckDB, a check that stored == acknowledged, and the ceiling on the same machine: the same
events turned into Arrow and appended to DuckDB directly, without HTTP.

Usage:
    python benchmarks/ingest.py
    python benchmarks/ingest.py --stages 1,4,16,32 --stage-seconds 15 --client-processes 2
    python benchmarks/ingest.py --stages 16 --stage-seconds 60   # a long stage to profile

The server's pid is printed at start, so a profiler can be attached during a stage, e.g.
    py-spy record --pid PID --duration 30 --rate 200 --format raw -o /tmp/ingest.txt
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import psutil
import pyarrow as pa

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import events_to_arrow
from loopwise.warehouse import open_warehouse

HOST = "127.0.0.1"
SITE = "cookbook.example.com"
UUID_MARK = "@@uuid@@"
SENT_MARK = "@@sent_at@@"

# --- realistic events ------------------------------------------------------------------------

CLIENTS = [  # browser, version, OS, device type, screen width, height
    ("Chrome", 131, "Mac OS X", "Desktop", 1512, 982),
    ("Chrome", 131, "Windows", "Desktop", 1920, 1080),
    ("Safari", 18.1, "iOS", "Mobile", 393, 852),
    ("Chrome", 130, "Android", "Mobile", 412, 915),
    ("Firefox", 133, "Windows", "Desktop", 1536, 864),
    ("Safari", 18.1, "Mac OS X", "Desktop", 1440, 900),
    ("Edge", 131, "Windows", "Desktop", 1366, 768),
]
REFERRERS = [
    ("$direct", "$direct"),
    ("$direct", "$direct"),
    ("https://www.google.com/", "www.google.com"),
    ("https://www.google.com/", "www.google.com"),
    ("https://www.pinterest.com/", "www.pinterest.com"),
    ("https://www.bing.com/", "www.bing.com"),
    ("https://news.ycombinator.com/", "news.ycombinator.com"),
    ("https://t.co/", "t.co"),
]
CAMPAIGNS = [
    ("google", "cpc", "winter_soups_2026"),
    ("newsletter", "email", "weekly_digest_47"),
    ("pinterest", "social", "holiday_baking"),
    ("facebook", "paid_social", "meal_prep_retargeting"),
]
RECIPES = [
    ("lemon-garlic-roast-chicken", "french"),
    ("one-pot-red-lentil-dal", "indian"),
    ("crispy-gochujang-tofu", "korean"),
    ("weeknight-pad-see-ew", "thai"),
    ("classic-margherita-pizza", "italian"),
    ("smoky-black-bean-tacos", "mexican"),
    ("miso-glazed-salmon", "japanese"),
    ("shakshuka-with-feta", "middle_eastern"),
    ("brown-butter-banana-bread", "american"),
    ("creamy-mushroom-risotto", "italian"),
]
SEARCHES = ["chicken thighs", "vegan dinner", "30 minute meals", "sourdough", "air fryer"]
STATIC_PAGES = ["/", "/recipes", "/search", "/collections", "/pricing", "/account"]
EVENT_KINDS = [
    "$pageview",
    "$pageleave",
    "recipe_viewed",
    "recipe_saved",
    "search_performed",
    "plan_upgraded",
    "$identify",
]
EVENT_WEIGHTS = [50, 10, 14, 10, 8, 3, 5]


def _uuid_text(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-a{h[17:20]}-{h[20:]}"


@dataclass
class User:
    user_id: str
    device_id: str
    identified: bool
    client: tuple[Any, ...]
    session_id: str
    campaign: tuple[str, str, str] | None
    referrer: tuple[str, str]
    saved: int = 0


def make_users(count: int, rng: random.Random) -> list[User]:
    return [
        User(
            user_id=f"usr_{rng.getrandbits(48):012x}",
            device_id=_uuid_text(rng),
            identified=rng.random() < 0.55,
            client=rng.choice(CLIENTS),
            session_id=_uuid_text(rng),
            campaign=rng.choice(CAMPAIGNS) if rng.random() < 0.25 else None,
            referrer=rng.choice(REFERRERS),
        )
        for _ in range(count)
    ]


def make_event(rng: random.Random, user: User, moment: datetime) -> dict[str, Any]:
    """One event as posthog-js sends it, with a placeholder for the uuid."""
    kind = rng.choices(EVENT_KINDS, EVENT_WEIGHTS)[0]
    if kind == "$identify":
        user.identified = True
    distinct_id = user.user_id if user.identified else user.device_id
    recipe, cuisine = rng.choice(RECIPES)
    path = f"/recipes/{recipe}" if rng.random() < 0.6 else rng.choice(STATIC_PAGES)
    browser, version, os_name, device, width, _ = user.client
    referrer, referring_domain = user.referrer
    props: dict[str, Any] = {
        "$os": os_name,
        "$browser": browser,
        "$browser_version": version,
        "$device_type": device,
        "$current_url": f"https://{SITE}{path}",
        "$pathname": path,
        "$screen_width": width,
        "$lib": "web",
        "$device_id": user.device_id,
        "$session_id": user.session_id,
        "$referrer": referrer,
        "$referring_domain": referring_domain,
        "$is_identified": user.identified,
    }
    if kind == "$pageview":
        props["title"] = recipe.replace("-", " ").capitalize() + " | Cookbook"
        if user.campaign is not None:
            source, medium, campaign = user.campaign
            props["$current_url"] += f"?utm_source={source}&utm_medium={medium}"
            props.update(utm_source=source, utm_medium=medium, utm_campaign=campaign)
    elif kind == "$pageleave":
        props["$prev_pageview_duration"] = round(rng.expovariate(1 / 40), 1)
        props["$prev_pageview_max_scroll_percentage"] = round(rng.random(), 2)
    elif kind == "recipe_viewed":
        props.update(recipe_id=recipe, cuisine=cuisine, total_minutes=rng.choice([20, 35, 60]))
    elif kind == "recipe_saved":
        user.saved += 1
        props.update(recipe_id=recipe, cuisine=cuisine, collection="weeknights", source="card")
        if rng.random() < 0.3:
            props["$set"] = {"saved_recipes": user.saved, "favourite_cuisine": cuisine}
    elif kind == "search_performed":
        props.update(query=rng.choice(SEARCHES), results=rng.randint(0, 120))
    elif kind == "plan_upgraded":
        plan = rng.choice(["plus", "family"])
        props.update(plan=plan, interval=rng.choice(["month", "year"]), price_usd=4.99)
        props["$set"] = {"plan": plan, "plan_since": moment.date().isoformat()}
    else:  # $identify: the anonymous device id becomes the user
        props["$anon_distinct_id"] = user.device_id
        props["$set"] = {"email": f"{user.user_id}@example.com", "signup_source": referring_domain}
    return {
        "event": kind,
        "distinct_id": distinct_id,
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "uuid": UUID_MARK,
        "properties": props,
    }


@dataclass
class Templates:
    """Request bodies as ``bytes % (uuid, ..., sent_at)`` templates, and their events."""

    bodies: list[bytes]
    events: list[list[dict[str, Any]]]
    batch: int
    event_bytes: float


def make_templates(write_key: str, count: int, batch: int, users: int, seed: int) -> Templates:
    rng = random.Random(seed)
    people = make_users(users, rng)
    activity = [rng.paretovariate(1.5) for _ in people]  # a few people are much more active
    now = datetime.now(UTC)
    bodies, batches, sizes = [], [], []
    for _ in range(count):
        chosen = rng.choices(people, activity, k=batch)
        events = [
            make_event(rng, person, now - timedelta(seconds=rng.uniform(0, 60)))
            for person in chosen
        ]
        events.sort(key=lambda e: e["timestamp"])
        body = {"api_key": write_key, "batch": events, "sent_at": SENT_MARK}
        raw = json.dumps(body, separators=(",", ":")).encode()
        sizes.append(len(raw) + batch * (36 - len(UUID_MARK)) + 24 - len(SENT_MARK))
        raw = raw.replace(b"%", b"%%")
        raw = raw.replace(f'"{UUID_MARK}"'.encode(), b'"%s"')
        raw = raw.replace(f'"{SENT_MARK}"'.encode(), b'"%s"')
        bodies.append(raw)
        batches.append(events)
    return Templates(bodies, batches, batch, sum(sizes) / len(sizes) / batch)


def uuid_prefix(nonce: int, process: int, stage: int, sender: int) -> bytes:
    """A canonical UUID text prefix unique to one sender in one stage; a 12-hex counter ends it."""
    return f"{nonce:08x}-{process:04x}-4{stage:03x}-8{sender:03x}-".encode()


# --- load generator (client processes) -------------------------------------------------------


@dataclass
class SenderLog:
    done: array[float] = field(default_factory=lambda: array("d"))
    latency: array[float] = field(default_factory=lambda: array("d"))
    accepted: array[int] = field(default_factory=lambda: array("l"))
    status: array[int] = field(default_factory=lambda: array("H"))
    errors: list[str] = field(default_factory=list)


def _connect(port: int) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    connection.connect()
    assert connection.sock is not None
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def _send_loop(
    port: int,
    templates: Templates,
    prefix: bytes,
    first: int,
    start_at: float,
    stop_at: float,
    log: SenderLog,
) -> None:
    connection = _connect(port)
    headers = {"Content-Type": "application/json"}
    bodies, batch = templates.bodies, templates.batch
    counter, index = 0, first
    time.sleep(max(0.0, start_at - time.monotonic()))
    while time.monotonic() < stop_at:
        ids = [prefix + b"%012x" % n for n in range(counter, counter + batch)]
        counter += batch
        sent_at = datetime.now(UTC).isoformat(timespec="milliseconds").encode()
        body = bodies[index % len(bodies)] % (*ids, sent_at)
        index += 1
        began = time.monotonic()
        try:
            connection.request("POST", "/batch/", body, headers)
            response = connection.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            log.errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = _connect(port)
            status, payload = 0, b""
        finished = time.monotonic()
        accepted = 0
        if status == 200:
            accepted = json.loads(payload)["accepted"]
        elif len(log.errors) < 20:
            log.errors.append(f"{status}: {payload[:200]!r}")
        log.done.append(finished)
        log.latency.append(finished - began)
        log.accepted.append(accepted)
        log.status.append(status)
        if status in (429, 503):
            time.sleep(min(float(response.getheader("Retry-After") or 1), 1.0))
    connection.close()


def client_process(
    process: int, port: int, nonce: int, templates: Templates, commands: Any, results: Any
) -> None:
    """Run the senders of each stage it is told about; report their logs and its CPU time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    while (command := commands.get()) is not None:
        stage, senders, start_at, stop_at = command
        cpu = time.process_time()
        logs = [SenderLog() for _ in range(senders)]
        threads = [
            threading.Thread(
                target=_send_loop,
                args=(
                    port,
                    templates,
                    uuid_prefix(nonce, process, stage, sender),
                    (process * 7919 + sender * 104729) % len(templates.bodies),
                    start_at,
                    stop_at,
                    log,
                ),
            )
            for sender, log in enumerate(logs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.put((process, logs, time.process_time() - cpu))


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPWISE_")}
    env.update(
        LOOPWISE_DATA_DIR=str(data_dir),
        LOOPWISE_PORT=str(port),
        LOOPWISE_HOST=HOST,
        LOOPWISE_LOG_LEVEL="WARNING",
        LOOPWISE_SECRET_KEY=secrets.token_urlsafe(48),
        LOOPWISE_INGEST_MODE="wal",
    )
    return env


def loopwise_json(env: dict[str, str], cwd: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "loopwise", *args, "--json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"loopwise {' '.join(args)} failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def wait_ready(server: subprocess.Popen[bytes], port: int, timeout: float = 90) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode} before ready")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server was not ready within {timeout:.0f} s")


class Counts:
    """Stored events of the project, through the REST API (one keep-alive connection)."""

    def __init__(self, port: int, project_id: int, token: str) -> None:
        self.port, self.path = port, f"/api/projects/{project_id}/events/count"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.connection: http.client.HTTPConnection | None = None

    def stored(self) -> int:
        for attempt in range(2):  # the server closes keep-alive connections idle for 5 s
            if self.connection is None:
                self.connection = _connect(self.port)
            try:
                self.connection.request("GET", self.path, headers=self.headers)
                response = self.connection.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        if response.status != 200:
            raise RuntimeError(f"events/count answered {response.status}: {body[:200]!r}")
        return int(json.loads(body)["count"])


class Sampler(threading.Thread):
    """The server's RSS every ``interval`` seconds."""

    def __init__(self, process: psutil.Process, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.process, self.interval = process, interval
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.process.memory_info().rss))
            except psutil.Error:
                return
            self.stop.wait(self.interval)

    def peak(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


@dataclass
class CpuSnapshot:
    at: float
    total: float
    threads: dict[int, float]


def cpu_snapshot(process: psutil.Process) -> CpuSnapshot:
    threads = {t.id: t.user_time + t.system_time for t in process.threads()}
    times = process.cpu_times()
    return CpuSnapshot(time.monotonic(), times.user + times.system, threads)


# --- one stage --------------------------------------------------------------------------------


@dataclass
class StageResult:
    concurrency: int
    seconds: float
    requests: int
    acked_in_window: int
    acked_total: int
    p50_ms: float
    p99_ms: float
    statuses: Counter[int]
    errors: list[str]
    server_cpu: float
    loop_cpu: float
    busiest_other_cpu: float
    client_cpu: float
    machine_cpu: float
    flushed: float
    peak_rss: int
    backlog: int
    last_ack: float

    @property
    def rate(self) -> float:
        return self.acked_in_window / self.seconds


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (i < total % parts) for i in range(parts)]


def run_stage(
    stage: int,
    concurrency: int,
    seconds: float,
    commands: list[Any],
    results: Any,
    server: psutil.Process,
    sampler: Sampler,
    counts: Counts,
    acked_before: int,
) -> StageResult:
    start_at = time.monotonic() + 1.0  # time for the senders to connect
    stop_at = start_at + seconds
    shares = split(concurrency, len(commands))
    for queue, senders in zip(commands, shares, strict=True):
        if senders:
            queue.put((stage, senders, start_at, stop_at))
    time.sleep(max(0.0, start_at - time.monotonic()))
    before = cpu_snapshot(server)
    psutil.cpu_percent()  # starts the machine-wide measurement
    stored_before, stored_since = counts.stored(), time.monotonic()
    time.sleep(max(0.0, stop_at - time.monotonic()))
    machine_cpu = psutil.cpu_percent() * (os.cpu_count() or 1)
    after = cpu_snapshot(server)
    stored_after = counts.stored()
    flushed = (stored_after - stored_before) / (time.monotonic() - stored_since)
    logs: list[SenderLog] = []
    client_cpu = 0.0
    for _ in range(sum(1 for s in shares if s)):
        _, process_logs, cpu = results.get()
        logs += process_logs
        client_cpu += cpu
    done = np.concatenate([np.frombuffer(log.done, dtype=np.float64) for log in logs])
    latency = np.concatenate([np.frombuffer(log.latency, dtype=np.float64) for log in logs])
    accepted = np.concatenate([np.array(log.accepted, dtype=np.int64) for log in logs])
    statuses: Counter[int] = Counter()
    for log in logs:
        statuses.update(log.status.tolist())
    in_window = (done >= start_at) & (done <= stop_at)
    wall = after.at - before.at
    pid = server.pid
    others = [after.threads[t] - before.threads.get(t, 0.0) for t in after.threads if t != pid] or [
        0.0
    ]
    acked_total = int(accepted.sum())
    return StageResult(
        concurrency=concurrency,
        seconds=seconds,
        requests=len(done),
        acked_in_window=int(accepted[in_window].sum()),
        acked_total=acked_total,
        p50_ms=float(np.percentile(latency, 50) * 1000) if len(latency) else 0.0,
        p99_ms=float(np.percentile(latency, 99) * 1000) if len(latency) else 0.0,
        statuses=statuses,
        errors=[e for log in logs for e in log.errors][:10],
        server_cpu=100 * (after.total - before.total) / wall,
        loop_cpu=100 * (after.threads.get(pid, 0.0) - before.threads.get(pid, 0.0)) / wall,
        busiest_other_cpu=100 * max(others) / wall,
        client_cpu=100 * client_cpu / seconds,
        machine_cpu=machine_cpu,
        flushed=flushed,
        peak_rss=sampler.peak(start_at, time.monotonic()),
        backlog=acked_before + acked_total - counts.stored(),
        last_ack=float(done.max()) if len(done) else stop_at,
    )


# --- the ceiling: the same events straight into DuckDB ---------------------------------------


def capture_events(events: list[dict[str, Any]], prefix: str, first: int) -> list[CaptureEvent]:
    """The CaptureEvents the PostHog parser would build from these dicts (no pipeline)."""
    built = []
    for offset, item in enumerate(events):
        properties = dict(item["properties"])
        built.append(
            CaptureEvent(
                event=item["event"],
                distinct_id=item["distinct_id"],
                timestamp=datetime.fromisoformat(item["timestamp"]),
                properties=properties,
                uuid=f"{prefix}{first + offset:012x}",
                set=properties.pop("$set", None),
            )
        )
    return built


def ceiling(templates: Templates, total: int, group: int, work: Path) -> dict[str, float]:
    """Events/s of: building CaptureEvents; Arrow append alone; events_to_arrow + append.

    Conversion is per request batch; appends are per request batch (``batch``) or, as the
    flusher does, per ``group`` rows concatenated.
    """
    count = max(1, total // templates.batch)
    prefix = f"{secrets.randbits(32):08x}-ffff-4fff-8fff-"
    started = time.perf_counter()
    batches = [
        capture_events(templates.events[i % len(templates.events)], prefix, i * templates.batch)
        for i in range(count)
    ]
    rates = {"build": count * templates.batch / (time.perf_counter() - started)}
    events = count * templates.batch
    received_at = datetime.now(UTC)
    per_group = max(1, group // templates.batch)

    def timed(name: str, run: Any) -> None:
        warehouse = open_warehouse(f"duckdb://{work / name}.duckdb", default_timeout_s=600)
        warehouse.migrate()
        started = time.perf_counter()
        run(warehouse)
        rates[name] = events / (time.perf_counter() - started)
        warehouse.close()

    tables = [events_to_arrow(1, batch, received_at) for batch in batches]
    groups = [pa.concat_tables(tables[i : i + per_group]) for i in range(0, len(tables), per_group)]
    timed("append_batch", lambda w: [w.append("events", t) for t in tables])
    timed("append_group", lambda w: [w.append("events", t) for t in groups])
    tables.clear()  # free the memory before the next runs
    groups.clear()

    def convert_group(w: Any) -> None:
        for i in range(0, len(batches), per_group):
            part = [events_to_arrow(1, b, received_at) for b in batches[i : i + per_group]]
            w.append("events", pa.concat_tables(part))

    def convert_batch(w: Any) -> None:
        for b in batches:
            w.append("events", events_to_arrow(1, b, received_at))

    timed("convert_append_batch", convert_batch)
    timed("convert_append_group", convert_group)
    return rates


# --- reporting --------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    system = platform.platform(terse=True)
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return (
        f"{model}, {platform.machine()}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, {system}, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"pyarrow {pa.__version__}"
    )


def statuses_text(statuses: Counter[int]) -> str:
    bad = {s: n for s, n in sorted(statuses.items()) if s != 200}
    return ", ".join(f"{s or 'conn err'}: {n}" for s, n in bad.items()) or "0"


def stage_line(r: StageResult) -> str:
    return (
        f"| {r.concurrency} | {r.requests:,} | **{r.rate:,.0f}** | {r.flushed:,.0f} | "
        f"{r.p50_ms:,.1f} | "
        f"{r.p99_ms:,.1f} | {statuses_text(r.statuses)} | {r.server_cpu:.0f} "
        f"(loop {r.loop_cpu:.0f}, next {r.busiest_other_cpu:.0f}) | {r.client_cpu:.0f} | "
        f"{max(0.0, r.machine_cpu - r.server_cpu - r.client_cpu):.0f} | "
        f"{r.peak_rss / 2**20:,.0f} | {r.backlog:,} |"
    )


STAGE_HEADER = (
    "| concurrent requests | requests | acked events/s | flushed events/s | p50 ms | p99 ms "
    "| non-200 "
    "| server CPU % (event loop, busiest other thread) | client CPU % | other CPU % "
    "| server peak RSS MB | flush backlog at end |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stages",
        default="1,4,16,32",
        help="concurrent requests per stage, comma-separated (default: 1,4,16,32)",
    )
    parser.add_argument("--stage-seconds", type=float, default=15.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--users", type=int, default=20_000, help="distinct people")
    parser.add_argument("--templates", type=int, default=500, help="distinct request bodies")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--ceiling-events", type=int, default=200_000)
    parser.add_argument(
        "--ceiling-group", type=int, default=10_000, help="rows per append, flusher-like"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    stages = [int(s) for s in args.stages.split(",") if s.strip()]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
    work = Path(tempfile.mkdtemp(prefix="loopwise-ingest-"))
    try:
        bench(args, stages, work)
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, stages: list[int], work: Path) -> None:
    data_dir = work / "data"
    port = free_port()
    env = server_env(data_dir, port)
    print(f"machine: {machine()}")
    print(f"data dir: {data_dir}")

    project = loopwise_json(env, work, "projects", "create", "Bench")
    loopwise_json(env, work, "users", "create", "bench@example.com", "--role", "owner")
    token = loopwise_json(env, work, "tokens", "create", "bench@example.com")["token"]
    started = time.perf_counter()
    templates = make_templates(
        project["write_key"], args.templates, args.batch, args.users, args.seed
    )
    print(
        f"templates: {len(templates.bodies)} bodies of {templates.batch} events, "
        f"{templates.event_bytes:.0f} bytes/event on the wire, "
        f"built in {time.perf_counter() - started:.1f} s"
    )

    context = mp.get_context("fork")
    results = context.Queue()
    commands = [context.Queue() for _ in range(args.client_processes)]
    nonce = secrets.randbits(32)
    clients = [
        context.Process(
            target=client_process,
            args=(i, port, nonce, templates, commands[i], results),
            daemon=True,
        )
        for i in range(args.client_processes)
    ]
    for client in clients:
        client.start()

    stderr_path = work / "server.stderr"
    server: subprocess.Popen[bytes] | None = None
    stage_results: list[StageResult] = []
    try:
        with stderr_path.open("wb") as stderr:
            server = subprocess.Popen(
                [sys.executable, "-m", "loopwise", "serve"],
                env=env,
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        ready = wait_ready(server, port)
        print(f"server pid {server.pid} on {HOST}:{port}, ready in {ready:.1f} s")
        process = psutil.Process(server.pid)
        sampler = Sampler(process)
        sampler.start()
        counts = Counts(port, project["id"], token)

        acked = 0
        print(f"\n{STAGE_HEADER}")
        for number, concurrency in enumerate(stages):
            result = run_stage(
                number,
                concurrency,
                args.stage_seconds,
                commands,
                results,
                process,
                sampler,
                counts,
                acked,
            )
            acked += result.acked_total
            stage_results.append(result)
            print(stage_line(result), flush=True)
            for error in result.errors[:3]:
                print(f"    e.g. {error}")

        last_ack = max(r.last_ack for r in stage_results)
        stored = counts.stored()
        deadline = time.monotonic() + args.drain_timeout
        while stored < acked and time.monotonic() < deadline:
            time.sleep(0.05)
            stored = counts.stored()
        drain = time.monotonic() - last_ack
        peak_rss = max(rss for _, rss in sampler.samples)
        sampler.stop.set()

        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=120)
        in_file = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
        file_rows, file_uuids = in_file.execute(
            "SELECT count(*), count(DISTINCT uuid) FROM events WHERE project_id = ?",
            [project["id"]],
        ).fetchone() or (0, 0)
        in_file.close()
    finally:
        for queue in commands:
            queue.put(None)
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for client in clients:
            client.join(timeout=5)
            if client.is_alive():
                client.kill()

    print(
        f"\nacknowledged: {acked:,}; stored (API): {stored:,}; "
        f"drained {drain:.2f} s after the last ack"
    )
    print(f"in events.duckdb after shutdown: {file_rows:,} rows, {file_uuids:,} distinct uuids")
    if not stored == file_rows == file_uuids == acked:
        print(
            "!!! MISMATCH: acknowledged, stored and distinct counts differ "
            f"(acked {acked:,}, API {stored:,}, file {file_rows:,}, uuids {file_uuids:,}) !!!"
        )
    log_lines = stderr_path.read_text(errors="replace").splitlines()
    print(f"server exit code {exit_code}; {len(log_lines)} line(s) on its stderr")
    for line in log_lines[:10]:
        print(f"    {line[:300]}")

    print(f"\nceiling: {args.ceiling_events:,} of the same events, no HTTP ...", flush=True)
    rates = ceiling(templates, args.ceiling_events, args.ceiling_group, work)
    best = max(stage_results, key=lambda r: r.rate)

    print(f"\nmachine: {machine()}")
    print(
        f"load: {', '.join(map(str, stages))} concurrent requests, {args.stage_seconds:g} s "
        f"each, {args.client_processes} client processes; {templates.batch} events/request, "
        f"{templates.event_bytes:.0f} bytes/event; server peak RSS {peak_rss / 2**20:,.0f} MB"
    )
    print(f"\n{STAGE_HEADER}")
    for result in stage_results:
        print(stage_line(result))
    verdict = "OK" if stored == file_rows == file_uuids == acked else "**MISMATCH**"
    print(
        f"\n| after the load | value |\n|---|---|\n"
        f"| acknowledged events | {acked:,} |\n"
        f"| stored events (API / file / distinct uuids) | {stored:,} / {file_rows:,} / "
        f"{file_uuids:,} ({verdict}) |\n"
        f"| drained (stored == acknowledged) after the last ack | {drain:.2f} s |"
    )
    group = f"{args.ceiling_group:,}-row appends"
    per = f"{templates.batch}-row appends"
    print(
        f"\n| ceiling, same machine, no HTTP | events/s | HTTP best ({best.rate:,.0f}/s) "
        f"as % |\n|---|---|---|\n"
        f"| build CaptureEvents from the dicts (not in the rows below) | {rates['build']:,.0f} "
        f"| |"
    )
    for key, label in (
        ("append_batch", f"(a) Arrow append alone, {per}"),
        ("append_group", f"(a) Arrow append alone, {group}"),
        ("convert_append_batch", f"(b) events_to_arrow + append, {per}"),
        ("convert_append_group", f"(b) events_to_arrow + append, {group}"),
    ):
        print(f"| {label} | {rates[key]:,.0f} | {100 * best.rate / rates[key]:.0f}% |")


if __name__ == "__main__":
    main()
