"""The clients of bench/load.py, run in a process of their own so that their CPU time is
measured apart from the server's (and reported: on two shared cores they compete with it).

    python bench/_load_clients.py PLAN.json PORT CLIENTS SECONDS MAX_REQUESTS THINK WEIGHTS OUT.json

Each client is a thread with one keep-alive connection and its own cookies, signed in as its
own member. It runs scenarios drawn by weight: a search, a browse page, a record page, a
reading page (with the page image of a PDF), borrowing a lent title, reading it and giving it
back, a kiosk screen, or a reference request (/healthz, a stylesheet). Every request's time
is kept by kind; anything but 2xx/3xx, a timeout or a broken connection is an error. A full
title is not an error: the patron joins the queue and leaves it, counted as `queued`.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from http.cookies import SimpleCookie

TIMEOUT = 30.0
WINDOW_SECONDS = 30
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
PAGE_IMAGE = re.compile(r'src="(/baca/\d+/\d+\.png[^"]*)"')
RETURNS = re.compile(r'action="/kembalikan/(\d+)"')
HOLDS = re.compile(r'action="/antrean/(\d+)/batal"')


class Stop(Exception):
    """The time or the request budget ran out."""


class Budget:
    """The run's bounds, shared by the clients: a deadline and a number of requests."""

    def __init__(self, seconds: float, max_requests: int) -> None:
        self.started = time.perf_counter()
        self.deadline = self.started + seconds
        self.left = max_requests
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            if self.left <= 0 or time.perf_counter() >= self.deadline:
                raise Stop
            self.left -= 1


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.outcomes: dict[str, int] = defaultdict(int)
        self.timeline: list[tuple[float, float, bool]] = []  # (seconds since start, ms, error)

    def add(self, kind: str, elapsed_ms: float, error: str | None, at: float) -> None:
        with self.lock:
            self.latencies[kind].append(elapsed_ms)
            self.timeline.append((at, elapsed_ms, error is not None))
            if error:
                self.errors[kind] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{kind}: {error}")

    def outcome(self, name: str) -> None:
        with self.lock:
            self.outcomes[name] += 1


