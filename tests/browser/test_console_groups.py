"""The console's consumer group views in headless Chromium, against a real server whose
groups are made, consumed and parked through the real gRPC client."""

import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.groups import GroupSettings
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.browser.conftest import ConsoleServer, console_server, screenshot

# Every failed event is parked at once.
PARK_AT_ONCE = GroupSettings(max_retries=0, ack_timeout=20.0)


@pytest.fixture
def server() -> Iterator[ConsoleServer]:
    with console_server() as process:
        yield ConsoleServer(process)


def test_groups_show_lag_parked_events_and_consumers(page: Page, server: ConsoleServer) -> None:
    with GrpcStorageAdapter(target=server.target) as adapter:
        store = EventStore(adapter)
        billing = store.category(category="orders").consumer_group("billing")
        billing.create(settings=PARK_AT_ONCE)
        store.log().consumer_group("audit").create()
        for stream in ("o-1", "o-2", "o-3"):
            store.stream(category="orders", stream=stream).publish(
                events=[NewEvent(name="placed", payload={})]
            )
        # o-1 is parked and o-2 acknowledged; o-3 stays to do.
        with billing.consume() as consumer:
            for delivery in consumer:
                if delivery.event.stream == "o-1":
                    delivery.nack(reason="card declined")
                elif delivery.event.stream == "o-2":
                    delivery.ack()
                    break

        page.goto(server.url)
        page.get_by_role("link", name="Consumer groups", exact=True).click()
        expect(page).to_have_url(re.compile(r"#/groups$"))
        rows = page.locator("table.list tbody tr")
        expect(rows).to_have_count(2)
        row = page.locator("tr[data-group=billing]")
        expect(row.locator("td").nth(1)).to_have_text("category orders")
        expect(row.locator("[data-field=lag]")).to_have_text("1")
        expect(row.locator("[data-field=parked]")).to_have_text("1")
        expect(row.locator("[data-field=members]")).to_have_text("0")
        expect(page.locator("tr[data-group=audit] [data-field=lag]")).to_have_text("3")
        screenshot(page, "groups-1-list")

        # A consumer that stays joined shows on the group's page.
        joined = threading.Event()
        leave = threading.Event()

        def stay_joined() -> None:
            with billing.consume(consumer_id="worker-7"):
                joined.set()
                leave.wait(60)

        thread = threading.Thread(target=stay_joined, daemon=True)
        thread.start()
        try:
            assert joined.wait(30)
            # The page reads the group once: the member must be stored before it does.
            assert wait_until(lambda: billing.info().members == ("worker-7",), 30)
            page.get_by_role("link", name="billing", exact=True).click()
            expect(page).to_have_title("billing · Event store")
            expect(page.locator(".facts [data-field=parked] dd")).to_have_text("1")
            expect(page.locator(".facts [data-field=ack-timeout] dd")).to_have_text("20 s")
            expect(page.locator("ul.members li")).to_have_text(["worker-7"])
            parked = page.locator("table.list tbody tr")
            expect(parked).to_have_count(1)
            expect(parked.locator("td").nth(1)).to_have_text("o-1")
            expect(parked.locator("td").last).to_have_text("card declined")
            screenshot(page, "groups-2-group")
        finally:
            leave.set()
            thread.join(30)

        # The parked event's sequence number opens the event.
        parked.get_by_role("link", name="#0").click()
        expect(page).to_have_url(re.compile(r"#/events/0$"))
        expect(page.locator("details.event")).to_have_count(1)


def test_an_unknown_group_says_so(page: Page, server: ConsoleServer) -> None:
    page.goto(f"{server.url}#/groups/nothing")
    expect(page.get_by_role("alert")).to_contain_text("nothing")
