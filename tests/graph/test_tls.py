"""TLS contexts of the HTTP clients: shared and verifying for https, trusting nothing for plain http."""

from __future__ import annotations

import os
import ssl

from entrabr_tui.graph.tls import default_ssl_context, ssl_context_for


def test_https_endpoints_share_one_verifying_context_with_the_ca_bundle() -> None:
    first = ssl_context_for("https://graph.microsoft.com/v1.0")
    assert first is ssl_context_for("HTTPS://login.microsoftonline.com") is default_ssl_context()
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname
    if not os.environ.get("SSL_CERT_DIR"):  # a CA directory is read lazily, at the first handshake
        assert first.cert_store_stats()["x509_ca"] > 0


def test_plain_http_endpoints_get_a_verifying_context_that_trusts_no_certificate() -> None:
    context = ssl_context_for("http://127.0.0.1:8000/v1.0")
    assert context is not default_ssl_context() and context is not ssl_context_for("http://127.0.0.1:1")
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0 and context.get_ca_certs() == []
