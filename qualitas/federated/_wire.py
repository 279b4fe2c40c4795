"""What crosses the wire: a recording TCP proxy and a decoder for Flower's gRPC stream.

The proxy sits between the Flower clients and the server on loopback and keeps every
byte in both directions. :func:`decode` undoes the layers: HTTP/2 frames (RFC 9113 §4.1:
a 9-octet header of length, type, flags and stream; DATA frames are type 0, with an
optional pad length when the PADDED flag 0x8 is set), then gRPC's length-prefixed
messages (a compressed flag octet and a 4-octet big-endian length,
https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), then Flower's
``ClientMessage`` / ``ServerMessage`` protobufs. :func:`audit_payloads` then says what
each message carried, so a test can check that it is model weights and counts and
nothing else.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@dataclass
class Connection:
    to_server: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)


class RecordingProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream`` and record both directions."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.connections: list[Connection] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._closing = False
        self._accepter = threading.Thread(target=self._accept, name="flower-proxy", daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._sockets += [client, server]
            conn = Connection()
            self.connections.append(conn)
            for src, dst, buf in ((client, server, conn.to_server), (server, client, conn.to_client)):
                t = threading.Thread(target=self._pump, args=(src, dst, buf), daemon=True)
                t.start()
                self._threads.append(t)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, buf: bytearray) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._sock.close()
        for t in self._threads:
            t.join(timeout=2)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> RecordingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def grpc_messages(raw: bytes) -> list[bytes]:
    """The gRPC message payloads in one direction of one HTTP/2 connection."""
    data = raw[len(_PREFACE) :] if raw.startswith(_PREFACE) else raw
    streams: dict[int, bytearray] = {}
    i = 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i : i + 3], "big")
        ftype, flags = data[i + 3], data[i + 4]
        stream = int.from_bytes(data[i + 5 : i + 9], "big") & 0x7FFFFFFF
        payload = data[i + 9 : i + 9 + length]
        i += 9 + length
        if ftype != 0:  # only DATA frames carry messages
            continue
        if flags & 0x8:
            pad = payload[0]
            payload = payload[1 : len(payload) - pad]
        streams.setdefault(stream, bytearray()).extend(payload)
    out: list[bytes] = []
    for body in streams.values():
        j = 0
        while j + 5 <= len(body):
            compressed, size = body[j], struct.unpack(">I", body[j + 1 : j + 5])[0]
            if compressed:
                raise ValueError("compressed gRPC message: the proxy cannot inspect it")
            out.append(bytes(body[j + 5 : j + 5 + size]))
            j += 5 + size
    return out


@dataclass(frozen=True)
class Payload:
    """One Flower message as seen on the wire."""

    direction: str  # "client->server" or "server->client"
    kind: str  # the oneof field: fit_res, fit_ins, get_parameters_res, ...
    tensor_shapes: tuple[tuple[int, ...], ...]
    tensors: tuple[np.ndarray, ...]
    num_examples: int | None
    scalars: dict[str, Any]  # metrics / config / properties entries
    size: int


def _tensors(parameters: Any) -> tuple[np.ndarray, ...]:
    from flwr.common import bytes_to_ndarray

    return tuple(bytes_to_ndarray(t) for t in parameters.tensors)


def _scalars(mapping: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        which = value.WhichOneof("scalar")
        out[key] = getattr(value, which) if which else None
    return out


def decode(conn: Connection) -> list[Payload]:
    """Every Flower message of one recorded connection, both directions."""
    from flwr.proto.transport_pb2 import ClientMessage, ServerMessage

    out: list[Payload] = []
    for direction, raw, cls in (
        ("client->server", bytes(conn.to_server), ClientMessage),
        ("server->client", bytes(conn.to_client), ServerMessage),
    ):
        for blob in grpc_messages(raw):
            msg = cls.FromString(blob)
            kind = msg.WhichOneof("msg") or "empty"
            body = getattr(msg, kind) if kind != "empty" else None
            tensors: tuple[np.ndarray, ...] = ()
            scalars: dict[str, Any] = {}
            n = None
            if body is not None:
                if hasattr(body, "parameters") and body.HasField("parameters"):
                    tensors = _tensors(body.parameters)
                for attr in ("metrics", "config", "properties"):
                    if hasattr(body, attr):
                        scalars.update(_scalars(getattr(body, attr)))
                if hasattr(body, "num_examples"):
                    n = int(body.num_examples)
            out.append(Payload(direction, kind, tuple(t.shape for t in tensors), tensors, n, scalars, len(blob)))
    return out


def audit_payloads(payloads: list[Payload], *, weight_shapes: list[tuple[int, ...]]) -> list[str]:
    """What is wrong with ``payloads`` (empty if nothing): a message that carries a tensor
    of a shape other than the model's, or a scalar that is not a count or a documented
    round setting."""
    problems: list[str] = []
    allowed = {tuple(s) for s in weight_shapes}
    for p in payloads:
        for shape in p.tensor_shapes:
            if shape not in allowed:
                problems.append(f"{p.direction} {p.kind}: a tensor of shape {shape} is not a model weight")
        for key in p.scalars:
            if key not in _ALLOWED_SCALARS:
                problems.append(f"{p.direction} {p.kind}: unexpected field {key!r}")
    return problems


#: Scalars a message may carry: counts and the server's round settings, nothing per row.
_ALLOWED_SCALARS = frozenset({"num_examples", "round", "local_epochs", "learning_rate"})


def raw_values_on_wire(conns: list[Connection], rows: np.ndarray) -> list[float]:
    """Values of ``rows`` whose float64 encoding (either byte order) or decimal text
    appears anywhere in the recorded bytes. (float32's four bytes would match random
    weight bytes by chance; eight bytes or six characters do not.)"""
    blob = b"".join(bytes(c.to_server) + bytes(c.to_client) for c in conns)
    found = []
    for value in np.unique(np.asarray(rows, dtype=np.float64).ravel()):
        for encoded in (
            struct.pack("<d", value),
            struct.pack(">d", value),
            repr(float(value)).encode(),
        ):
            if len(encoded) >= 6 and encoded in blob:
                found.append(float(value))
                break
    return found
