"""Demo data: the product brief's scenarios, and a scaled generator for benchmarks."""

from qualitas.demo.scenario import (
    CELL_LOT,
    CLIP_LOT,
    COMPLAINT_A,
    COMPLAINT_B,
    COMPLAINT_C,
    VIN_A,
    VIN_B,
    demo_graph,
)

__all__ = [
    "CELL_LOT",
    "CLIP_LOT",
    "COMPLAINT_A",
    "COMPLAINT_B",
    "COMPLAINT_C",
    "VIN_A",
    "VIN_B",
    "demo_graph",
]
