"""A real browser on the console of a real server.

Debian's Chromium (``/usr/bin/chromium``, installed by ``make test``) is driven by
Playwright; Playwright never downloads a browser here. One browser serves the whole
session; each test gets a fresh context (its own tab storage, so a token kept by one test
is unknown to the next). The server is the installed command, ``serve --http-listen``, on
free ports, as users start it.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.support.server_process import COMMAND, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
# Headless and quiet: no sandbox (tests may run as root), no GPU, and no calls home
# (updates, sync, QUIC probes), since the machine reaches nothing but the loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A laptop's screen.
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
# The folder a reviewer looks in (gitignored); every run overwrites its pictures.
SCREENSHOTS = Path(__file__).parent / "screenshots"

SERVE = [
    COMMAND,
    "serve",
    "--listen",
    "127.0.0.1:0",
    "--http-listen",
    "127.0.0.1:0",
    "--storage",
    "memory://",
]
_HTTP_LISTENING = re.compile(r"event=http_listening address=\S+ port=(\d+)")

# Expectations and actions wait on their condition up to this deadline: long enough for
# a loaded 2-core machine, and a failure still ends the test instead of hanging it.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


class ConsoleServer:
    """A server process with its gRPC ``target`` and the console's ``url``."""

    def __init__(self, process: ServerProcess):
        self.process = process
        self.target = process.target
        self.http_port = http_port(process)
        self.url = f"http://127.0.0.1:{self.http_port}/"


def http_port(process: ServerProcess) -> int:
    """The HTTP listener's port, from its start-up line (before or after gRPC's)."""
    for line in process.lines:
        if match := _HTTP_LISTENING.search(line):
            return int(match.group(1))
    return int(process.wait_for_line(_HTTP_LISTENING, timeout=30).group(1))


def console_server(*arguments: str) -> ServerProcess:
    """``serve`` on free gRPC and HTTP ports with ``arguments`` added."""
    return ServerProcess([*SERVE, *arguments])


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the browser tests.

    Package-scoped, not session-scoped: Playwright's blocking API keeps an event loop
    running in the main thread while it is open, and every later test calling
    ``asyncio.run()`` would fail with "cannot be called from a running event loop".
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new tab in a context of its own; fails the test on any script error.

    Errors the browser logs fail it too (a style or script the Content-Security-Policy
    refused, say), but for the HTTP statuses the tests ask for (401, 404, 503), which
    Chromium logs as "Failed to load resource".
    """
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def note(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", note)
    yield page
    context.close()
    assert errors == [], f"the console went wrong: {errors}"


def screenshot(page: Page, name: str) -> Path:
    """Save what ``page`` shows as ``screenshots/<name>.png`` for a reviewer."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
