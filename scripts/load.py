#!/usr/bin/env python3
"""Load test of the HTTP API (not a unit test): N concurrent clients on loopback, each asking M distinct questions
from a question file, one request at a time; prints throughput, latency percentiles and the error count.

The easy path starts a fresh server itself (a `gpskb serve` subprocess on a free port, stopped at the end):

    .venv/bin/python scripts/load.py --spawn                              # 1 client x 20 questions
    .venv/bin/python scripts/load.py --spawn --clients 50 --questions-per-client 20

or point it at a running server:  scripts/load.py --url http://127.0.0.1:8000 --token "$GPSKB_API_TOKEN"

Client i asks questions i*M .. i*M+M-1 of the file's distinct questions (wrapping around), so each client's
questions are distinct and the clients together cover the file. Requests are bounded: at most --clients x
--questions-per-client of them, each with a --timeout, and the whole run stops after --max-seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from gpskb.bench import percentile

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "eval" / "caizong-questions.yaml"
MAX_CLIENTS = 500
MAX_PER_CLIENT = 1000
WORKER_READY = re.compile(r"worker \d+ ready")  # the line each worker of `gpskb serve --workers N` logs
TARGETS = {"single_p50_ms": 30.0, "throughput": 60.0, "p95_ms": 1500.0}


def load_questions(path: Path) -> list[str]:
    """The distinct `q` fields of a question file (the format of eval/dev-questions.yaml), in file order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a list of questions")
    qs = [str(item["q"]) for item in data if isinstance(item, dict) and item.get("q") is not None]
    qs = list(dict.fromkeys(qs))
    if not qs:
        raise SystemExit(f"{path}: no questions (field q)")
    return qs


