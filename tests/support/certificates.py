"""Certificates for TLS tests, made at run time with the ``openssl`` command-line tool.

``make_certificates(folder)`` writes a CA, a server certificate for ``127.0.0.1`` and
``localhost`` (subjectAltName) and a client certificate, all signed by the CA, plus a second
CA that signed nothing of them (to test refusals).
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certificates", "make_certificates"]


@dataclass(frozen=True)
class Certificates:
    """Paths of the PEM files ``make_certificates`` wrote."""

    ca: Path
    server_certificate: Path
    server_key: Path
    client_certificate: Path
    client_key: Path
    other_ca: Path
    other_client_certificate: Path
    other_client_key: Path


def _openssl(*arguments: str | Path) -> None:
    subprocess.run(["openssl", *map(str, arguments)], check=True, capture_output=True, timeout=60)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    certificate, key = folder / f"{name}.pem", folder / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", key, "-out", certificate,
    )  # fmt: skip
    return certificate, key


def _signed(folder: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    certificate, key, request = (folder / f"{name}{suffix}" for suffix in (".pem", ".key", ".csr"))
    extensions_file = folder / f"{name}.ext"
    extensions_file.write_text(extensions)
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", key, "-out", request,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-days", "2", "-extfile", extensions_file, "-out", certificate,
    )  # fmt: skip
    return certificate, key


def make_certificates(folder: Path) -> Certificates:
    """Write the test PKI under ``folder``; fails clearly when ``openssl`` is missing."""
    assert shutil.which("openssl"), "the TLS tests need the openssl command-line tool"
    ca = _ca(folder, "test-ca")
    other_ca = _ca(folder, "other-ca")
    server = _signed(
        folder,
        "server",
        ca,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    client = _signed(folder, "client", ca, "extendedKeyUsage=clientAuth\n")
    stranger = _signed(folder, "stranger", other_ca, "extendedKeyUsage=clientAuth\n")
    return Certificates(
        ca=ca[0],
        server_certificate=server[0],
        server_key=server[1],
        client_certificate=client[0],
        client_key=client[1],
        other_ca=other_ca[0],
        other_client_certificate=stranger[0],
        other_client_key=stranger[1],
    )
