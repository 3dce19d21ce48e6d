"""The TLS contexts of the HTTP clients.

httpx builds a verifying ``ssl.SSLContext`` for every client it creates, reading the CA bundle each time
(about 25 ms). The sign-in credential and the Graph client each have a client, so :func:`ssl_context_for`
builds that context once per process and shares it (an ``SSLContext`` is safe to use from several
clients and threads; httpcore sets the ALPN protocols on it when it connects, and every client here speaks
HTTP/1.1, so they agree). A plain-``http`` endpoint (the emulator on loopback) needs no certificates at
all: its clients get a context that verifies as strictly but trusts no certificate, so nothing is read,
and a redirect to ``https`` fails closed instead of being trusted.
"""

from __future__ import annotations

import functools
import ssl
from urllib.parse import urlsplit

import httpx


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default context (certificate and host name verified; ``SSL_CERT_FILE``/``SSL_CERT_DIR``
    honoured as httpx does), built on first use."""
    return httpx.create_ssl_context()


def trust_nothing_context() -> ssl.SSLContext:
    """A verifying context with no trusted certificate: every TLS handshake with it fails."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default


def ssl_context_for(url: str) -> ssl.SSLContext:
    """The context for a client whose requests go to ``url`` (see the module documentation)."""
    if urlsplit(url).scheme.lower() == "http":
        return trust_nothing_context()
    return default_ssl_context()
