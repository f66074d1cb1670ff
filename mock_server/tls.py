"""The mock's own certificate authority (trustme over `cryptography`), for clients that
hard-code the family's https hosts: created on first use in a directory only its owner may
read, its certificate bundled with the system's CAs so other HTTPS keeps working, and server
certificates issued from it for `serve --tls` and the forward proxy."""

from __future__ import annotations

import functools
import hashlib
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from mock_server.urls import FAMILY_HOSTS

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
BUNDLE = "bundle.pem"  # the system's CAs and the mock's
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
TRUST_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


class CAError(OSError):
    """A CA directory that cannot be created or read; the message names it."""


@dataclass(frozen=True)
class LocalCA:
    folder: Path

    @property
    def cert_path(self) -> Path:
        return self.folder / CA_CERT

    @property
    def bundle_path(self) -> Path:
        return self.folder / BUNDLE

    def env(self) -> dict[str, str]:
        """What makes common clients trust the mock (and still everything else)."""
        return {name: str(self.bundle_path) for name in TRUST_VARIABLES}

    def server_files(self, extra_hosts: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A server certificate and its key (PEM files) for loopback, the family's hosts and
        `extra_hosts`, issued once per set of names and kept beside the CA."""
        import trustme

        names = tuple(dict.fromkeys((*LOCAL_NAMES, *FAMILY_HOSTS, *extra_hosts)))
        tag = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
        cert, key = self.folder / f"server-{tag}.pem", self.folder / f"server-{tag}-key.pem"
        if not (cert.is_file() and key.is_file()):
            authority = trustme.CA.from_pem(self.cert_path.read_bytes(), (self.folder / CA_KEY).read_bytes())
            leaf = authority.issue_cert(*names, organization_name="apikley-mock")
            _write_private(key, leaf.private_key_pem.bytes())
            cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        return cert, key

    def server_context(self, extra_hosts: tuple[str, ...] = ()) -> ssl.SSLContext:
        cert, key = self.server_files(extra_hosts)
        return server_context(str(cert), str(key))


@functools.cache
def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server's TLS context for these PEM files, made once per process."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def local_ca(folder: str | Path) -> LocalCA:
    """The CA in `folder`, created there (mode 0700, the key 0600) on first use."""
    import trustme

    path = Path(folder).expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        ca = LocalCA(path)
        if not (ca.cert_path.is_file() and (path / CA_KEY).is_file()):
            authority = trustme.CA(organization_name="apikley-mock local CA")
            _write_private(path / CA_KEY, authority.private_key_pem.bytes())
            ca.cert_path.write_bytes(authority.cert_pem.bytes())
        mine = ca.cert_path.read_bytes()
        bundle = system_cas().read_bytes().rstrip(b"\n") + b"\n" + mine
        if not ca.bundle_path.is_file() or ca.bundle_path.read_bytes() != bundle:
            ca.bundle_path.write_bytes(bundle)
    except OSError as exc:
        raise CAError(f"CA directory {path}: {exc.strerror or exc}") from exc
    return ca


def system_cas() -> Path:
    """The CAs this machine trusts: the environment's bundle, else OpenSSL's, else certifi's."""
    import certifi

    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file() and Path(candidate).name != BUNDLE:
            return Path(candidate)
    return Path(certifi.where())


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
