"""Simulated PLCs for tests, benchmarks and demos: a real asyncua Server and a real
pymodbus TCP server, each on 127.0.0.1 in its own thread and event loop.

They are peers, not mocks: the adapters talk to them over TCP exactly as they talk
to a line. :meth:`OpcUaPlc.restart` stops and starts the server's listener (the
address space survives, like a PLC whose OPC UA stack restarts). With a
:class:`PlcSecurity` the OPC UA server offers only Basic256Sha256 endpoints and,
given a trusted folder, accepts only the client certificates in it (OPC UA Part 4
§5.4.1 and §6.1.3, https://reference.opcfoundation.org/Core/Part4/v105/docs/6.1.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the peer's loop and wait for it (from another thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the peer's loop and await it from another loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def shutdown(self) -> None:
        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.call(cancel_rest(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@dataclass(frozen=True)
class PlcSecurity:
    """Message security of the simulated OPC UA server: Basic256Sha256 endpoints in
    ``modes`` only (no ``None`` endpoint), the server's own certificate and key, and,
    with ``trusted`` (a folder of DER/PEM certificates), a trust list: any other client
    certificate is refused with BadCertificateUntrusted."""

    certificate: Path
    private_key: Path
    application_uri: str = "urn:qualitas:simulated-plc"
    trusted: Path | None = None
    modes: tuple[Literal["Sign", "SignAndEncrypt"], ...] = ("Sign", "SignAndEncrypt")


class OpcUaPlc(_LoopThread):
    """An OPC UA server with float variables under ``Objects/Line`` (``ns=2;s=<name>``)."""

    def __init__(
        self,
        variables: dict[str, float],
        *,
        port: int | None = None,
        extra: int = 0,
        security: PlcSecurity | None = None,
    ) -> None:
        super().__init__("opcua-plc")
        self.port = port or free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/qualitas/"
        self.nodes: dict[str, Any] = {}
        self.security = security
        self.call(self._init(variables, extra))

    async def _secure(self) -> None:
        from asyncua import ua
        from asyncua.crypto.truststore import TrustStore
        from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

        sec = self.security
        assert sec is not None
        for name in ("asyncuagds", "asyncua.server.uaprocessor"):  # refused clients are expected here
            logging.getLogger(name).setLevel(logging.CRITICAL)
        await self.server.set_application_uri(sec.application_uri)
        await self.server.load_certificate(str(sec.certificate))
        await self.server.load_private_key(str(sec.private_key))
        self.server.set_security_policy([getattr(ua.SecurityPolicyType, f"Basic256Sha256_{m}") for m in sec.modes])
        if sec.trusted is not None:
            store = TrustStore([sec.trusted], [])
            await store.load()
            options = CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
            self.server.set_certificate_validator(CertificateValidator(options, store))

    async def _init(self, variables: dict[str, float], extra: int) -> None:
        from asyncua import Server, ua

        for name in ("asyncua.server", "asyncua.client"):  # the no-security warnings are expected here
            logging.getLogger(name).setLevel(logging.ERROR)
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(self.endpoint)
        if self.security is None:
            self.server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            await self._secure()
        self.ns = await self.server.register_namespace("urn:qualitas:simulated-plc")
        line = await self.server.nodes.objects.add_object(self.ns, "Line")
        for name, value in variables.items():
            node = await line.add_variable(
                ua.NodeId(name, self.ns), name, float(value), varianttype=ua.VariantType.Double
            )
            await node.set_writable()
            self.nodes[name] = node
        for i in range(extra):  # many items for throughput benchmarks
            name = f"Item{i:05d}"
            self.nodes[name] = await line.add_variable(
                ua.NodeId(name, self.ns), name, 0.0, varianttype=ua.VariantType.Double
            )
        await self.server.start()

    def node_id(self, name: str) -> str:
        return f"ns={self.ns};s={name}"

    def write(self, name: str, value: float) -> None:
        self.call(self.nodes[name].write_value(float(value)))

    async def awrite(self, name: str, value: float) -> None:
        await self.acall(self.nodes[name].write_value(float(value)))

    async def awrite_many(self, values: dict[str, float]) -> None:
        async def go() -> None:
            for name, value in values.items():
                await self.nodes[name].write_value(float(value))

        await self.acall(go())

    def read(self, name: str) -> float:
        return float(self.call(self.nodes[name].read_value()))

    def stop_listener(self) -> None:
        self.call(self.server.stop())

    def start_listener(self) -> None:
        self.call(self.server.start())

    def close(self) -> None:
        try:
            self.call(self.server.stop(), timeout=10)
        finally:
            self.shutdown()


class ModbusPlc(_LoopThread):
    """A Modbus server (device id 1) with ``size`` coils, discrete inputs, holding and
    input registers from protocol address 0 (pymodbus ``SimDevice`` with separate blocks):
    TCP on 127.0.0.1, or RTU on ``serial_port`` (one end of a serial line, e.g. a pty
    pair made by ``socat``) at ``baudrate``."""

    _TABLES: ClassVar[dict[str, int]] = {"co": 1, "di": 2, "hr": 3, "ir": 4}

    def __init__(
        self, *, size: int = 200, port: int | None = None, serial_port: str | None = None, baudrate: int = 19200
    ) -> None:
        super().__init__("modbus-plc")
        self.serial_port = serial_port
        self.baudrate = baudrate
        self.port = 0 if serial_port else port or free_port()
        self.size = size
        self.call(self._start())

    async def _start(self, saved: dict[str, list[int]] | None = None) -> None:
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        def block(datatype: Any, value: Any) -> list[Any]:
            return [SimData(address=0, count=self.size, values=value, datatype=datatype)]

        device = SimDevice(
            id=1,
            simdata=(
                block(DataType.BITS, False),
                block(DataType.BITS, False),
                block(DataType.REGISTERS, 0),
                block(DataType.REGISTERS, 0),
            ),
        )
        self.server: Any
        if self.serial_port:
            self.server = ModbusSerialServer(device, port=self.serial_port, baudrate=self.baudrate)
        else:
            self.server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await self.server.serve_forever(background=True)
        for table, words in (saved or {}).items():
            await self.server.async_setValues(1, self._TABLES[table] if table in ("hr", "ir") else 5, 0, words)

    def set_words(self, address: int, words: list[int], *, table: str = "hr") -> None:
        # function 16 semantics for holding registers; input registers via function code 4's table
        self.call(self.server.async_setValues(1, self._TABLES[table], address, list(words)))

    def get_words(self, address: int, count: int, *, table: str = "hr") -> list[int]:
        return [int(w) for w in self.call(self.server.async_getValues(1, self._TABLES[table], address, count))]

    def stop_listener(self) -> None:
        self._saved = {t: self.get_words(0, self.size, table=t) for t in ("hr", "ir")}
        self.call(self.server.shutdown())

    def start_listener(self) -> None:
        self.call(self._start(getattr(self, "_saved", None)))

    def close(self) -> None:
        try:
            self.call(self.server.shutdown(), timeout=10)
        finally:
            self.shutdown()


def main() -> None:  # pragma: no cover - interactive demo
    """``python -m qualitas.edge_adapters.simulator``: the PLCs examples/edge/weld-line.yaml
    talks to (OPC UA on 4840, Modbus on 5020), with a slowly drifting weld temperature."""
    import math
    import random
    import signal
    import time

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stop as cleanly as on Ctrl-C
    opc = OpcUaPlc({"Temperature": 240.0, "WeldCurrent": 150.0}, port=4840)
    mb = ModbusPlc(port=5020)
    from qualitas.edge_adapters.config import Register
    from qualitas.edge_adapters.modbus import encode

    current = Register(name="weld_current", address=20, type="float32")
    mb.set_words(20, encode(150.0, current))
    print(f"OPC UA at {opc.endpoint}, Modbus at 127.0.0.1:{mb.port}; Ctrl-C to stop")
    rng = random.Random(1)
    t0 = time.monotonic()
    try:
        while True:
            t = time.monotonic() - t0
            drift = 0.0 if t < 20 else 0.05 * (t - 20)
            opc.write("Temperature", 240.0 + rng.gauss(0, 0.3) + drift + 0.1 * math.sin(t))
            mb.set_words(30, [int(100 + rng.gauss(0, 2))])
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        opc.close()
        mb.close()


if __name__ == "__main__":  # pragma: no cover
    main()
