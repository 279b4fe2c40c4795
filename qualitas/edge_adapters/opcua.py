"""OPC UA source and actuator (asyncua client).

Layers::

    OpcUaAdapter.run (reconnect loop, backoff) ── asyncua Client ── Subscription ── _Handler ── Sample -> SpillBuffer

Subscribes to the configured nodes (OPC UA Part 4 §5.12 monitored items, with the
configured sampling and publishing intervals), turns every data change into a
:class:`Sample` and hands it to the sink (the spill buffer) without awaiting. When
the connection drops, the loop tears the client down and reconnects with
exponential backoff, then re-creates the subscription; samples already received
sit in the buffer meanwhile, so none is lost. Optional message security:
Basic256Sha256 (or the two newer RSA policies), Sign or SignAndEncrypt, with
certificate files (OPC UA Part 4 §6.1, https://reference.opcfoundation.org/Core/Part4/v105/docs/6.1).
The client's application URI is taken from its certificate, as Part 4 §6.1.3 has
servers check. A server that refuses the security (no endpoint with the configured
policy and mode, or the certificate is rejected) is not retried: the adapter stops
with :class:`OpcUaSecurityError`, which says what the server offers or rejected.
Writes for the closed loop go through :meth:`write_target`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.config import OpcUaSource, Security, Target
from qualitas.errors import ConfigError, MissingExtraError, QualitasError

try:
    from asyncua import Client, ua
    from asyncua.crypto import security_policies, uacrypto
    from asyncua.ua import status_codes
    from cryptography import x509
except ImportError as exc:  # pragma: no cover - the edge extra is missing
    raise MissingExtraError("asyncua", extra="edge") from exc

log = logging.getLogger(__name__)

#: asyncua errors that mean "the peer is gone or refused", caught only here.
_PEER_ERRORS = (OSError, asyncio.TimeoutError, ConnectionError, ua.UaError)


#: Service results that mean "not with this security": retrying cannot help
#: (OPC UA Part 4 §7.38.2, https://reference.opcfoundation.org/Core/Part4/v105/docs/7.38.2).
_REFUSALS = frozenset(
    {
        "BadSecurityPolicyRejected",
        "BadSecurityModeRejected",
        "BadSecurityChecksFailed",
        "BadNoValidCertificates",
        "BadApplicationSignatureInvalid",
        "BadCertificateInvalid",
        "BadCertificateUntrusted",
        "BadCertificateUriInvalid",
        "BadCertificateUseNotAllowed",
        "BadCertificateTimeInvalid",
        "BadCertificateHostNameInvalid",
        "BadCertificatePolicyCheckFailed",
        "BadCertificateRevoked",
        "BadCertificateRevocationUnknown",
        "BadCertificateIssuerRevoked",
        "BadCertificateIssuerRevocationUnknown",
        "BadCertificateIssuerTimeInvalid",
        "BadCertificateIssuerUseNotAllowed",
        "BadIdentityTokenInvalid",
        "BadIdentityTokenRejected",
        "BadUserAccessDenied",
    }
)


class OpcUaError(QualitasError):
    """An OPC UA read or write failed (the message names the endpoint and node)."""


class OpcUaSecurityError(OpcUaError, ConfigError):
    """The server refuses this client's security (policy, mode or certificate), or a
    certificate file is unusable. Not retried; the message says what to change."""


def _endpoint_label(policy_uri: str, mode: Any) -> str:
    """``policy/mode`` in the configuration's words, e.g. ``Aes256Sha256RsaPss/Sign``."""
    name = mode.name.rstrip("_") if hasattr(mode, "name") else str(mode)
    return f"{policy_uri.rsplit('#', 1)[-1].replace('_', '')}/{name}"


def _wanted(security: Security | None) -> tuple[str, Any]:
    """(policy URI, message security mode) the source asks for."""
    if security is None:
        return security_policies.SecurityPolicyNone.URI, ua.MessageSecurityMode.None_
    policy = getattr(security_policies, f"SecurityPolicy{security.policy}")
    return policy.URI, getattr(ua.MessageSecurityMode, security.mode)


