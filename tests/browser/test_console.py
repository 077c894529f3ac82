"""The web console in headless Chromium, against a real server fed through gRPC.

Each test starts ``serve --http-listen`` on free ports, publishes with the real Python
client, and reads the page as a person would: links by their text, what the page shows.
Every page a person would look at is saved under ``tests/browser/screenshots/``.
"""

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent, StoredEvent
from tests.browser.conftest import SERVE, VIEWPORT, ConsoleServer, console_server, screenshot
from tests.support.readme import example_code
from tests.support.server_process import ServerProcess

README_ADAPTER = "adapter = adapters.InMemoryStorageAdapter()"
WRITER = "writer-token-0123456789"
READER = "reader-token-0123456789"


@pytest.fixture
def server() -> Iterator[ConsoleServer]:
    with console_server() as process:
        yield ConsoleServer(process)


def publish(
    target: str, category: str, stream: str, *events: NewEvent, token: str | None = None
) -> Sequence[StoredEvent]:
    """Publish ``events`` through gRPC with the real client; the stored events."""
    with GrpcStorageAdapter(target=target, token=token) as adapter:
        return (
            EventStore(adapter)
            .stream(category=category, stream=stream)
            .publish(events=list(events))
        )


def read_stream(target: str, category: str, stream: str) -> Sequence[StoredEvent]:
    with GrpcStorageAdapter(target=target) as adapter:
        return list(EventStore(adapter).stream(category=category, stream=stream).read())


def run_readme_example(target: str) -> None:
    """The README's example, with its adapter line pointed at the server (as it says to)."""
    code = example_code().replace(
        README_ADAPTER, f'adapter = adapters.GrpcStorageAdapter(target="{target}")'
    )
    exec(compile(code + "\nadapter.close()\n", "README.md", "exec"), {"print": lambda *_: None})


def summary_value(page: Page, field: str) -> Locator:
    return page.locator(f"#summary [data-field={field}] dd")


def field(card: Locator, name: str) -> Locator:
    return card.locator(f"dd.field-{name}")


