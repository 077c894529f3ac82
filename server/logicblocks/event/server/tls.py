"""TLS for the server: its certificate and key, and optionally a CA clients must be signed by."""

from dataclasses import dataclass
from pathlib import Path
from typing import Self

import grpc

__all__ = ["ServerTls"]


@dataclass(frozen=True)
class ServerTls:
    """The server's PEM certificate chain and key; ``client_ca`` asks for mutual TLS."""

    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, certificate: Path, key: Path, client_ca: Path | None = None) -> Self:
        """Read the PEM files (``OSError`` when one cannot be read)."""
        return cls(
            certificate_chain=certificate.read_bytes(),
            private_key=key.read_bytes(),
            client_ca=client_ca.read_bytes() if client_ca is not None else None,
        )

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials; with a client CA, clients without a certificate it signed fail."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )
