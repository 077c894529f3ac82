"""The HTTP face honours the gRPC face's tokens and TLS: same token file, same certificate.

Tokens: 401 without a known token on every API route, 403 for a read-only publish,
``access_token`` taken on the subscription route only, the console's files open, and
tokens never written to the log. TLS: HTTPS with the gRPC certificate, no plaintext
answer, and with a client CA, no answer to a client without a certificate it signed.
"""

import logging
import ssl
from collections.abc import Iterator
from urllib.error import URLError

import pytest

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.server.auth import Access
from logicblocks.event.server.tls import ServerTls
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from tests.support.certificates import Certificates, make_certificates
from tests.support.grpc_server import running_event_store_server
from tests.support.http_api import EventStream, call

WRITER = "writer-token-1"
READER = "reader-token-2"
TOKENS = {WRITER: Access.READ_WRITE, READER: Access.READ_ONLY}
PUBLISH_BODY = {"events": [{"name": "opened", "payload": {}}]}
READ_ROUTES = [
    "/api/v1/info",
    "/api/v1/categories",
    "/api/v1/categories/accounts/streams",
    "/api/v1/events",
    "/api/v1/events/0",
    "/api/v1/groups",
    "/api/v1/groups/billing",
    "/api/v1/groups/billing/parked",
]


@pytest.fixture(scope="module")
def server() -> Iterator[EventStoreServer]:
    with running_event_store_server(
        InMemoryStorageAdapter(), tokens=TOKENS, http_listen="127.0.0.1:0"
    ) as running:
        yield running


def base(server: EventStoreServer) -> str:
    return f"http://127.0.0.1:{server.http_port}"


@pytest.mark.parametrize("route", READ_ROUTES)
def test_every_read_route_needs_a_known_token(server: EventStoreServer, route: str) -> None:
    for token in (None, "not-a-token"):
        refused = call("GET", base(server) + route, token=token)
        assert refused.status == 401
        assert refused.json["code"] == "UNAUTHENTICATED"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    basic = call("GET", base(server) + route, headers={"Authorization": f"Basic {READER}"})
    assert basic.status == 401
    assert call("GET", base(server) + route, token=READER).status in (200, 404)


def test_a_read_only_token_may_not_publish_and_a_read_write_one_may(
    server: EventStoreServer,
) -> None:
    url = f"{base(server)}/api/v1/streams/accounts/a-1/events"
    assert call("POST", url, json_body=PUBLISH_BODY).status == 401
    denied = call("POST", url, json_body=PUBLISH_BODY, token=READER)
    assert (denied.status, denied.json["code"]) == (403, "PERMISSION_DENIED")
    assert call("GET", f"{base(server)}/api/v1/info", token=READER).json["events"] == 0
    assert call("POST", url, json_body=PUBLISH_BODY, token=WRITER).status == 201


def test_the_subscription_route_alone_takes_the_token_in_the_query(
    server: EventStoreServer,
) -> None:
    with EventStream(f"{base(server)}/api/v1/subscribe?access_token={READER}") as stream:
        assert stream.status == 200
        stream.until("caught-up")
    with EventStream(f"{base(server)}/api/v1/subscribe") as refused:
        assert refused.status == 401
    with EventStream(f"{base(server)}/api/v1/subscribe?access_token=wrong") as refused:
        assert refused.status == 401
    # Elsewhere the query is no place for a token.
    assert call("GET", f"{base(server)}/api/v1/info?access_token={READER}").status == 401


def test_the_console_loads_without_a_token(server: EventStoreServer) -> None:
    assert call("GET", f"{base(server)}/").status == 200


def test_tokens_never_reach_the_log(
    server: EventStoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="logicblocks.event.server"):
        call("POST", f"{base(server)}/api/v1/streams/a/b/events", json_body={}, token=READER)
        call("GET", f"{base(server)}/api/v1/info", token="a-secret-guess")
        with EventStream(f"{base(server)}/api/v1/subscribe?access_token={WRITER}") as stream:
            stream.until("caught-up")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "event=permission_denied" in text and "event=unauthenticated" in text
    for secret in (READER, WRITER, "a-secret-guess"):
        assert secret not in text


# TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("pki"))


def client_context(certificates: Certificates, *, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certificates.ca)
    if with_certificate:
        context.load_cert_chain(certificates.client_certificate, certificates.client_key)
    return context


def test_https_with_the_servers_certificate_and_no_plaintext(certificates: Certificates) -> None:
    tls = ServerTls.from_files(certificates.server_certificate, certificates.server_key)
    with running_event_store_server(
        InMemoryStorageAdapter(), tls=tls, http_listen="127.0.0.1:0"
    ) as server:
        context = client_context(certificates, with_certificate=False)
        url = f"https://127.0.0.1:{server.http_port}"
        published = call(
            "POST", f"{url}/api/v1/streams/a/b/events", json_body=PUBLISH_BODY, context=context
        )
        assert published.status == 201
        assert call("GET", f"{url}/api/v1/info", context=context).json["events"] == 1
        with EventStream(f"{url}/api/v1/subscribe", context=context) as stream:
            assert stream.until("stored")[-1].json["name"] == "opened"
        with pytest.raises((URLError, ConnectionError)):
            call("GET", f"http://127.0.0.1:{server.http_port}/api/v1/info")
        untrusting = ssl.create_default_context(cafile=certificates.other_ca)
        with pytest.raises(URLError):
            call("GET", f"{url}/api/v1/info", context=untrusting)


def test_mutual_tls_refuses_a_client_without_a_signed_certificate(
    certificates: Certificates,
) -> None:
    tls = ServerTls.from_files(
        certificates.server_certificate, certificates.server_key, certificates.ca
    )
    with running_event_store_server(
        InMemoryStorageAdapter(), tls=tls, http_listen="127.0.0.1:0"
    ) as server:
        url = f"https://127.0.0.1:{server.http_port}/api/v1/info"
        answer = call("GET", url, context=client_context(certificates, with_certificate=True))
        assert answer.status == 200
        with pytest.raises((URLError, ConnectionError, ssl.SSLError)):
            call("GET", url, context=client_context(certificates, with_certificate=False))
        stranger = client_context(certificates, with_certificate=False)
        stranger.load_cert_chain(
            certificates.other_client_certificate, certificates.other_client_key
        )
        with pytest.raises((URLError, ConnectionError, ssl.SSLError)):
            call("GET", url, context=stranger)