# -- the server, when --spawn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpawnedServer:
    """`gpskb serve` on a free loopback port, its output in a log file; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, token: str | None, policy_dir: str | None, index_dir: str | None, startup_timeout: float,
                 workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="gpskb-serve-", suffix=".log")[1])
        exe = Path(sys.executable).with_name("gpskb")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gpskb.cli"]
        if policy_dir:
            cmd += ["--policy-dir", policy_dir]
        if index_dir:
            cmd += ["--index-dir", index_dir]
        cmd += ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        env = dict(os.environ)
        env.pop("GPSKB_API_TOKEN", None)
        if token:
            env["GPSKB_API_TOKEN"] = token
        self.cmd = cmd
        self.workers = workers
        self.env = env
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        t0 = time.monotonic()
        deadline = t0 + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.__exit__(None, None, None)
                raise SystemExit(f"gpskb serve exited with {self.proc.returncode}; log:\n{self.log_path.read_text()}")
            try:
                ready = httpx.get(self.url + "/healthz", timeout=2).status_code == 200
                # with workers, every one of them has said it is ready (the first answers /healthz before the rest)
                if ready and (self.workers < 2 or len(WORKER_READY.findall(self.log_path.read_text(errors="replace")))
                              >= self.workers):
                    print(f"spawned `{' '.join(self.cmd[-7:])}` (pid {self.proc.pid}), ready in "
                          f"{time.monotonic() - t0:.1f} s; server log: {self.log_path}")
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit(f"gpskb serve not ready after {self.startup_timeout:.0f} s; log: {self.log_path}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        return False


# -- the clients -------------------------------------------------------------------------------------------------


async def client(i: int, url: str, questions: list[str], per_client: int, headers: dict, timeout: float,
                 latencies: list, server_ms: list, errors: list, shed: list):
    """One client asking its questions one at a time. A 503 with Retry-After (the server shedding load) is counted
    and the question asked again after the pause it names, as a well-behaved client does; any other failure is an
    error."""
    n = len(questions)
    mine = [questions[(i * per_client + j) % n] for j in range(per_client)]
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, limits=limits) as http:
        for q in mine:
            while True:
                t0 = time.perf_counter()
                try:
                    r = await http.post("/api/v1/ask", json={"question": q})
                    ms = (time.perf_counter() - t0) * 1000
                    if r.status_code == 503 and "retry-after" in r.headers:
                        shed.append(ms)
                        await asyncio.sleep(float(r.headers["retry-after"]))
                        continue
                    body = r.json() if r.status_code == 200 else None
                    if r.status_code != 200 or not isinstance(body, dict) or "verdict" not in body:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                        break
                    latencies.append(ms)
                    server_ms.append((body.get("timings_ms") or {}).get("total", float("nan")))
                except (httpx.HTTPError, ValueError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                break


async def probe_health(url: str, health_ms: list, stop: asyncio.Event) -> None:
    """/healthz every 0.2 s while the clients run (a load balancer's probe): its latencies."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                r = await http.get("/healthz")
                if r.status_code == 200:
                    health_ms.append((time.perf_counter() - t0) * 1000)
            except httpx.HTTPError:
                pass
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except TimeoutError:
                pass


async def run(args, url: str, questions: list[str]) -> dict:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    latencies: list[float] = []
    server_ms: list[float] = []
    errors: list[str] = []
    shed: list[float] = []
    health_ms: list[float] = []
    stop = asyncio.Event()
    prober = asyncio.create_task(probe_health(url, health_ms, stop))
    tasks = [asyncio.create_task(client(i, url, questions, args.questions_per_client, headers, args.timeout,
                                        latencies, server_ms, errors, shed)) for i in range(args.clients)]
    t0 = time.perf_counter()
    done, pending = await asyncio.wait(tasks, timeout=args.max_seconds)
    wall = time.perf_counter() - t0
    stop.set()
    await prober
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        if t.exception():
            errors.append(f"client crashed: {t.exception()!r}")
    expected = args.clients * args.questions_per_client
    missing = expected - len(latencies) - len(errors)
    if missing > 0:
        errors += [f"not answered within --max-seconds {args.max_seconds:g}"] * missing
    return {"latencies": latencies, "server_ms": server_ms, "errors": errors, "wall": wall, "expected": expected,
            "shed": shed, "health_ms": health_ms}


def report(args, res: dict, distinct: int) -> int:
    lat, errs = res["latencies"], res["errors"]
    ok = len(lat)
    thr = ok / res["wall"] if res["wall"] > 0 else float("nan")
    p50, p95 = percentile(lat, 50), percentile(lat, 95)
    srv = [x for x in res["server_ms"] if x == x]
    print(f"clients {args.clients} x {args.questions_per_client} questions = {res['expected']} requests "
          f"({distinct} distinct questions in the run) from {', '.join(str(f) for f in args.file)}")
    print(f"answers:     {ok} in {res['wall']:.2f} s")
    print(f"throughput:  {thr:.1f} answers/s")
    print(f"latency:     p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {max(lat) if lat else float('nan'):.1f} ms")
    if srv:
        print(f"engine time: p50 {percentile(srv, 50):.1f} ms   p95 {percentile(srv, 95):.1f} ms   "
              f"(timings_ms.total inside the server; the rest is HTTP and queueing)")
    shed, health = res["shed"], res["health_ms"]
    print(f"shed:        {len(shed)} requests answered 503 + Retry-After and asked again"
          + (f" (refused in p95 {percentile(shed, 95):.1f} ms)" if shed else ""))
    if health:
        print(f"/healthz:    p50 {percentile(health, 50):.1f} ms   p95 {percentile(health, 95):.1f} ms "
              f"({len(health)} probes during the run)")
    print(f"errors:      {len(errs)} (HTTP errors other than a 503 with Retry-After, failed connections)")
    for e in list(dict.fromkeys(errs))[:5]:
        print(f"  {e}")
    if args.clients == 1:
        print(f"target (1 client):   p50 <= {TARGETS['single_p50_ms']:g} ms: "
              f"{'ok' if p50 <= TARGETS['single_p50_ms'] else 'MISS'}")
    else:
        checks = [("zero errors", not errs),
                  (f"throughput >= {TARGETS['throughput']:g}/s", thr >= TARGETS["throughput"]),
                  (f"p95 <= {TARGETS['p95_ms']:g} ms", p95 <= TARGETS["p95_ms"])]
        print(f"targets ({args.clients} clients): " + ", ".join(f"{n}: {'ok' if c else 'MISS'}" for n, c in checks))
    return 1 if errs else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the API (default %(default)s; ignored with --spawn)")
    p.add_argument("--clients", type=int, default=1, help="concurrent clients (default %(default)s)")
    p.add_argument("--questions-per-client", type=int, default=20,
                   help="questions each client asks (default %(default)s)")
    p.add_argument("--file", type=Path, nargs="+", default=[DEFAULT_FILE],
                   help="question files, field q (default eval/caizong-questions.yaml); their distinct questions together")
    p.add_argument("--token", default=os.environ.get("GPSKB_API_TOKEN"),
                   help="bearer token (default $GPSKB_API_TOKEN; with --spawn the server is given it too)")
    p.add_argument("--spawn", action="store_true", help="start `gpskb serve` on a free port for the run, stop it after")
    p.add_argument("--workers", type=int, default=1, help="with --spawn: `gpskb serve --workers N` (default %(default)s)")
    p.add_argument("--policy-dir", help="with --spawn: the server's policy folder")
    p.add_argument("--index-dir", help="with --spawn: the server's index folder (default: built in a scratch folder)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default %(default)s)")
    p.add_argument("--max-seconds", type=float, default=300.0,
                   help="stop the whole run after this (default %(default)s)")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="with --spawn: seconds to wait for /healthz")
    args = p.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be 1..{MAX_CLIENTS}")
    if not 1 <= args.questions_per_client <= MAX_PER_CLIENT:
        p.error(f"--questions-per-client must be 1..{MAX_PER_CLIENT}")
    questions = list(dict.fromkeys(q for f in args.file for q in load_questions(f)))
    if args.clients * args.questions_per_client > len(questions):
        print(f"note: the files hold {len(questions)} distinct questions; some are asked more than once (cached)")
    distinct = len({questions[(i * args.questions_per_client + j) % len(questions)]
                    for i in range(args.clients) for j in range(args.questions_per_client)})
    if args.spawn:
        # the spawned server builds its own index in a scratch folder unless told otherwise: a load test never
        # rewrites the project's index/ (which `gpskb serve` does when the policy texts changed under it)
        with tempfile.TemporaryDirectory(prefix="gpskb-load-index-") as scratch:
            index_dir = args.index_dir or scratch
            with SpawnedServer(args.token, args.policy_dir, index_dir, args.startup_timeout, args.workers) as server:
                res = asyncio.run(run(args, server.url, questions))
    else:
        res = asyncio.run(run(args, args.url.rstrip("/"), questions))
    return report(args, res, distinct)


if __name__ == "__main__":
    sys.exit(main())
