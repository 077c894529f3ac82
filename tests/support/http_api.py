"""A real HTTP client for the HTTP/JSON API tests: the standard library's, over loopback.

``call(method, url, ...)`` makes one request and returns its status, headers and decoded
JSON body (error statuses included, never raised). ``EventStream`` reads a Server-Sent
Events response one event at a time, each read bounded by a socket timeout (a deadline,
not a pause).
"""

import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

__all__ = ["Answer", "EventStream", "SseEvent", "base", "call", "publish"]

_TIMEOUT = 30.0


@dataclass(frozen=True)
class Answer:
    """A response: its status, headers, raw body and the body as JSON (``None`` if none)."""

    status: int
    headers: Mapping[str, str]
    text: str
    json: Any


def call(
    method: str,
    url: str,
    *,
    body: bytes | str | None = None,
    json_body: object = None,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """Make one request; any status comes back as an ``Answer``."""
    sent = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body)
        sent.setdefault("Content-Type", "application/json")
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = body.encode("utf-8") if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT, context=context) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, error.headers, error.read()
    text = raw.decode("utf-8")
    content_type = answer_headers.get("Content-Type", "")
    return Answer(
        status,
        dict(answer_headers.items()),
        text,
        json.loads(text) if content_type.startswith("application/json") else None,
    )


def base(server: Any) -> str:
    """The HTTP address of a test server (an ``EventStoreServer`` with ``http_listen``)."""
    return f"http://127.0.0.1:{server.http_port}"


def publish(server: Any, category: str, stream: str, body: object) -> Any:
    """Publish ``body`` to a stream over HTTP; the answer's JSON (a 201 is required)."""
    segments = f"{quote(category, safe='')}/{quote(stream, safe='')}"
    answer = call("POST", f"{base(server)}/api/v1/streams/{segments}/events", json_body=body)
    assert answer.status == 201, answer.text
    return answer.json


@dataclass
class SseEvent:
    """One Server-Sent Event: its name, id (``None`` when it has none) and data."""

    name: str
    id: str | None
    data: str
    fields: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        """The data as JSON."""
        return json.loads(self.data)


class EventStream:
    """An open ``GET`` of an SSE route; ``next()`` reads the next event (skipping the
    ``retry:`` preamble), failing if none comes within ``timeout`` seconds."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = _TIMEOUT,
        context: ssl.SSLContext | None = None,
    ):
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout, context=context
            )
            if parts.scheme == "https"
            else http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        )
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.connection.request("GET", target, headers=dict(headers or {}))
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.retry: int | None = None

    def body(self) -> str:
        """The whole body, for a response that is not a stream (an error)."""
        return self.response.read().decode("utf-8")

    def next(self) -> SseEvent:
        """The next event; raises ``TimeoutError`` (a socket timeout) when none comes."""
        name, event_id = "message", None
        data: list[str] = []
        lines: list[str] = []
        while True:
            raw = self.response.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if lines:
                    return SseEvent(name, event_id, "\n".join(data), lines)
                continue
            lines.append(line)
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "id":
                event_id = value
            elif key == "data":
                data.append(value)
            elif key == "retry":
                self.retry = int(value)
                lines.clear()

    def until(self, name: str) -> list[SseEvent]:
        """Events up to and including the next one named ``name``."""
        seen = []
        while True:
            event = self.next()
            seen.append(event)
            if event.name == name:
                return seen

    def close(self) -> None:
        """Close the connection (the server then frees the subscription)."""
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