class Client:
    """One patron with a browser: a keep-alive connection and a cookie jar."""

    def __init__(self, port: int, budget: Budget, results: Results) -> None:
        self.port, self.budget, self.results = port, budget, results
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, kind: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """Status, Location and body; (0, '', '') when the request failed (counted)."""
        self.budget.take()
        headers = {"Accept-Language": "id"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        begun = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            self.connection.request("POST" if form is not None else "GET", path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.results.add(
                kind,
                (time.perf_counter() - begun) * 1000,
                f"{type(error).__name__} {path}",
                begun - self.budget.started,
            )
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            return 0, "", ""
        elapsed = (time.perf_counter() - begun) * 1000
        status = response.status
        self._keep_cookies(response.msg.get_all("Set-Cookie") or [])
        error = None if 200 <= status < 400 else f"{status} {path}"
        self.results.add(kind, elapsed, error, begun - self.budget.started)
        location = urllib.parse.urlsplit(response.getheader("Location") or "")
        where = location.path + ("#" + location.fragment if location.fragment else "")
        if response.will_close:
            self.connection.close()
            self.connection = None
        return status, where, content.decode("utf-8", "replace")

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"] or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def token(self, kind: str, path: str) -> str | None:
        status, _where, body = self.request(kind, path)
        found = TOKEN.search(body) if status == 200 else None
        return (found.group(1) or found.group(2)) if found else None

    # --- scenarios ---------------------------------------------------------------------------

    def sign_in(self, number: str, pin: str) -> None:
        token = self.token("sign-in", "/masuk")
        if token:
            status, _where, _ = self.request("sign-in", "/masuk", {"number": number, "pin": pin, "csrf_token": token})
            self.results.outcome("signed_in" if status == 302 else "sign_in_refused")
        status, _where, body = self.request("lending", "/akun")
        tidy = [f"/kembalikan/{n}" for n in RETURNS.findall(body)] + [
            f"/antrean/{n}/batal" for n in HOLDS.findall(body)
        ]
        token = TOKEN.search(body)
        for path in tidy:  # left over from a run that was stopped
            self.request("lending", path, {"csrf_token": token.group(1) or token.group(2)})

    def borrow_read_return(self, record_id: int, number: str, pin: str, rendered: bool) -> None:
        token = self.token("lending", f"/buku/{record_id}")
        if token is None:
            return
        status, where, _ = self.request("lending", f"/pinjam/{record_id}", {"csrf_token": token})
        if where.startswith("/masuk"):
            self.results.outcome("signed_out")
            self.sign_in(number, pin)
            return
        if where.startswith("/akun"):
            self.results.outcome("queued")
            self.request("lending", f"/antrean/{record_id}/batal", {"csrf_token": token})
            return
        if not where.startswith("/baca/"):
            self.results.outcome("refused" if status == 302 else "borrow_failed")
            return
        self.results.outcome("borrowed")
        status, where, _ = self.request("lending", where)
        if status == 302:
            status, _where, page = self.request("reading", where)
            for image in PAGE_IMAGE.findall(page)[:1] if rendered else []:
                self.request("reading", image.replace("&amp;", "&"))
        status, where, _ = self.request("lending", f"/kembalikan/{record_id}", {"csrf_token": token})
        self.results.outcome("returned" if status == 302 and where.startswith("/akun") else "return_failed")

    def run(self, plan: dict, number: str, weights: dict[str, float], think: float, seed: int) -> None:
        rng = random.Random(seed)
        kinds, cumulative = list(weights), list(weights.values())
        attached = set(plan["attached"])  # lent titles with a real PDF: their page image is drawn
        try:
            self.sign_in(number, plan["pin"])
            while True:
                kind = rng.choices(kinds, cumulative)[0]
                if kind == "lending":
                    record_id = rng.choice(plan["lent"])
                    self.borrow_read_return(record_id, number, plan["pin"], record_id in attached)
                elif kind == "reading":
                    for path in rng.choice(plan["reading"]):
                        self.request("reading", path)
                else:
                    self.request(kind, rng.choice(plan[kind]))
                if think:
                    time.sleep(min(rng.expovariate(1 / think), think * 5))
        except Stop:
            pass
        finally:
            if self.connection is not None:
                self.connection.close()


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))], 1)


def figures(values: list[float], errors: int = 0) -> dict:
    return {
        "n": len(values),
        "errors": errors,
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": round(max(values), 1) if values else None,
    }


def run(plan: dict, port: int, clients: int, seconds: float, max_requests: int, think: float, weights: dict) -> dict:
    budget, results = Budget(seconds, max_requests), Results()
    cpu_before = os.times()
    threads = [
        threading.Thread(
            target=Client(port, budget, results).run,
            args=(plan, plan["members"][number % len(plan["members"])], weights, think, number),
            daemon=True,
        )
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - budget.started
    cpu_after = os.times()
    every = [ms for values in results.latencies.values() for ms in values]
    windows = defaultdict(list)
    for at, ms, _error in results.timeline:
        windows[int(at // WINDOW_SECONDS)].append(ms)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "requests_per_s": round(len(every) / elapsed, 1) if elapsed else None,
        "all": figures(every, sum(results.errors.values())),
        "kinds": {kind: figures(values, results.errors[kind]) for kind, values in sorted(results.latencies.items())},
        "lending": dict(results.outcomes),
        "error_samples": results.samples,
        "windows": [
            {"from_s": key * WINDOW_SECONDS, "requests": len(values), "p95": percentile(values, 0.95)}
            for key, values in sorted(windows.items())
        ],
        "client_cpu_s": round((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 1),
    }


def main() -> None:
    plan_path, port, clients, seconds, max_requests, think, weights, out = sys.argv[1:9]
    with open(plan_path, encoding="utf-8") as file:
        plan = json.load(file)
    result = run(plan, int(port), int(clients), float(seconds), int(max_requests), float(think), json.loads(weights))
    with open(out, "w", encoding="utf-8") as file:
        json.dump(result, file)


if __name__ == "__main__":
    main()
