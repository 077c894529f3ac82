"""Bearer tokens on a real server: who gets in, who may publish, and what the logs keep."""

import asyncio
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from logicblocks.event.server.auth import Access, TokensFileError, fingerprint, parse_tokens
from logicblocks.event.store import (
    AuthenticationError,
    ConfigurationError,
    EventStore,
    PermissionDeniedError,
)
from logicblocks.event.store.adapters import (
    AsyncGrpcStorageAdapter,
    GrpcStorageAdapter,
    InMemoryStorageAdapter,
)
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2, targets_pb2
from tests.support.grpc_server import running_server
from tests.support.server_process import COMMAND, ServerProcess

Metadata = tuple[tuple[str, str | bytes], ...]
WRITER = "writer-5f3a9c1e77d2"
READER = "reader-0b8e4d2a91c6"
TOKENS = {WRITER: Access.READ_WRITE, READER: Access.READ_ONLY}
ORDERS = identifier.Stream(category="orders", stream="o-1")

PUBLISH = event_store_pb2.PublishRequest(
    target=targets_pb2.Stream(category="orders", stream="o-1"),
    events=[events_pb2.NewEvent(name="placed", payload=b"{}")],
)
SCAN = event_store_pb2.ScanRequest(target=targets_pb2.Target(log=targets_pb2.Log()))
SUBSCRIBE = event_store_pb2.SubscribeRequest(target=targets_pb2.Target(log=targets_pb2.Log()))


@pytest.fixture
def adapter() -> InMemoryStorageAdapter:
    return InMemoryStorageAdapter()


@pytest.fixture
def target(adapter: InMemoryStorageAdapter) -> Iterator[str]:
    with running_server(adapter, tokens=TOKENS) as target:
        yield target


@pytest.fixture
def channel(target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(target) as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.Channel) -> event_store_pb2_grpc.EventStoreStub:
    return event_store_pb2_grpc.EventStoreStub(channel)


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    code: grpc.StatusCode = caught.value.code()
    return code


def first_subscription_message(
    stub: event_store_pb2_grpc.EventStoreStub, metadata: Metadata
) -> event_store_pb2.SubscribeResponse:
    call: Any = stub.Subscribe(SUBSCRIBE, metadata=metadata, timeout=10)
    try:
        message: event_store_pb2.SubscribeResponse = next(call)
        return message
    finally:
        call.cancel()


