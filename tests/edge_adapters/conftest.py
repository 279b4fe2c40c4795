"""Real peers for the edge tests: one asyncua Server and one pymodbus TCP server on
127.0.0.1, each in its own thread (see qualitas.edge_adapters.simulator), shared by
the session because an OPC UA server takes seconds to build its address space."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qualitas.edge_adapters.simulator import ModbusPlc, OpcUaPlc

PLC_VARIABLES = {
    "Temperature": 240.0,
    "WeldCurrent": 150.0,
    "Counter": 0.0,
    "Restart": 0.0,
    "BoundsProbe": 0.0,
    "Setpoint": 100.0,
}


@pytest.fixture(scope="session")
def opcua_plc() -> Iterator[OpcUaPlc]:
    plc = OpcUaPlc(PLC_VARIABLES)
    yield plc
    plc.close()


@pytest.fixture(scope="session")
def modbus_plc() -> Iterator[ModbusPlc]:
    plc = ModbusPlc(size=100)
    yield plc
    plc.close()
