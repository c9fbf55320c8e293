"""A small Chrome DevTools Protocol client over Chromium's --remote-debugging-pipe, standard library only.

Chromium reads commands on file descriptor 3 and writes answers and events on descriptor 4, each a JSON
message ended by a NUL byte. One browser process, one page (a target in a browser context of its own, so each
page has its own sessionStorage) per `Browser.page()`. Used by scripts/accessibility-check.
"""
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, chromium=None, timeout=30.0):
        self.chromium = chromium or next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.access(p, os.X_OK)), None)
        if not self.chromium:
            raise CDPError("chromium is not installed (scripts/setup installs it)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="muster-cdp-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # The child gets the pipe ends as 3 (it reads) and 4 (it writes).
        # (Duplicated first, in case either end already is 3 or 4; closing other descriptors comes after this.)
        def arrange():
            reads, writes = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(reads, 3)
            os.dup2(writes, 4)
        self.process = subprocess.Popen(
            [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars", "--mute-audio",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=arrange, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.write_fd, self.read_fd = to_browser_w, from_browser_r
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self.write_fd, self.read_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("no answer from chromium in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise CDPError("chromium closed the pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.write_fd, data):]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise CDPError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def context(self):
        """A browser context of its own (like a separate profile: its own storage, connections and workers)."""
        return self.send("Target.createBrowserContext")["browserContextId"]

    def page(self, width=1280, height=900, context=None):
        """A new tab: in `context` (tabs of one browser window share its connections and shared workers), else in
        a context of its own that closing the page disposes of."""
        owned = context is None
        context = context or self.context()
        target = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target, context if owned else None)
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.viewport(width, height)
        return page


class Page:
    def __init__(self, browser, session, target, context):
        self.browser, self.session, self.target, self.context = browser, session, target, context

    def send(self, method, params=None, timeout=None):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def close(self):
        self.browser.send("Target.closeTarget", {"targetId": self.target})
        if self.context:
            self.browser.send("Target.disposeBrowserContext", {"browserContextId": self.context})

    def viewport(self, width, height, mobile=False):
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def headers(self, headers):
        self.send("Network.enable")
        self.send("Network.setExtraHTTPHeaders", {"headers": headers})

    def goto(self, url):
        self.send("Page.navigate", {"url": url})

    def eval(self, expression, timeout=None):
        """The value of a JavaScript expression (a promise is awaited); raises on an exception in the page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True,
                                                "userGesture": True}, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(f"{expression[:80]}…: {details.get('exception', {}).get('description') or details.get('text')}")
        return result["result"].get("value")

    def wait(self, expression, timeout=10.0, what=None):
        """Waits until the expression is truthy (polled every 50 ms); returns its value or raises."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.eval(expression)
            except CDPError:
                value = None
            if value is not None and value is not False and value != 0 and value != "":   # an element comes back as {}
                return value
            if time.monotonic() > deadline:
                raise CDPError(f"timed out waiting for {what or expression}")
            time.sleep(0.05)

    # Keys as a person presses them: trusted events, so Tab moves focus and Enter/Space activate.
    KEYS = {"Tab": (9, "", "Tab"), "Enter": (13, "\r", "Enter"), " ": (32, " ", "Space"), "Escape": (27, "", "Escape")}

    def press(self, key, shift=False):
        code, text, name = self.KEYS[key]
        base = {"key": key, "code": name, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code,
                "modifiers": 8 if shift else 0}
        self.send("Input.dispatchKeyEvent", dict(base, type="keyDown" if text else "rawKeyDown", **({"text": text} if text else {})))
        self.send("Input.dispatchKeyEvent", dict(base, type="keyUp"))

    def type(self, text):
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path):
        import base64
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
