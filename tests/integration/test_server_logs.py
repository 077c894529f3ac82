"""The server's log on standard error, as the command writes it: structured, every line."""

import json
import re
import signal
import socket
import ssl

import pytest

from logicblocks.event.store import EventStore, UnmetWriteConditionError, stream_is_empty
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.support.certificates import make_certificates
from tests.support.server_process import COMMAND, ServerProcess, healthy
from tests.support.subscribers import Collector

_JSON_LISTENING = re.compile(r'"event": "listening", "address": "[^"]*", "port": (\d+)')
# Values are bare words, or JSON strings when they hold spaces, quotes or "=".
_TEXT_LINE = re.compile(
    r'time=\S+ level=[a-z]+ logger=\S+ event=[a-z_]+( [a-z_]+=("([^"\\]|\\.)*"|[^\s"]+))*'
)
_PEER = re.compile(r"ipv4:127\.0\.0\.1:\d+")


def test_json_lines_carry_level_logger_event_and_plain_fields() -> None:
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    command += ["--log-format", "json", "--log-level", "DEBUG"]
    with ServerProcess(command, listening=_JSON_LISTENING) as server:
        with GrpcStorageAdapter(target=server.target) as adapter:
            store = EventStore(adapter)
            stream = store.stream(category="orders", stream="o-1")
            stream.publish(events=[NewEvent(name="placed", payload={"total": 5})])
            with pytest.raises(UnmetWriteConditionError):
                stream.publish(
                    events=[NewEvent(name="again", payload={})], conditions={stream_is_empty()}
                )
            collector = Collector(store.category(category="orders").subscribe())
            try:
                assert wait_until(lambda: len(collector.events) == 1, 30), collector.error
            finally:
                collector.subscription.close()
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0

    lines = [json.loads(line) for line in server.lines]
    assert all(isinstance(line, dict) for line in lines)
    assert all({"time", "level", "logger", "event"} <= line.keys() for line in lines), lines
    by_event = {line["event"]: line for line in lines}
    assert {"starting", "listening", "published", "publish_rejected", "stopped"} <= set(by_event)
    assert by_event["listening"]["port"] == server.port
    published = by_event["published"]
    # Typed and plain: numbers stay numbers, names are not Python reprs.
    assert (published["category"], published["stream"], published["events"]) == (
        "orders",
        "o-1",
        1,
    )
    rejected = by_event["publish_rejected"]
    assert (rejected["level"], rejected["method"], rejected["code"]) == (
        "info",
        "Publish",
        "FAILED_PRECONDITION",
    )
    assert _PEER.fullmatch(rejected["peer"]), rejected
    subscribed = by_event["subscribed"]
    assert (subscribed["method"], subscribed["target"]) == ("Subscribe", "category:orders")
    assert _PEER.fullmatch(subscribed["peer"]), subscribed
    assert "payload" not in json.dumps(lines)


def test_default_text_log_stays_structured_when_the_grpc_core_complains(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's own GRPC_VERBOSITY or GRPC_TRACE would be respected; this is the default.
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)
    monkeypatch.delenv("GRPC_TRACE", raising=False)
    pki = make_certificates(tmp_path_factory.mktemp("pki"))
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    command += ["--tls-cert", str(pki.server_certificate), "--tls-key", str(pki.server_key)]
    with ServerProcess(command) as server:
        # A plaintext client and a TLS client that does not trust the server: gRPC's C core
        # reports each failed handshake on standard error, in its own format, by default.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            while plain.recv(4096):
                pass
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw,
            pytest.raises(ssl.SSLError),
        ):
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
        assert not healthy(server.target)
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0

    assert any("event=stopped" in line for line in server.lines)
    unstructured = [line for line in server.lines if not _TEXT_LINE.fullmatch(line)]
    assert unstructured == []
