"""TLS and mutual TLS on loopback with certificates made per run; never a plaintext downgrade."""

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from logicblocks.event.server.auth import Access
from logicblocks.event.server.tls import ServerTls
from logicblocks.event.store import (
    AuthenticationError,
    ConfigurationError,
    EventStore,
    StorageUnavailableError,
)
from logicblocks.event.store.adapters import (
    AsyncGrpcStorageAdapter,
    GrpcStorageAdapter,
    InMemoryStorageAdapter,
)
from logicblocks.event.types import NewEvent, identifier
from tests.support.certificates import Certificates, make_certificates
from tests.support.grpc_server import running_server
from tests.support.server_process import COMMAND, ServerProcess


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_target(certificates: Certificates) -> Iterator[str]:
    tls = ServerTls.from_files(certificates.server_certificate, certificates.server_key)
    with running_server(InMemoryStorageAdapter(), tls=tls) as target:
        yield target


@pytest.fixture
def mutual_tls_target(certificates: Certificates) -> Iterator[str]:
    tls = ServerTls.from_files(
        certificates.server_certificate, certificates.server_key, certificates.ca
    )
    with running_server(InMemoryStorageAdapter(), tls=tls) as target:
        yield target


@pytest.fixture
def plaintext_target() -> Iterator[str]:
    with running_server(InMemoryStorageAdapter()) as target:
        yield target


def publish_and_read(client: GrpcStorageAdapter) -> list[str]:
    store = EventStore(client)
    store.stream(category="orders", stream="o-1").publish(
        events=[NewEvent(name="placed", payload={"total": 5})]
    )
    return [event.name for event in store.log()]


def test_a_tls_client_publishes_and_reads_over_tls(
    tls_target: str, certificates: Certificates
) -> None:
    with GrpcStorageAdapter(target=tls_target, root_certificates=certificates.ca) as client:
        assert publish_and_read(client) == ["placed"]


def test_a_tls_client_never_falls_back_to_a_plaintext_server(
    plaintext_target: str, certificates: Certificates
) -> None:
    with (
        GrpcStorageAdapter(
            target=plaintext_target, root_certificates=certificates.ca.read_bytes(), attempts=1
        ) as client,
        pytest.raises(StorageUnavailableError),
    ):
        publish_and_read(client)


def test_a_plaintext_client_cannot_talk_to_a_tls_server(tls_target: str) -> None:
    with grpc.insecure_channel(tls_target) as channel, pytest.raises(grpc.RpcError) as caught:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_server_certificate_from_an_unknown_ca_is_refused(
    tls_target: str, certificates: Certificates
) -> None:
    with (
        GrpcStorageAdapter(
            target=tls_target, root_certificates=certificates.other_ca, attempts=1
        ) as client,
        pytest.raises(StorageUnavailableError),
    ):
        publish_and_read(client)


def test_mutual_tls_lets_in_only_clients_with_a_certificate_from_the_client_ca(
    mutual_tls_target: str, certificates: Certificates
) -> None:
    with GrpcStorageAdapter(
        target=mutual_tls_target,
        root_certificates=certificates.ca,
        client_certificate=certificates.client_certificate,
        client_key=certificates.client_key,
    ) as client:
        assert publish_and_read(client) == ["placed"]
    strangers = [
        {},
        {
            "client_certificate": certificates.other_client_certificate,
            "client_key": certificates.other_client_key,
        },
    ]
    for stranger in strangers:
        with (
            GrpcStorageAdapter(
                target=mutual_tls_target,
                root_certificates=certificates.ca,
                attempts=1,
                **stranger,  # type: ignore[arg-type]
            ) as client,
            pytest.raises(StorageUnavailableError),
        ):
            list(EventStore(client).log())


def test_tls_and_tokens_together(certificates: Certificates) -> None:
    tls = ServerTls.from_files(certificates.server_certificate, certificates.server_key)
    tokens = {"t-1": Access.READ_WRITE}
    with (
        running_server(InMemoryStorageAdapter(), tls=tls, tokens=tokens) as target,
        GrpcStorageAdapter(target=target, root_certificates=certificates.ca, token="t-1") as client,
    ):
        assert publish_and_read(client) == ["placed"]


def test_half_given_client_tls_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="go together"):
        GrpcStorageAdapter(target="127.0.0.1:1", client_certificate=b"cert")
    with pytest.raises(ConfigurationError, match="not both"):
        GrpcStorageAdapter(
            target="127.0.0.1:1",
            credentials=grpc.ssl_channel_credentials(),
            root_certificates=b"ca",
        )


def health(target: str, *arguments: str | Path) -> int:
    command = [COMMAND, "health", "--target", target, "--timeout", "10", *map(str, arguments)]
    return subprocess.run(command, capture_output=True, timeout=60).returncode


def test_the_server_process_serves_mutual_tls_from_the_environment(
    certificates: Certificates,
) -> None:
    env = {
        "EVENT_STORE_TLS_CERT": str(certificates.server_certificate),
        "EVENT_STORE_TLS_KEY": str(certificates.server_key),
        "EVENT_STORE_TLS_CLIENT_CA": str(certificates.ca),
    }
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    with ServerProcess(command, env=env) as server:
        assert "mutual_tls=True" in "\n".join(server.lines)
        client_files: list[str | Path] = ["--tls-cert", certificates.client_certificate]
        client_files += ["--tls-key", certificates.client_key]
        assert health(server.target, "--tls-ca", certificates.ca, *client_files) == 0
        assert health(server.target, "--tls-ca", certificates.ca) == 1
        assert health(server.target) == 1


def test_a_certificate_without_its_key_stops_the_server(certificates: Certificates) -> None:
    result = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", "--tls-cert", certificates.ca],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr


def test_the_asyncio_client_speaks_tls_with_a_token(certificates: Certificates) -> None:
    tls = ServerTls.from_files(certificates.server_certificate, certificates.server_key)
    tokens = {"t-1": Access.READ_WRITE}

    async def publish_scan_and_subscribe(target: str, token: str) -> list[str]:
        async with AsyncGrpcStorageAdapter(
            target=target, root_certificates=certificates.ca, token=token
        ) as client:
            stream = identifier.Stream(category="orders", stream="o-1")
            await client.save(target=stream, events=[NewEvent(name="placed", payload={})])
            scanned = [event.name async for event in client.scan()]
            async with client.subscribe() as subscription:
                followed = await anext(subscription)
            return [*scanned, followed.name]

    with running_server(InMemoryStorageAdapter(), tls=tls, tokens=tokens) as target:
        assert asyncio.run(publish_scan_and_subscribe(target, "t-1")) == ["placed", "placed"]
        with pytest.raises(AuthenticationError):
            asyncio.run(publish_scan_and_subscribe(target, "wrong"))
