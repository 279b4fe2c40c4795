"""OPC UA message security against a real asyncua Server on 127.0.0.1 that offers only
Basic256Sha256 (Sign, SignAndEncrypt) and trusts one client certificate: our adapter
subscribes with the configured certificate files in either mode, and a client without
the right security is refused with an error that says why (OPC UA Part 4 §6.1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.config import OpcUaSource, Security, parse_config
from qualitas.edge_adapters.opcua import OpcUaAdapter, OpcUaSecurityError
from qualitas.edge_adapters.runner import EdgeRunner
from qualitas.edge_adapters.simulator import OpcUaPlc, PlcSecurity
from qualitas.errors import ConfigError, mapping_for

CLIENT_URI = "urn:qualitas:edge:test-client"


@dataclass(frozen=True)
class Pair:
    certificate: Path  # DER
    private_key: Path  # PEM


def _self_signed(folder: Path, name: str, uri: str, use: x509.ObjectIdentifier) -> Pair:
    """An application instance certificate (OPC UA Part 6 §6.2.2) made at test time."""
    key = cert_gen.generate_private_key()
    names = [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost"), x509.DNSName(socket.gethostname())]
    cert = cert_gen.generate_self_signed_app_certificate(key, name, {}, names, extended=[use], days=2)
    pair = Pair(folder / f"{name}.der", folder / f"{name}.pem")
    pair.certificate.write_bytes(cert.public_bytes(Encoding.DER))
    pair.private_key.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return pair


@dataclass(frozen=True)
class SecureLine:
    plc: OpcUaPlc
    server: Pair
    client: Pair
    stranger: Pair  # a well-formed client certificate the server does not trust


@pytest.fixture(scope="module")
def secure_line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureLine]:
    folder = tmp_path_factory.mktemp("pki")
    (folder / "trusted").mkdir()
    server = _self_signed(folder, "plc", "urn:qualitas:simulated-plc", ExtendedKeyUsageOID.SERVER_AUTH)
    client = _self_signed(folder, "edge", CLIENT_URI, ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _self_signed(folder, "stranger", CLIENT_URI, ExtendedKeyUsageOID.CLIENT_AUTH)
    (folder / "trusted" / "edge.der").write_bytes(client.certificate.read_bytes())
    security = PlcSecurity(server.certificate, server.private_key, trusted=folder / "trusted")
    plc = OpcUaPlc({"Temperature": 240.0}, security=security)
    yield SecureLine(plc, server, client, stranger)
    plc.close()


def _source(line: SecureLine, security: Security | None, **options: object) -> OpcUaSource:
    return OpcUaSource.model_validate(
        {
            "kind": "opcua",
            "name": "plc",
            "endpoint": line.plc.endpoint,
            "sampling_ms": 5,
            "publishing_ms": 10,
            "reconnect_min_s": 0.05,
            "nodes": [{"node": line.plc.node_id("Temperature"), "signal": "weld.temperature"}],
            "security": security.model_dump() if security is not None else None,
            **options,
        }
    )


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
@pytest.mark.parametrize("pinned", [True, False], ids=["server-cert-file", "server-cert-from-endpoints"])
async def test_subscribes_with_basic256sha256(secure_line: SecureLine, mode: str, pinned: bool) -> None:
    security = Security(
        policy="Basic256Sha256",
        mode=mode,  # type: ignore[arg-type]
        certificate=secure_line.client.certificate,
        private_key=secure_line.client.private_key,
        server_certificate=secure_line.server.certificate if pinned else None,
    )
    samples: list[Sample] = []
    adapter = OpcUaAdapter(_source(secure_line, security), samples.append)
    task = asyncio.create_task(adapter.run())
    try:
        await asyncio.wait_for(adapter.connected.wait(), 10)
        channel = adapter.client.uaclient.security_policy
        assert channel.URI.endswith("#Basic256Sha256")
        assert channel.Mode == getattr(ua.MessageSecurityMode, mode)
        assert adapter.client.application_uri == CLIENT_URI  # taken from the certificate
        for value in (241.5, 242.5, 243.5):
            await secure_line.plc.awrite("Temperature", value)
            await asyncio.sleep(0.05)
        for _ in range(200):
            if samples and samples[-1].value == 243.5:
                break
            await asyncio.sleep(0.01)
        assert {s.value for s in samples} >= {241.5, 242.5, 243.5}
        assert all(s.signal == "weld.temperature" and s.quality == "good" for s in samples)
        assert adapter.reconnects == 0
    finally:
        adapter.stop()
        await asyncio.wait_for(task, 10)


async def _refused(source: OpcUaSource) -> OpcUaSecurityError:
    adapter = OpcUaAdapter(source, lambda _: None)
    with pytest.raises(OpcUaSecurityError) as caught:
        await asyncio.wait_for(adapter.run(), 10)  # refused once, not retried forever
    assert adapter.reconnects == 0 and not adapter.connected.is_set()
    return caught.value


async def test_a_client_without_security_is_refused_with_what_the_server_offers(secure_line: SecureLine) -> None:
    error = await _refused(_source(secure_line, None))
    assert str(error) == (
        f"{secure_line.plc.endpoint} (source 'plc'): the client asks for security None/None, but the server "
        "offers only Basic256Sha256/Sign, Basic256Sha256/SignAndEncrypt; "
        "set `security:` (policy, mode, certificate, private_key) on the source"
    )
    assert isinstance(error, ConfigError) and mapping_for(error).exit_code == 78


async def test_a_policy_the_server_does_not_offer_is_refused(secure_line: SecureLine) -> None:
    security = Security(
        policy="Aes256Sha256RsaPss",
        certificate=secure_line.client.certificate,
        private_key=secure_line.client.private_key,
        server_certificate=secure_line.server.certificate,
    )
    # asyncua's server drops an unknown policy without an answer: the adapter asks for its endpoints
    error = await _refused(_source(secure_line, security, timeout_s=1.0))
    assert "asks for security Aes256Sha256RsaPss/SignAndEncrypt, but the server offers only Basic256Sha256/Sign" in (
        str(error)
    )
    assert str(error).endswith("set security.policy and security.mode to one of these")


async def test_an_untrusted_client_certificate_is_refused(secure_line: SecureLine) -> None:
    security = Security(certificate=secure_line.stranger.certificate, private_key=secure_line.stranger.private_key)
    error = await _refused(_source(secure_line, security))
    assert str(error) == (
        f"{secure_line.plc.endpoint} (source 'plc'): the server refused certificate "
        f"{secure_line.stranger.certificate}: BadCertificateUntrusted (The certificate is not trusted); "
        "have the server trust it (e.g. copy it into the server's trusted certificates)"
    )


async def test_a_missing_certificate_file_is_named(secure_line: SecureLine, tmp_path: Path) -> None:
    security = Security(certificate=tmp_path / "missing.der", private_key=secure_line.client.private_key)
    error = await _refused(_source(secure_line, security))
    assert str(error).endswith(f"security.certificate {tmp_path / 'missing.der'} is not a file")


async def test_the_runner_stops_with_the_refusal(secure_line: SecureLine, tmp_path: Path) -> None:
    config = parse_config(
        {
            "run": {"id": "RUN-SEC-1"},
            "series_dir": str(tmp_path / "series"),
            "sources": [_source(secure_line, None).model_dump(mode="json")],
        }
    )
    runner = EdgeRunner(config)
    with pytest.raises(OpcUaSecurityError, match="server offers only Basic256Sha256/Sign"):
        await asyncio.wait_for(runner.run(duration=20), 15)
