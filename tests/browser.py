"""A real headless browser for the tests: Debian's chromium, driven over the DevTools protocol
through its --remote-debugging-pipe (file descriptors 3 and 4, JSON messages ended by NUL), so
no driver or client library is needed. It loads a page, collects every uncaught exception and
console or log error, evaluates JavaScript in the page and takes screenshots."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)


class Browser:
    """One chromium process with one page; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 1000):
        self._to_browser, self._from_browser = os.pipe(), os.pipe()
        self._profile = tempfile.mkdtemp(prefix="chromium-")
        to_read, from_write = self._to_browser[0], self._from_browser[1]

        def fds():  # the browser reads commands on fd 3 and writes replies on fd 4
            for fd, wanted in ((to_read, 3), (from_write, 4)):
                if fd == wanted:  # dup2 onto itself would keep close-on-exec
                    os.set_inheritable(fd, True)
                else:
                    os.dup2(fd, wanted)

        args = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        # (close_fds would close 3 and 4 again after fds() ran)
        self.proc = subprocess.Popen(
            args, preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        os.close(to_read)
        os.close(from_write)
        self._buffer, self._next, self.events, self.session = b"", 0, [], None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        os.close(self._to_browser[1])
        os.close(self._from_browser[0])
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, timeout: float = 30, **params) -> dict:
        """Call a DevTools method (on the page once attached); return its result."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser[1], json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)
        raise TimeoutError(f"{method}: no reply in {timeout} s")

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_browser[0], 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str, ready: str, timeout: float = 30) -> None:
        """Load `url` and wait until the JavaScript expression `ready` is true."""
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not self.evaluate(ready):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: {ready} never became true")
            time.sleep(0.2)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Every uncaught exception, console.error and browser log error seen so far."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"{p['entry']['text']} ({p['entry'].get('url', '')})")
        return out

    def screenshot(self, path: Path | str) -> bytes:
        """The page as the browser draws it, written to `path` as PNG."""
        png = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        Path(path).write_bytes(png)
        return png
