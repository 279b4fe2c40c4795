"""Modbus TCP / RTU source and actuator (pymodbus client; RTU needs pyserial).

Layers::

    ModbusAdapter.run (poll loop, reconnect) ── pymodbus AsyncModbus{Tcp,Serial}Client ── register map codec

Polls a register map (Modbus Application Protocol v1.1b3: function codes 1 coils,
2 discrete inputs, 3 holding registers, 4 input registers) and decodes each entry
as int16 / uint16 / int32 / uint32 / float32 with the configured byte and word
order, then engineering value = raw * scale + offset. Contiguous registers of one
function are read in one request. Writes (function 6 / 16) encode the inverse.
The codec (:func:`decode`, :func:`encode`) is pure and has no pymodbus dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.config import ModbusSource, Register, Target
from qualitas.errors import ConfigError, MissingExtraError, QualitasError

try:
    from pymodbus import FramerType
    from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
    from pymodbus.exceptions import ModbusException
except ImportError as exc:  # pragma: no cover - the edge extra is missing
    raise MissingExtraError("pymodbus", extra="edge") from exc

log = logging.getLogger(__name__)

_FORMATS = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f"}
_PEER_ERRORS = (OSError, asyncio.TimeoutError, ConnectionError, ModbusException)


class ModbusError(QualitasError):
    """A Modbus request failed (the message names the device and register)."""


def width(register: Register) -> int:
    """How many 16-bit registers an entry occupies."""
    return 2 if register.type in ("int32", "uint32", "float32") else 1


def decode(words: Sequence[int], register: Register) -> float:
    """Registers (16-bit words as read) -> engineering value."""
    if register.type == "bool":
        return float(bool(words[0])) * register.scale + register.offset
    ordered = list(words) if register.word_order == "big" else list(reversed(words))
    raw = b"".join(w.to_bytes(2, register.byte_order) for w in ordered)
    # the bytes are now in big-endian order of the whole value
    value = struct.unpack(">" + _FORMATS[register.type], raw)[0]
    return float(value) * register.scale + register.offset


def encode(value: float, register: Register) -> list[int]:
    """Engineering value -> the 16-bit words to write (inverse of :func:`decode`)."""
    raw_value = (value - register.offset) / register.scale
    fmt = _FORMATS.get(register.type)
    if fmt is None:
        raise ConfigError(f"register {register.name!r} of type {register.type} cannot be written as words")
    if fmt != "f":
        raw_value = round(raw_value)
        lo, hi = {"h": (-(2**15), 2**15 - 1), "H": (0, 2**16 - 1), "i": (-(2**31), 2**31 - 1), "I": (0, 2**32 - 1)}[fmt]
        if not lo <= raw_value <= hi:
            raise ModbusError(
                f"{value} does not fit register {register.name!r} ({register.type})", register=register.name
            )
    raw = struct.pack(">" + fmt, raw_value)
    words = [int.from_bytes(raw[i : i + 2], register.byte_order) for i in range(0, len(raw), 2)]
    return words if register.word_order == "big" else list(reversed(words))


@dataclass(frozen=True)
class _Block:
    function: str
    start: int
    count: int
    registers: tuple[Register, ...]


def plan_reads(registers: Sequence[Register], *, max_count: int = 120) -> list[_Block]:
    """Group readable entries into contiguous blocks, one request each."""
    blocks: list[_Block] = []
    by_function: dict[str, list[Register]] = {}
    for r in registers:
        if r.signal is not None:
            by_function.setdefault(r.function, []).append(r)
    for function, regs in by_function.items():
        regs.sort(key=lambda r: r.address)
        current: list[Register] = []
        start = end = 0
        for r in regs:
            if current and (r.address > end or r.address + width(r) - start > max_count):
                blocks.append(_Block(function, start, end - start, tuple(current)))
                current = []
            if not current:
                start = r.address
                end = r.address
            current.append(r)
            end = max(end, r.address + width(r))
        if current:
            blocks.append(_Block(function, start, end - start, tuple(current)))
    return blocks


class ModbusAdapter:
    """One Modbus device: poll the register map, reconnect, write holding registers."""

    def __init__(self, spec: ModbusSource, sink: Callable[[Sample], None]) -> None:
        self.spec = spec
        self.sink = sink
        self.client: Any = None
        self.connected = asyncio.Event()
        self.polls = 0
        self.requests = 0
        self.received = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()  # one request at a time on the wire
        self._blocks = plan_reads(spec.registers)
        self._by_name = {r.name: r for r in spec.registers}

    @property
    def name(self) -> str:
        return self.spec.name

    def stop(self) -> None:
        self._stop.set()

    @property
    def address(self) -> str:
        """Where the device is: ``host:port`` for TCP, the serial port for RTU."""
        s = self.spec
        return f"{s.serial_port} (RTU)" if s.transport == "rtu" else f"{s.host}:{s.port}"

    def _make_client(self) -> Any:
        s = self.spec
        # reconnect_delay=0: the adapter's own loop owns reconnecting (with backoff)
        if s.transport == "rtu":
            if not s.serial_port:
                raise ConfigError(f"Modbus source {s.name!r}: RTU needs serial_port")
            try:
                return AsyncModbusSerialClient(
                    s.serial_port,
                    framer=FramerType.RTU,
                    baudrate=s.baudrate,
                    parity=s.parity,
                    stopbits=s.stopbits,
                    bytesize=8,
                    timeout=s.timeout_s,
                    retries=0,
                    reconnect_delay=0,
                )
            except RuntimeError as exc:  # pymodbus says so when pyserial is missing
                if "pyserial" in str(exc):
                    raise MissingExtraError("pyserial", extra="edge") from exc
                raise
        return AsyncModbusTcpClient(s.host, port=s.port, timeout=s.timeout_s, retries=0, reconnect_delay=0)

    async def _call(self, method: str, address: int, **kwargs: Any) -> Any:
        client = self.client
        if client is None or not client.connected:
            raise ModbusError(f"{self.spec.name}: not connected")
        async with self._lock:
            self.requests += 1
            try:
                response = await getattr(client, method)(address, device_id=self.spec.device_id, **kwargs)
            except _PEER_ERRORS as exc:
                raise ModbusError(f"{self.spec.name}: {method} {address} failed: {exc!r}", address=address) from exc
        if response.isError():
            raise ModbusError(f"{self.spec.name}: {method} {address} returned {response}", address=address)
        return response

    async def _read_block(self, block: _Block) -> list[int]:
        method = {
            "holding": "read_holding_registers",
            "input": "read_input_registers",
            "coil": "read_coils",
            "discrete": "read_discrete_inputs",
        }[block.function]
        response = await self._call(method, block.start, count=block.count)
        if block.function in ("coil", "discrete"):
            return [int(b) for b in response.bits[: block.count]]
        return list(response.registers)

    async def poll_once(self) -> list[Sample]:
        """One pass over the register map; the samples also go to the sink."""
        now = time.time()
        out: list[Sample] = []
        for block in self._blocks:
            words = await self._read_block(block)
            for r in block.registers:
                i = r.address - block.start
                value = decode(words[i : i + width(r)], r)
                assert r.signal is not None
                out.append(Sample(r.signal, value, now, self.spec.name))
        self.polls += 1
        self.received += len(out)
        for sample in out:
            self.sink(sample)
        return out

    async def run(self) -> None:
        """Poll every ``poll_ms`` until :meth:`stop`, reconnecting with backoff."""
        delay = self.spec.reconnect_min_s
        period = self.spec.poll_ms / 1000
        while not self._stop.is_set():
            try:
                self.client = self._make_client()
                if not await self.client.connect():
                    raise ModbusError(f"{self.spec.name}: cannot connect to {self.address}")
                self.connected.set()
                delay = self.spec.reconnect_min_s
                next_at = time.monotonic()
                while not self._stop.is_set():
                    await self.poll_once()
                    next_at += period
                    wait = next_at - time.monotonic()
                    if wait < 0:
                        next_at = time.monotonic()
                        wait = 0
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), wait)
            except ModbusError as exc:
                self.last_error = str(exc)
                log.info("%s; reconnecting in %.1fs", exc, delay)
            finally:
                self.connected.clear()
                if self.client is not None:
                    self.client.close()
                self.client = None
            if self._stop.is_set():
                break
            self.reconnects += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.spec.reconnect_max_s)

    # -------------------------------------------------------------- actuator

    def _register(self, target: Target) -> Register:
        assert target.register_name is not None
        try:
            return self._by_name[target.register_name]
        except KeyError:
            raise ConfigError(f"Modbus source {self.spec.name!r} has no register {target.register_name!r}") from None

    async def _ready(self) -> None:
        try:
            await asyncio.wait_for(self.connected.wait(), 5.0)
        except TimeoutError:
            raise ModbusError(f"{self.spec.name}: not connected") from None

    async def read_target(self, target: Target) -> float:
        await self._ready()
        r = self._register(target)
        words = await self._read_block(_Block(r.function, r.address, width(r), (r,)))
        return decode(words, r)

    async def write_target(self, target: Target, value: float) -> None:
        await self._ready()
        r = self._register(target)
        if r.function == "coil":
            await self._call("write_coil", r.address, value=bool(value))
            return
        if r.function != "holding":
            raise ConfigError(f"register {r.name!r} ({r.function}) is not writable")
        words = encode(value, r)
        if len(words) == 1:
            await self._call("write_register", r.address, value=words[0])
        else:
            await self._call("write_registers", r.address, values=words)