@pytest.mark.parametrize(
    "metadata",
    [(), bearer("not-a-token"), bearer(WRITER + "x"), (("authorization", WRITER),), bearer("")],
    ids=["none", "unknown", "longer", "no-scheme", "empty"],
)
def test_calls_without_a_valid_token_are_unauthenticated(
    stub: event_store_pb2_grpc.EventStoreStub,
    adapter: InMemoryStorageAdapter,
    metadata: Metadata,
) -> None:
    assert code_of(lambda: stub.Publish(PUBLISH, metadata=metadata, timeout=10)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert code_of(lambda: list(stub.Scan(SCAN, metadata=metadata, timeout=10))) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert code_of(lambda: first_subscription_message(stub, metadata)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert adapter.head() == -1  # an empty store


def test_a_read_only_token_reads_but_may_not_publish(
    stub: event_store_pb2_grpc.EventStoreStub, adapter: InMemoryStorageAdapter
) -> None:
    stub.Publish(PUBLISH, metadata=bearer(WRITER), timeout=10)
    assert code_of(lambda: stub.Publish(PUBLISH, metadata=bearer(READER), timeout=10)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert adapter.head() == 0
    scanned = list(stub.Scan(SCAN, metadata=bearer(READER), timeout=10))
    assert [event.name for message in scanned for event in message.events] == ["placed"]
    assert first_subscription_message(stub, bearer(READER)).HasField("events")


def test_health_is_open_and_reflection_needs_a_token(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    response = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert response.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")

    def ask(metadata: Metadata) -> reflection_pb2.ServerReflectionResponse:
        return next(iter(reflection.ServerReflectionInfo(iter([request]), metadata=metadata)))

    assert code_of(lambda: ask(())) == grpc.StatusCode.UNAUTHENTICATED
    services = [s.name for s in ask(bearer(READER)).list_services_response.service]
    assert "logicblocks.event.v1.EventStore" in services


def test_the_python_client_sends_its_token_on_every_call(target: str) -> None:
    with (
        GrpcStorageAdapter(target=target, token=WRITER) as writer,
        GrpcStorageAdapter(target=target, token=READER) as reader,
    ):
        stream = EventStore(writer).stream(category="orders", stream="o-1")
        stream.publish(events=[NewEvent(name="placed", payload={"n": 1})])
        assert [event.name for event in EventStore(reader).log()] == ["placed"]
        subscription = EventStore(reader).log().subscribe()
        try:
            assert next(subscription).name == "placed"
        finally:
            subscription.close()
        with pytest.raises(PermissionDeniedError, match="read-only"):
            EventStore(reader).stream(category="orders", stream="o-1").publish(
                events=[NewEvent(name="placed", payload={})]
            )


def test_the_python_client_without_a_token_is_unauthenticated(target: str) -> None:
    with (
        GrpcStorageAdapter(target=target) as client,
        pytest.raises(AuthenticationError, match="authorization"),
    ):
        list(EventStore(client).log())


def test_the_asyncio_client_sends_its_token_on_every_call(target: str) -> None:
    async def scenario() -> None:
        async with (
            AsyncGrpcStorageAdapter(target=target, token=WRITER) as writer,
            AsyncGrpcStorageAdapter(target=target, token=READER) as reader,
        ):
            await writer.save(target=ORDERS, events=[NewEvent(name="placed", payload={})])
            assert [event.name async for event in reader.scan()] == ["placed"]
            async with reader.subscribe() as subscription:
                assert (await asyncio.wait_for(anext(subscription), 30)).name == "placed"
            with pytest.raises(PermissionDeniedError, match="read-only"):
                await reader.save(target=ORDERS, events=[NewEvent(name="placed", payload={})])

    asyncio.run(scenario())


def test_the_asyncio_client_without_a_token_is_unauthenticated(target: str) -> None:
    async def scan() -> list[str]:
        async with AsyncGrpcStorageAdapter(target=target) as client:
            return [event.name async for event in client.scan()]

    with pytest.raises(AuthenticationError, match="authorization"):
        asyncio.run(scan())


@pytest.mark.parametrize("client", [GrpcStorageAdapter, AsyncGrpcStorageAdapter])
@pytest.mark.parametrize("token", ["", "two words", "line\nbreak"])
def test_a_token_no_header_can_carry_is_refused_before_any_call(client: Any, token: str) -> None:
    async def make() -> None:
        client(target="127.0.0.1:1", token=token)

    with pytest.raises(ConfigurationError, match="token must be non-empty and hold no whitespace"):
        asyncio.run(make())


def test_a_tokens_file_is_parsed_with_comments_and_errors_never_show_tokens() -> None:
    text = f"# who may call\n{WRITER} read-write  # the app\n\n{READER} read-only\n"
    assert parse_tokens(text) == TOKENS
    with pytest.raises(TokensFileError, match="line 1: access must be") as caught:
        parse_tokens(f"{WRITER} admin\n")
    assert WRITER not in str(caught.value)
    with pytest.raises(TokensFileError, match="holds no tokens"):
        parse_tokens("# nobody\n")


def test_a_token_listed_twice_must_keep_its_access() -> None:
    assert parse_tokens(f"{READER} read-only\n{READER} read-only\n") == {READER: Access.READ_ONLY}
    text = f"{READER} read-only\n# the reader again\n{READER} read-write\n"
    with pytest.raises(TokensFileError, match="line 3: the token of line 1 again") as caught:
        parse_tokens(text)
    assert READER not in str(caught.value)


def test_the_server_process_takes_a_tokens_file_and_never_logs_tokens(tmp_path: Path) -> None:
    tokens_file = tmp_path / "tokens"
    tokens_file.write_text(f"{WRITER} read-write\n{READER} read-only\n")
    tokens_file.chmod(0o600)
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    command += ["--log-level", "DEBUG"]
    env = {"EVENT_STORE_AUTH_TOKENS_FILE": str(tokens_file)}
    with ServerProcess(command, env=env) as server:
        with grpc.insecure_channel(server.target) as channel:
            stub = event_store_pb2_grpc.EventStoreStub(channel)
            stub.Publish(PUBLISH, metadata=bearer(WRITER), timeout=10)
            assert code_of(lambda: stub.Publish(PUBLISH, metadata=bearer(READER), timeout=10)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
            wrong = WRITER[:-1] + "0"
            assert code_of(lambda: stub.Publish(PUBLISH, metadata=bearer(wrong), timeout=10)) == (
                grpc.StatusCode.UNAUTHENTICATED
            )
            health = subprocess_health(server.target)
            assert health == 0
        server.signal(15)
        assert server.wait(timeout=30) == 0
    log = "\n".join(server.lines)
    assert "event=permission_denied" in log and "event=unauthenticated" in log
    # A refused call names its caller's address, as other refused calls do.
    assert re.search(r"event=unauthenticated method=\S+ peer=ipv4:127\.0\.0\.1:\d+ ", log)
    assert f"token_sha256={fingerprint(READER)}" in log
    assert "event=tokens_file_exposed" not in log
    for secret in (WRITER, READER, wrong):
        assert secret not in log


def subprocess_health(target: str) -> int:
    return subprocess.run(
        [COMMAND, "health", "--target", target, "--timeout", "10"], capture_output=True
    ).returncode


def test_an_unreadable_tokens_file_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", "--auth-tokens-file", tmp_path / "absent"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot read tokens file" in result.stderr


def test_a_tokens_file_others_may_read_is_served_with_one_warning(tmp_path: Path) -> None:
    tokens_file = tmp_path / "tokens"
    tokens_file.write_text(f"{WRITER} read-write\n")
    tokens_file.chmod(0o644)
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    command += ["--auth-tokens-file", str(tokens_file)]
    with ServerProcess(command) as server:
        server.signal(15)
        assert server.wait(timeout=30) == 0
    warnings = [line for line in server.lines if "event=tokens_file_exposed" in line]
    assert len(warnings) == 1
    assert "mode=0644" in warnings[0] and "chmod 600" in warnings[0]


def test_a_token_with_two_accesses_stops_the_server_naming_the_line(tmp_path: Path) -> None:
    tokens_file = tmp_path / "tokens"
    tokens_file.write_text(f"{WRITER} read-write\n{WRITER} read-only\n")
    result = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", "--auth-tokens-file", tokens_file],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"logicblocks-event-store: {tokens_file} line 2: the token of line 1 again, "
        "with other access (read-only)"
    ]
