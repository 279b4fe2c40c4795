"""Modbus: the register codec, read planning, and polling/writing a real pymodbus server."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from qualitas.edge_adapters._model import Sample
from qualitas.edge_adapters.config import ModbusSource, Register, Target
from qualitas.edge_adapters.modbus import ModbusAdapter, ModbusError, decode, encode, plan_reads
from qualitas.edge_adapters.simulator import ModbusPlc

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
