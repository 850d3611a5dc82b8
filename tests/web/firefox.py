"""Stock Firefox (Debian's `firefox-esr`) driven over WebDriver BiDi, the W3C protocol Firefox
speaks itself on `--remote-debugging-port`.

Playwright drives only its own patched Firefox (which `playwright install` would download) or,
over BiDi, a Firefox newer than Debian's ESR; Selenium needs geckodriver, which Debian does not
package. So the few commands the Firefox journey needs are sent here directly: open a page,
run a script in it, type keys, and collect what the page logged. The `websockets` package
carries the protocol.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "/usr/bin/firefox-esr"
# A quiet profile: no first-run pages, updates, telemetry or safe-browsing lookups (the tests
# run offline, and every request a page makes is checked to go to the server under test).
PREFERENCES = {
    "app.update.disabledForTesting": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "intl.accept_languages": "id-ID, id",
}
KEYS = {"Enter": "\ue007", "Tab": "\ue004"}


class BidiError(RuntimeError):
    pass


class Firefox:
    """One headless Firefox with one tab."""

    def __init__(self, executable: str = FIREFOX, timeout: float = 60.0) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="ebookserver-firefox-"))
        (self.profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n" for name, value in PREFERENCES.items())
        )
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-remote", "--remote-debugging-port=0", "--profile", str(self.profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.output: list[str] = []
        address = self._listening_address(timeout)
        threading.Thread(target=self._drain, daemon=True).start()
        self._closing = contextlib.ExitStack()
        self.socket = self._closing.enter_context(connect(f"{address}/session", max_size=None, open_timeout=timeout))
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.command("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})
        self.context = self.command("browsingContext.getTree", {})["contexts"][0]["context"]
        self.command("session.subscribe", {"events": ["log.entryAdded", "browsingContext.userPromptOpened"]})

    def _listening_address(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            self.output.append(line)
            found = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
            if found:
                return found.group(1)
        self.close()
        raise BidiError("Firefox did not start its WebDriver BiDi server:\n" + "".join(self.output[-20:]))

    def _drain(self) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed by close()
            for line in self.process.stderr:
                self.output.append(line)

    # --- the protocol ------------------------------------------------------------------

    def command(self, method: str, params: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message.get("type") == "event":
                self.events.append(message)
                if message["method"] == "browsingContext.userPromptOpened":  # a script's alert()
                    self._dismiss(message["params"]["context"])
                continue
            if message.get("id") != number:
                continue
            if message.get("type") == "error":
                raise BidiError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message["result"]

    def _dismiss(self, context: str) -> None:
        number = next(self.ids)
        params = {"context": context, "accept": False}
        self.socket.send(json.dumps({"id": number, "method": "browsingContext.handleUserPrompt", "params": params}))

    # --- what the tests use --------------------------------------------------------------

    def goto(self, url: str) -> None:
        self.command("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able results: use JSON.stringify
        for objects); a thrown error fails the test with its message."""
        result = self.command(
            "script.evaluate",
            {"expression": expression, "target": {"context": self.context}, "awaitPromise": True},
        )
        if result["type"] == "exception":
            raise BidiError(f"{expression}: {result['exceptionDetails']['text']}")
        return _value(result["result"])

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll until *expression* is truthy (a page load after a click, a script's work)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(BidiError):  # the page may be between documents
                value = self.evaluate(expression)
                if value:
                    return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}")
            time.sleep(0.1)

    def type(self, text: str) -> None:
        """Type *text* (or a name in KEYS) into whatever has the focus, as keystrokes."""
        keys = KEYS.get(text, text)
        actions = [
            action for key in keys for action in ({"type": "keyDown", "value": key}, {"type": "keyUp", "value": key})
        ]
        self.command(
            "input.performActions",
            {"context": self.context, "actions": [{"type": "key", "id": "keyboard", "actions": actions}]},
        )

    def page_errors(self) -> list[str]:
        """JavaScript errors the pages logged so far."""
        return [
            event["params"].get("text", "")
            for event in self.events
            if event["method"] == "log.entryAdded" and event["params"].get("level") == "error"
        ]

    def prompts(self) -> list[str]:
        return [event["params"].get("message", "") for event in self.events if event["method"].endswith("PromptOpened")]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.command("browser.close", {}, timeout=10)
        with contextlib.suppress(Exception):
            self._closing.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def _value(remote: dict[str, Any]) -> Any:
    """A BiDi RemoteValue as Python (primitives and arrays of them)."""
    kind = remote["type"]
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [_value(item) for item in remote.get("value", [])]
    if kind in ("string", "boolean", "number"):
        return remote["value"]
    return remote  # an object or node: the caller asked for something it cannot read here
