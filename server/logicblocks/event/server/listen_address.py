"""Why the server cannot listen on an address, in the operating system's words.

gRPC reports every failed bind as "Failed to bind to address", with the reason only in its
own log; a probe bind of the same address, made first, finds the reason to tell the user.
"""

import socket

__all__ = ["bind_problem"]


def bind_problem(listen: str) -> str | None:
    """What stops a bind of ``HOST:PORT`` now (``"address already in use"``), or ``None``.

    ``None`` also when the address cannot be probed (port 0, a name that does not resolve):
    gRPC's own attempt then decides.
    """
    host, _, port_text = listen.rpartition(":")
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) == 0:
        return None
    try:
        addresses = socket.getaddrinfo(
            host.strip("[]") or None,
            int(port_text),
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )
    except (OSError, UnicodeError):
        return None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            # As gRPC binds: a port left in TIME_WAIT by a stopped server is no obstacle.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                return (error.strerror or str(error)).lower()
    return None
