"""A stand-in for Amazon SNS's side of an HTTP subscription, following its published contract.

It owns a test CA, serves the RSA signing certificate over HTTPS (as sns.<region>.amazonaws.com does), answers the
SubscribeURL (counting confirmations), and signs messages exactly as SNS documents: the canonical key/value string,
RSA PKCS#1 v1.5 with SHA1 (SignatureVersion 1) or SHA256 (SignatureVersion 2).
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from signalcraft.ingest.sources.cloudwatch import string_to_sign

TOPIC = "arn:aws:sns:eu-west-1:123456789012:signalcraft-alarms"


def _certificate(
    subject: str, key: rsa.RSAPrivateKey, issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None, *, ca: bool = False
) -> x509.Certificate:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, subject), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon")]
    )
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    directory: Path
    port: int = 0
    confirmations: list[str] = field(default_factory=list)
    certificate_fetches: int = 0

    def __post_init__(self) -> None:
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca = _certificate("test SNS CA", self.ca_key, None, ca=True)
        self.tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.tls = _certificate("localhost", self.tls_key, (self.ca.subject, self.ca_key))
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing = _certificate("sns.amazonaws.com", self.signing_key, (self.ca.subject, self.ca_key))
        self.ca_file = self.directory / "sns-ca.pem"
        self.ca_file.write_bytes(_pem(self.ca))

    @property
    def cert_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/SimpleNotificationService-test.pem"

    @property
    def subscribe_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"

    def message(self, kind: str, body: str, *, subject: str | None = None, version: str = "1", **extra: Any) -> bytes:
        document: dict[str, Any] = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Message": body,
            "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url,
        }
        if subject is not None:
            document["Subject"] = subject
        if kind == "SubscriptionConfirmation":
            document.update(Token="tok", SubscribeURL=self.subscribe_url)
        document.update(extra)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.signing_key.sign(string_to_sign(document), padding.PKCS1v15(), algorithm)
        document["Signature"] = base64.b64encode(signature).decode()
        return json.dumps(document).encode()


@contextmanager
def fake_sns(directory: Path) -> Iterator[FakeSns]:
    sns = FakeSns(directory)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith(".pem"):
                sns.certificate_fetches += 1
                payload = _pem(sns.signing)
            else:
                sns.confirmations.append(self.path)
                payload = (
                    b"<ConfirmSubscriptionResponse><SubscriptionArn>arn</SubscriptionArn></ConfirmSubscriptionResponse>"
                )
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            return

    (directory / "tls.pem").write_bytes(_pem(sns.tls))
    (directory / "tls.key").write_bytes(
        sns.tls_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "tls.pem", directory / "tls.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sns.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sns
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
