"""Modbus: the register codec, read planning, and polling/writing a real pymodbus server,
over TCP on 127.0.0.1 and over RTU on a serial line pair made by socat."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.config import ModbusSource, Register, Target
from qualitas.edge_adapters.modbus import ModbusAdapter, ModbusError, decode, encode, plan_reads, width
from qualitas.edge_adapters.simulator import ModbusPlc
from qualitas.errors import ConfigError

VALUES = {"int16": -1234, "uint16": 54321, "int32": -123456789, "uint32": 3_000_000_000, "float32": -1.5e3}


@pytest.mark.parametrize(
    ("kind", "byte_order", "word_order"), list(itertools.product(VALUES, ("big", "little"), ("big", "little")))
)
def test_codec_round_trips(kind: str, byte_order: str, word_order: str) -> None:
    r = Register(name="r", address=0, type=kind, byte_order=byte_order, word_order=word_order)  # type: ignore[arg-type]
    assert decode(encode(VALUES[kind], r), r) == pytest.approx(VALUES[kind])


def test_known_word_layouts_and_scaling() -> None:
    f = Register(name="f", address=0, type="float32")
    assert encode(1.0, f) == [0x3F80, 0x0000]
    assert encode(1.0, f.model_copy(update={"word_order": "little"})) == [0x0000, 0x3F80]
    assert encode(1.0, f.model_copy(update={"byte_order": "little"})) == [0x803F, 0x0000]
    t = Register(name="t", address=0, type="int16", scale=0.1, offset=-40)
    assert encode(25.0, t) == [650] and decode([650], t) == pytest.approx(25.0)
    with pytest.raises(ModbusError):
        encode(70000, Register(name="u", address=0, type="uint16"))


def test_contiguous_registers_are_read_in_one_request() -> None:
    regs = [
        Register(name="a", signal="a", address=0, type="float32"),
        Register(name="b", signal="b", address=2, type="uint16"),
        Register(name="c", signal="c", address=10, type="uint16"),
        Register(name="d", signal="d", function="input", address=0),
        Register(name="w", address=3),  # write-only: not polled
    ]
    blocks = plan_reads(regs)
    assert [(b.function, b.start, b.count) for b in blocks] == [("holding", 0, 3), ("holding", 10, 1), ("input", 0, 1)]


async def test_poll_write_and_reconnect_against_a_real_server(modbus_plc: ModbusPlc) -> None:
    regs = [
        Register(name="temp", signal="oven.temp", address=40, type="int16", scale=0.1),
        Register(name="count", signal="oven.count", address=41, type="uint32", word_order="little"),
        Register(name="power", signal="oven.power", function="input", address=40, type="float32"),
    ]
    modbus_plc.set_words(40, encode(231.5, regs[0]) + encode(123456, regs[1]))
    modbus_plc.set_words(40, encode(7.25, regs[2]), table="ir")
    samples: list[Sample] = []
    adapter = ModbusAdapter(
        ModbusSource(
            kind="modbus", name="oven", port=modbus_plc.port, poll_ms=10, reconnect_min_s=0.05, registers=regs
        ),
        samples.append,
    )
    task = asyncio.create_task(adapter.run())
    await asyncio.wait_for(adapter.connected.wait(), 5)
    await asyncio.sleep(0.05)
    latest = {s.signal: s.value for s in samples}
    assert latest == {"oven.temp": pytest.approx(231.5), "oven.count": 123456, "oven.power": 7.25}
    target = Target(source="oven", register="temp", min=0, max=300, max_step=10)
    await adapter.write_target(target, 228.4)
    assert modbus_plc.get_words(40, 1) == [2284]
    assert await adapter.read_target(target) == pytest.approx(228.4)

    await asyncio.to_thread(modbus_plc.stop_listener)
    await asyncio.sleep(0.1)
    await asyncio.to_thread(modbus_plc.start_listener)
    for _ in range(500):
        if adapter.reconnects >= 1 and adapter.connected.is_set():
            break
        await asyncio.sleep(0.01)
    n = len(samples)
    await asyncio.sleep(0.05)
    assert len(samples) > n and adapter.reconnects >= 1
    adapter.stop()
    await task


# ---------------------------------------------------------------- RTU over a real serial line


@dataclass(frozen=True)
class SerialLine:
    device_end: str  # the PLC's side
    adapter_end: str  # ours


@pytest.fixture(scope="module")
def serial_line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SerialLine]:
    """Two ptys joined by socat: bytes written to one end are read at the other, as on RS-485."""
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed (Debian package socat; .ci/run installs it): no serial line for RTU")
    folder = tmp_path_factory.mktemp("serial")
    a, b = folder / "ttyA", folder / "ttyB"
    with (folder / "socat.log").open("wb") as log:
        proc = subprocess.Popen([socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"], stderr=log)
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()):
            assert proc.poll() is None, (folder / "socat.log").read_text()
            assert time.monotonic() < deadline, "socat made no pty pair in 5 s"
            time.sleep(0.01)
        yield SerialLine(str(a), str(b))
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="module")
def rtu_plc(serial_line: SerialLine) -> Iterator[ModbusPlc]:
    plc = ModbusPlc(size=60, serial_port=serial_line.device_end, baudrate=115200)
    yield plc
    plc.close()


async def test_rtu_polls_and_writes_every_type_and_order(rtu_plc: ModbusPlc, serial_line: SerialLine) -> None:
    regs, address = [], 0
    for kind, byte_order, word_order in itertools.product(VALUES, ("big", "little"), ("big", "little")):
        name = f"{kind}-{byte_order}-{word_order}"
        regs.append(
            Register(name=name, signal=name, address=address, type=kind, byte_order=byte_order, word_order=word_order)  # type: ignore[arg-type]
        )
        address += width(regs[-1])
    words = [w for r in regs for w in encode(VALUES[r.type], r)]
    rtu_plc.set_words(0, words)
    samples: list[Sample] = []
    adapter = ModbusAdapter(
        ModbusSource(
            kind="modbus",
            name="rtu",
            transport="rtu",
            serial_port=serial_line.adapter_end,
            baudrate=115200,
            poll_ms=20,
            timeout_s=0.3,
            reconnect_min_s=0.05,
            registers=regs,
        ),
        samples.append,
    )
    assert adapter.address == f"{serial_line.adapter_end} (RTU)"
    task = asyncio.create_task(adapter.run())
    try:
        await asyncio.wait_for(adapter.connected.wait(), 5)
        for _ in range(300):
            if adapter.polls >= 1:
                break
            await asyncio.sleep(0.01)
        latest = {s.signal: s.value for s in samples}
        assert latest == {r.name: pytest.approx(VALUES[r.type]) for r in regs}
        assert adapter.requests == adapter.polls  # 20 entries, 30 contiguous registers: one request a poll

        for r in regs:  # function 6 for one word, 16 for two, each in the register's own layout
            value = {"int16": 1234, "uint16": 4321, "int32": -7654321, "uint32": 4_000_000_000, "float32": 2.75}[r.type]
            target = Target(source="rtu", register=r.name, min=-1e10, max=1e10, max_step=1e10)
            await adapter.write_target(target, value)
            assert rtu_plc.get_words(r.address, width(r)) == encode(value, r)
            assert decode(rtu_plc.get_words(r.address, width(r)), r) == pytest.approx(value)

        # the device goes silent (power cycle): requests time out, the adapter reopens the line
        await asyncio.to_thread(rtu_plc.stop_listener)
        for _ in range(300):
            if adapter.reconnects >= 1:
                break
            await asyncio.sleep(0.01)
        assert adapter.reconnects >= 1 and "rtu" in (adapter.last_error or "")
        await asyncio.to_thread(rtu_plc.start_listener)
        polls = adapter.polls
        for _ in range(300):
            if adapter.polls > polls + 1:
                break
            await asyncio.sleep(0.01)
        assert adapter.polls > polls + 1 and adapter.connected.is_set()
    finally:
        adapter.stop()
        await asyncio.wait_for(task, 5)


def test_rtu_needs_a_serial_port() -> None:
    adapter = ModbusAdapter(ModbusSource(kind="modbus", name="rtu", transport="rtu"), lambda _: None)
    with pytest.raises(ConfigError, match="RTU needs serial_port"):
        adapter._make_client()