def event_card(page: Page, name: str) -> Locator:
    return page.locator("details.event").filter(
        has=page.locator("summary .name", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def shown_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_category_then_stream_then_event_shows_every_field_and_the_payload(
    page: Page, server: ConsoleServer
) -> None:
    run_readme_example(server.target)
    stored = read_stream(server.target, "profiles", "joe.bloggs")

    page.goto(server.url)
    expect(summary_value(page, "events")).to_have_text("2")
    expect(summary_value(page, "categories")).to_have_text("1")
    expect(summary_value(page, "head")).to_have_text("#1")
    expect(summary_value(page, "storage")).to_have_text("memory")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    screenshot(page, "1-categories")

    page.get_by_role("link", name="profiles", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/categories/profiles$"))
    stream_row = page.locator("table.list tbody tr")
    expect(stream_row).to_have_count(1)
    expect(stream_row.locator("td").nth(1)).to_have_text("2")  # events
    screenshot(page, "2-streams")

    page.get_by_role("link", name="joe.bloggs", exact=True).click()
    expect(page.locator("details.event")).to_have_count(2)
    expect(page).to_have_title("joe.bloggs · Event store")
    created = event_card(page, "profile-created")
    created.locator("summary").click()
    expect(created.locator("pre.payload")).to_have_text(
        json.dumps({"name": "Joe Bloggs", "email": "joe.bloggs@example.com"}, indent=2)
    )
    first = stored[0]
    expect(field(created, "id")).to_have_text(first.id)
    expect(field(created, "sequence_number")).to_have_text(str(first.sequence_number))
    expect(field(created, "position")).to_have_text("0")
    expect(field(created, "category")).to_have_text("profiles")
    expect(field(created, "stream")).to_have_text("joe.bloggs")
    assert shown_time(field(created, "observed_at").inner_text()) == first.observed_at
    assert shown_time(field(created, "occurred_at").inner_text()) == first.occurred_at
    # The other event stays folded until asked for.
    expect(event_card(page, "date-of-birth-set").locator("pre.payload")).to_be_hidden()
    screenshot(page, "3-events")


def test_names_and_payloads_are_shown_as_published_and_never_as_markup(
    page: Page, server: ConsoleServer
) -> None:
    category, stream = "<b>bold</b> & co", "s/1?x=#2"
    name = '<img src=x onerror="window.injected = 1">'
    # 2**53 + 1 is past what a JavaScript number holds: shown as published, not rounded.
    payload = {
        "html": "<script>window.injected = 2</script>",
        "quote": "\"'<>&",
        "big": 2**53 + 1,
    }
    publish(server.target, category, stream, NewEvent(name=name, payload=payload))

    page.goto(server.url)
    page.get_by_role("link", name=category, exact=True).click()
    page.get_by_role("link", name=stream, exact=True).click()
    card = event_card(page, name)
    card.locator("summary").click()
    expect(card.locator("pre.payload")).to_have_text(json.dumps(payload, indent=2))
    expect(page.locator("main b, main img, main script")).to_have_count(0)
    assert page.evaluate("window.injected") is None
    screenshot(page, "4-names-as-text")


def test_long_lists_are_read_a_page_at_a_time(page: Page, server: ConsoleServer) -> None:
    with GrpcStorageAdapter(target=server.target) as adapter:
        store = EventStore(adapter)
        for number in range(120):
            store.stream(category="accounts", stream=f"a-{number:03d}").publish(
                events=[NewEvent(name="opened", payload={"number": number})]
            )

    page.goto(server.url + "#/categories/accounts")
    rows = page.locator("table.list tbody tr td:first-child")
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_text("a-000")
    expect(rows.last).to_have_text("a-049")
    screenshot(page, "5-streams-paged")

    page.get_by_role("link", name="Next page").click()
    expect(rows.first).to_have_text("a-050")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Next page").click()
    expect(rows.first).to_have_text("a-100")
    expect(rows).to_have_count(20)
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.go_back()
    expect(rows.first).to_have_text("a-050")

    page.get_by_label("Streams starting with").fill("a-11")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(10)
    expect(rows.first).to_have_text("a-110")

    entries = [NewEvent(name=f"entry-{number}", payload={}) for number in range(60)]
    publish(server.target, "ledger", "l-1", *entries)
    page.goto(server.url + "#/streams/ledger/l-1")
    names = page.locator("details.event .name")
    expect(names).to_have_count(50)
    page.get_by_role("link", name="Next events").click()
    expect(names).to_have_text([f"entry-{number}" for number in range(50, 60)])
    expect(page.get_by_role("link", name="Next events")).to_have_count(0)


def test_search_finds_an_event_by_sequence_number_or_by_id(
    page: Page, server: ConsoleServer
) -> None:
    publish(server.target, "orders", "o-1", NewEvent(name="placed", payload={"total": 5}))
    (shipped,) = publish(
        server.target,
        "orders",
        "o-1",
        NewEvent(name="shipped", payload={"carrier": "post"}, id="shipment-77"),
    )
    search = page.get_by_role("searchbox", name="Find an event by id or sequence number")

    page.goto(server.url)
    search.fill(str(shipped.sequence_number))
    search.press("Enter")
    card = event_card(page, "shipped")
    expect(field(card, "id")).to_have_text("shipment-77")
    expect(card.locator("pre.payload")).to_have_text(json.dumps({"carrier": "post"}, indent=2))

    search.fill("shipment-77")
    search.press("Enter")
    expect(field(event_card(page, "shipped"), "sequence_number")).to_have_text(
        str(shipped.sequence_number)
    )
    screenshot(page, "6-search")

    search.fill("no-such-id")
    search.press("Enter")
    expect(page.get_by_role("status")).to_have_text("No event has the id “no-such-id”.")

    # Ids may be all digits: a number is a sequence number first, then an id.
    assert shipped.sequence_number == 1
    publish(server.target, "orders", "o-2", NewEvent(name="id-one", payload={}, id="1"))
    publish(server.target, "orders", "o-2", NewEvent(name="id-1000", payload={}, id="1000"))
    search.fill("1")
    search.press("Enter")
    expect(field(event_card(page, "shipped"), "id")).to_have_text("shipment-77")
    page.get_by_role("link", name="The event whose id is “1”").click()
    expect(field(event_card(page, "id-one"), "id")).to_have_text("1")
    search.fill("1000")
    search.press("Enter")
    expect(field(event_card(page, "id-1000"), "id")).to_have_text("1000")


def test_the_live_tail_of_a_category_shows_events_as_they_commit(
    page: Page, server: ConsoleServer
) -> None:
    publish(server.target, "orders", "o-1", NewEvent(name="before-the-tail", payload={}))

    page.goto(server.url)
    page.get_by_role("link", name="tail", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Live: waiting for events to commit.")

    publish(server.target, "payments", "p-1", NewEvent(name="other-category", payload={}))
    publish(server.target, "orders", "o-2", NewEvent(name="placed", payload={"total": 12}))
    placed = event_card(page, "placed")
    expect(placed).to_have_count(1)
    # Nothing from before the tail started, nor from another category, came first.
    expect(page.locator("details.event")).to_have_count(1)
    expect(page.get_by_role("status")).to_have_text("Live: 1 new since you started.")
    placed.locator("summary").click()
    expect(placed.locator("pre.payload")).to_have_text(json.dumps({"total": 12}, indent=2))
    screenshot(page, "7-live-tail")


def test_the_live_tail_goes_on_across_a_server_restart_without_a_gap_or_a_repeat(
    page: Page, tmp_path: Path
) -> None:
    storage = ["--storage", f"sqlite:///{tmp_path / 'events.db'}"]
    with console_server(*storage) as process:
        first = ConsoleServer(process)
        grpc_port, http_port = process.port, first.http_port
        publish(first.target, "orders", "o-1", NewEvent(name="before-the-tail", payload={}))
        page.goto(first.url + "#/tail/orders")
        expect(page.get_by_role("status")).to_have_text("Live: waiting for events to commit.")
        (before,) = publish(
            first.target, "orders", "o-1", NewEvent(name="before-the-restart", payload={})
        )
        expect(event_card(page, "before-the-restart")).to_have_count(1)
        # The first reconnection is refused, as a server shutting down (or a proxy in front
        # of none) answers: EventSource gives up on a refusal, so the console must resume.
        refused: list[str] = []
        page.route(re.compile(r"/api/v1/subscribe\?"), refuse_once(refused), times=1)
        subscriptions: list[str] = []
        page.on("request", lambda request: subscriptions.append(request.url))

    expect(page.get_by_role("status")).to_have_text("Connection lost; reconnecting…")
    # The same ports again, so the page finds the server where it was.
    same_ports = ["--listen", f"127.0.0.1:{grpc_port}", "--http-listen", f"127.0.0.1:{http_port}"]
    with ServerProcess([*SERVE[:2], *same_ports, *storage]) as process:
        # Published whether or not the page has reconnected yet: it must arrive either way.
        publish(process.target, "orders", "o-2", NewEvent(name="after-the-restart", payload={}))
        expect(event_card(page, "after-the-restart")).to_have_count(1)
        expect(page.locator("details.event .name")).to_have_text(
            ["after-the-restart", "before-the-restart"]
        )
        expect(page.get_by_role("status")).to_have_text("Live: 2 new since you started.")
        # The summary above follows the tail.
        expect(summary_value(page, "events")).to_have_text("3")
        screenshot(page, "10-live-tail-after-restart")
    assert len(refused) == 1
    assert any(f"after={before.sequence_number}" in url for url in subscriptions), subscriptions


def refuse_once(refused: list[str]) -> Callable[[Route], None]:
    """A route handler answering 503 with the API's error body, noting the URL."""

    def refuse(route: Route) -> None:
        refused.append(route.request.url)
        route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"code": "UNAVAILABLE", "message": "the server is shutting down"}),
        )

    return refuse


def test_with_tokens_the_console_asks_for_one_and_keeps_it_for_the_tab(
    page: Page, browser: Browser, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{WRITER} read-write\n{READER} read-only\n")
    tokens.chmod(0o600)
    with console_server("--auth-tokens-file", str(tokens)) as process:
        server = ConsoleServer(process)
        publish(server.target, "orders", "o-1", NewEvent(name="placed", payload={}), token=WRITER)

        page.goto(server.url)
        expect(page.get_by_role("heading", name="This server asks for a token")).to_be_visible()
        expect(page.locator("#summary")).to_be_hidden()
        expect(page.get_by_role("link", name="orders")).to_have_count(0)
        screenshot(page, "8-token-asked")

        page.get_by_label("Token").fill("not-a-token")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert")).to_have_text("That token was refused.")
        expect(page.get_by_role("link", name="orders")).to_have_count(0)

        page.get_by_label("Token").fill(READER)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("link", name="orders", exact=True)).to_be_visible()
        expect(summary_value(page, "events")).to_have_text("1")

        # The live tail sends the token too (EventSource cannot send headers).
        page.get_by_role("link", name="Live tail").click()
        expect(page.get_by_role("status")).to_have_text("Live: waiting for events to commit.")
        publish(server.target, "orders", "o-2", NewEvent(name="shipped", payload={}), token=WRITER)
        expect(event_card(page, "shipped")).to_have_count(1)
        screenshot(page, "9-token-live-tail")

        # Kept for the tab: a reload does not ask again; another tab's storage does.
        page.reload()
        expect(page.get_by_role("status")).to_have_text("Live: waiting for events to commit.")
        other = browser.new_context(viewport=VIEWPORT)
        try:
            other_page = other.new_page()
            other_page.goto(server.url)
            expect(
                other_page.get_by_role("heading", name="This server asks for a token")
            ).to_be_visible()
        finally:
            other.close()

        page.get_by_role("button", name="Forget token").click()
        expect(page.get_by_role("heading", name="This server asks for a token")).to_be_visible()