def certificate_uri(certificate: x509.Certificate) -> str | None:
    """The application URI in a certificate's subjectAltName (Part 6 §6.2.2), if any."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def subscription_parameters(publishing_ms: float, *, keepalive_s: float = 5.0) -> Any:
    """Subscription parameters (OPC UA Part 4 §5.13.2) with a keep-alive of about
    ``keepalive_s``: a busy server that answers a publish late is then not mistaken
    for a dead subscription (asyncua re-creates "stale" subscriptions, which costs
    every monitored item again)."""
    keepalive = max(3, round(keepalive_s * 1000 / max(publishing_ms, 1.0)))
    return ua.CreateSubscriptionParameters(
        RequestedPublishingInterval=publishing_ms,
        RequestedLifetimeCount=keepalive * 4,
        RequestedMaxKeepAliveCount=keepalive,
        MaxNotificationsPerPublish=0,  # no limit
        PublishingEnabled=True,
        Priority=0,
    )


class _Handler:
    def __init__(self, adapter: OpcUaAdapter) -> None:
        self.adapter = adapter

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        a = self.adapter
        signal = a._signals.get(node.nodeid)
        if signal is None:
            return
        try:
            value = float(val)
        except (TypeError, ValueError):
            return
        dv = data.monitored_item.Value
        stamp = dv.SourceTimestamp or dv.ServerTimestamp
        ts = stamp.timestamp() if stamp is not None else time.time()
        quality = "good" if dv.StatusCode is None or dv.StatusCode.is_good() else "bad"
        a.received += 1
        a.sink(Sample(signal, value, ts, a.spec.name, quality))

    def status_change_notification(self, status: Any) -> None:
        log.info("OPC UA %s: subscription status %s", self.adapter.spec.endpoint, status)


class OpcUaAdapter:
    """One OPC UA server: subscribe, reconnect, and read/write for the closed loop."""

    def __init__(self, spec: OpcUaSource, sink: Callable[[Sample], None]) -> None:
        self.spec = spec
        self.sink = sink
        self.client: Any = None
        self.connected = asyncio.Event()
        self.received = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._signals: dict[Any, str] = {}
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._variant_types: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    def stop(self) -> None:
        self._stop.set()

    def _security_error(self, message: str, **context: object) -> OpcUaSecurityError:
        return OpcUaSecurityError(
            f"{self.spec.endpoint} (source {self.spec.name!r}): {message}",
            endpoint=self.spec.endpoint,
            source=self.spec.name,
            **context,
        )

    async def _set_security(self, client: Any, sec: Security) -> None:
        files = {"certificate": sec.certificate, "private_key": sec.private_key}
        if sec.server_certificate is not None:
            files["server_certificate"] = sec.server_certificate
        for key, path in files.items():
            if not Path(path).is_file():
                raise self._security_error(f"security.{key} {path} is not a file", file=str(path))
        try:
            cert = await uacrypto.load_certificate(str(sec.certificate))
        except ValueError as exc:
            raise self._security_error(
                f"security.certificate {sec.certificate} is not a PEM or DER certificate: {exc}",
                file=str(sec.certificate),
            ) from exc
        uri = certificate_uri(cert)
        if uri is not None:  # servers check that the session's application URI is the certificate's
            client.application_uri = uri
        try:
            await client.set_security(
                getattr(security_policies, f"SecurityPolicy{sec.policy}"),
                str(sec.certificate),
                str(sec.private_key),
                server_certificate=str(sec.server_certificate) if sec.server_certificate else None,
                mode=getattr(ua.MessageSecurityMode, sec.mode),
            )
        except (ValueError, TypeError) as exc:  # cryptography: unreadable key or certificate
            raise self._security_error(f"cannot load the certificate or private key: {exc}") from exc

    async def _offered(self) -> list[tuple[str, Any]] | None:
        """The (policy URI, mode) pairs the server's endpoints offer, or None if it cannot be asked."""
        probe = Client(self.spec.endpoint, timeout=self.spec.timeout_s)
        try:
            endpoints: Iterable[Any] = await probe.connect_and_get_server_endpoints()
        except _PEER_ERRORS:
            return None
        return list(dict.fromkeys((ep.SecurityPolicyUri, ep.SecurityMode) for ep in endpoints))

    async def _connect(self, client: Any) -> None:
        """Secure (if configured) and connect ``client``; a security refusal becomes
        :class:`OpcUaSecurityError`, anything else propagates to the reconnect loop."""
        spec = self.spec

        async def lost(exc: Exception) -> None:
            self.last_error = repr(exc)
            self._lost.set()

        client.connection_lost_callback = lost
        self._lost.clear()
        try:
            if spec.security is not None:
                await self._set_security(client, spec.security)
            await client.connect()
        except _PEER_ERRORS as exc:
            refusal = self._refusal(exc) if isinstance(exc, ua.UaStatusCodeError) else None
            if refusal is None and not isinstance(exc, ConnectionRefusedError):
                refusal = await self._mismatch()  # e.g. "No matching endpoints", or a server that just hangs up
            if refusal is not None:
                raise refusal from exc
            raise

    def _refusal(self, exc: Any) -> OpcUaSecurityError | None:
        name, doc = status_codes.get_name_and_doc(exc.code)
        if name not in _REFUSALS:
            return None
        sec = self.spec.security
        what = (
            f"the server refused certificate {sec.certificate}"
            if sec is not None and "Certificate" in name
            else "the server refused the connection"
        )
        hint = (
            "; have the server trust it (e.g. copy it into the server's trusted certificates)"
            if name == "BadCertificateUntrusted"
            else ""
        )
        return self._security_error(f"{what}: {name} ({doc.rstrip('.')}){hint}", status=name)

    async def _mismatch(self) -> OpcUaSecurityError | None:
        """An error if the server answers GetEndpoints without the policy and mode we ask for."""
        offered = await self._offered()
        wanted = _wanted(self.spec.security)
        if offered is None or wanted in offered:
            return None
        labels = ", ".join(_endpoint_label(uri, mode) for uri, mode in offered) or "no endpoint"
        fix = (
            "set `security:` (policy, mode, certificate, private_key) on the source"
            if self.spec.security is None
            else "set security.policy and security.mode to one of these"
        )
        return self._security_error(
            f"the client asks for security {_endpoint_label(*wanted)}, but the server offers only {labels}; {fix}",
            offered=labels,
        )

    async def _subscribe(self, client: Any) -> None:
        spec = self.spec
        kwargs: dict[str, Any] = {}
        if "queue_maxsize" in inspect.signature(client.create_subscription).parameters:
            kwargs["queue_maxsize"] = 0  # unbounded: never drop a notification client-side
        sub = await client.create_subscription(subscription_parameters(spec.publishing_ms), _Handler(self), **kwargs)
        nodes = [client.get_node(n.node) for n in spec.nodes]
        self._signals = {node.nodeid: n.signal for node, n in zip(nodes, spec.nodes, strict=True)}
        for i in range(0, len(nodes), 1000):  # keep requests below typical server limits
            await sub.subscribe_data_change(
                nodes[i : i + 1000], queuesize=spec.queue_size, sampling_interval=spec.sampling_ms
            )

    async def _wait_lost(self, client: Any) -> None:
        """Until the connection is lost or :meth:`stop` is called."""
        stop = asyncio.ensure_future(self._stop.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while not self._stop.is_set() and not self._lost.is_set():
                await asyncio.wait({stop, lost}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                if not self._stop.is_set() and not self._lost.is_set():
                    try:  # asyncua 1.x has no loss callback: poll
                        await client.check_connection()
                    except _PEER_ERRORS as exc:
                        self.last_error = repr(exc)
                        return
        finally:
            stop.cancel()
            lost.cancel()

    async def run(self) -> None:
        """Connect, subscribe and stay connected until :meth:`stop`."""
        delay = self.spec.reconnect_min_s
        while not self._stop.is_set():
            client = Client(self.spec.endpoint, timeout=self.spec.timeout_s)
            opened = False
            try:
                await self._connect(client)
                opened = True
                await self._subscribe(client)
                self.client = client
                self.connected.set()
                delay = self.spec.reconnect_min_s
                await self._wait_lost(client)
            except _PEER_ERRORS as exc:
                self.last_error = repr(exc)
                log.info("OPC UA %s: %r; retrying in %.1fs", self.spec.endpoint, exc, delay)
            finally:
                self.connected.clear()
                self.client = None
                if opened:
                    with contextlib.suppress(*_PEER_ERRORS, asyncio.CancelledError, RuntimeError):
                        await asyncio.wait_for(client.disconnect(), 2.0)
                else:  # no session or channel to close, only the socket
                    client.disconnect_socket()
            if self._stop.is_set():
                break
            self.reconnects += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.spec.reconnect_max_s)

    # -------------------------------------------------------------- actuator

    async def _ready(self, node_id: str, timeout: float = 5.0) -> Any:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError:
            raise OpcUaError(f"{self.spec.endpoint}: not connected (node {node_id})", node=node_id) from None
        return self.client

    async def read_target(self, target: Target) -> float:
        assert target.node is not None
        client = await self._ready(target.node)
        try:
            return float(await client.get_node(target.node).read_value())
        except _PEER_ERRORS as exc:
            raise OpcUaError(f"{self.spec.endpoint}: read {target.node} failed: {exc!r}", node=target.node) from exc

    async def write_target(self, target: Target, value: float) -> None:
        assert target.node is not None
        client = await self._ready(target.node)
        node = client.get_node(target.node)
        try:
            vtype = self._variant_types.get(target.node)
            if vtype is None:
                vtype = self._variant_types[target.node] = await node.read_data_type_as_variant_type()
            integral = vtype in (
                ua.VariantType.Int16,
                ua.VariantType.Int32,
                ua.VariantType.Int64,
                ua.VariantType.UInt16,
                ua.VariantType.UInt32,
                ua.VariantType.UInt64,
            )
            await node.write_value(ua.DataValue(ua.Variant(round(value) if integral else value, vtype)))
        except _PEER_ERRORS as exc:
            raise OpcUaError(f"{self.spec.endpoint}: write {target.node} failed: {exc!r}", node=target.node) from exc
