"""The frames alarms fired on: one image file per alarm, named by the alarm's id.

When an alarm's evidence comes from a camera (a vision source's samples, or its drift
check), the runner asks that source for the frame behind it and keeps it here as
``<alarm id>.png`` (or ``.jpg``, when the camera's file was a JPEG: its bytes are kept as
they are). The alarm carries the file's path (``Alarm.photo``, ``q:photo`` in the graph),
so whatever forwards the alarm (a chat bridge in the edge process or in the server) finds
its photo without sharing memory with the camera.

The folder is bounded: after each write the oldest files go until at most ``keep`` files
and ``max_bytes`` remain.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"))


def image_bytes(frame: Any) -> tuple[bytes, str]:
    """A frame (an image file's path, or a grayscale/RGB array) as PNG or JPEG bytes and
    their suffix. A PNG or JPEG file is taken byte for byte; anything else becomes PNG."""
    if isinstance(frame, str | Path):
        data = Path(frame).read_bytes()
        for magic, suffix in _MAGIC:
            if data.startswith(magic):
                return data, suffix
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            return buf.getvalue(), ".png"
    from PIL import Image

    array = np.asarray(frame)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue(), ".png"


class AlarmFrames:
    """A bounded folder of alarm frames (see the module docstring)."""

    def __init__(self, directory: Path, *, keep: int = 500, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.directory = Path(directory)
        self.keep = keep
        self.max_bytes = max_bytes
        self.saved = 0

    @staticmethod
    def name_for(alarm_id: str) -> str:
        return _UNSAFE.sub("_", alarm_id)[:200] or "alarm"

    def save(self, alarm_id: str, frame: Any) -> Path | None:
        """Write the frame as ``<alarm id>.png|.jpg`` and prune; None (logged) when it cannot
        be read or written: a missing photo never stops the control loop."""
        try:
            data, suffix = image_bytes(frame)
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / (self.name_for(alarm_id) + suffix)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("alarm %s: cannot keep the frame it fired on: %s", alarm_id, exc)
            return None
        self.saved += 1
        self.prune(keep_name=target.name)
        return target

    def path(self, alarm_id: str) -> Path | None:
        for suffix in (".png", ".jpg"):
            candidate = self.directory / (self.name_for(alarm_id) + suffix)
            if candidate.is_file():
                return candidate
        return None

    def prune(self, *, keep_name: str | None = None) -> None:
        """Delete the oldest frames beyond ``keep`` files or ``max_bytes`` in all (never
        ``keep_name``, the frame just written, whatever the file times say)."""
        files = []
        for p in self.directory.iterdir():
            if p.suffix in (".png", ".jpg"):
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                files.append((st.st_mtime_ns, p.name, p, st.st_size))
        files.sort(key=lambda f: (f[1] == keep_name, f[0], f[1]), reverse=True)  # just written, then newest
        total = 0
        for i, (_, _, p, size) in enumerate(files):
            total += size
            if i >= self.keep or (total > self.max_bytes and i > 0):
                p.unlink(missing_ok=True)
