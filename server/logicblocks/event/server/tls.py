"""TLS for the server: its certificate and key, and optionally a CA clients must be signed by."""

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import grpc

__all__ = ["InvalidTlsFileError", "ServerTls"]


class InvalidTlsFileError(ValueError):
    """A TLS file that holds no usable certificate or key, or a key of another certificate."""


@dataclass(frozen=True)
class ServerTls:
    """The server's PEM certificate chain and key; ``client_ca`` asks for mutual TLS."""

    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, certificate: Path, key: Path, client_ca: Path | None = None) -> Self:
        """Read the PEM files (``OSError`` when one cannot be read) and check them
        (``InvalidTlsFileError`` saying which file is wrong and how)."""
        tls = cls(
            certificate_chain=certificate.read_bytes(),
            private_key=key.read_bytes(),
            client_ca=client_ca.read_bytes() if client_ca is not None else None,
        )
        _check_files(certificate, key, client_ca)
        return tls

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials; with a client CA, clients without a certificate it signed fail."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """The same for the HTTP listener: this certificate, and with a client CA, clients
        must present a certificate it signed."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # OpenSSL loads a certificate and key only from files: they live for the call, in
        # a folder only this user can read, and are gone before it returns.
        with tempfile.TemporaryDirectory(prefix="event-store-tls-") as folder:
            certificate, key = Path(folder) / "certificate.pem", Path(folder) / "key.pem"
            for path, content in ((certificate, self.certificate_chain), (key, self.private_key)):
                path.touch(mode=0o600)
                path.write_bytes(content)
            context.load_cert_chain(certificate, key, password=lambda: b"")
        if self.client_ca is not None:
            context.load_verify_locations(cadata=self.client_ca.decode("ascii"))
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def _check_files(certificate: Path, key: Path, client_ca: Path | None) -> None:
    """Judge the files with OpenSSL before gRPC sees them: gRPC reports a bad file only as
    "Failed to bind to address", with the reason in its own log."""
    _check_certificates(certificate, "certificate")
    if client_ca is not None:
        _check_certificates(client_ca, "client CA")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # A key protected by a passphrase is refused (gRPC cannot use one), not prompted for.
        context.load_cert_chain(certificate, key, password=lambda: b"")
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise InvalidTlsFileError(
                f"invalid TLS key {key}: it is not the key of the certificate {certificate}"
            ) from None
        raise InvalidTlsFileError(
            f"invalid TLS key {key}: no unencrypted PEM private key in it"
        ) from None


def _check_certificates(path: Path, what: str) -> None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:
        raise InvalidTlsFileError(f"invalid TLS {what} {path}: no PEM certificate in it") from None
