"""What an alert or anomaly report says, independent of the chat app it goes to."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualitas.errors import InputError

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"))


@dataclass(frozen=True)
class Photo:
    """An image to send with an alert: the frame a vision alarm fired on, or an uploaded one."""

    data: bytes
    kind: str  # "png" or "jpeg"
    name: str = "photo"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def suffix(self) -> str:
        return ".jpg" if self.kind == "jpeg" else ".png"

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str = "photo") -> Photo:
        for magic, kind in _MAGIC:
            if data.startswith(magic):
                return cls(data, kind, name)
        raise InputError(f"{name}: a photo must be a PNG or JPEG image", field="photo")

    @classmethod
    def from_file(cls, path: Path | str) -> Photo:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the photo: {exc.strerror}", file=str(path)) from exc
        return cls.from_bytes(data, name=path.name)

    @classmethod
    def from_array(cls, array: Any, *, name: str = "frame") -> Photo:
        """A camera frame (a numpy array, grayscale or RGB, as the vision adapter sees it) as PNG."""
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(array).save(buf, format="PNG")
        return cls(buf.getvalue(), "png", name)


@dataclass(frozen=True)
class Location:
    """Where on the shop floor: line, station and the equipment there (each optional)."""

    line: str | None = None
    station: str | None = None
    equipment: str | None = None

    @property
    def text(self) -> str:
        parts = [
            f"line {self.line}" if self.line else "",
            f"station {self.station}" if self.station else "",
            f"equipment {self.equipment}" if self.equipment else "",
        ]
        return " / ".join(p for p in parts if p)


@dataclass(frozen=True)
class ChatAlert:
    """One message to the chat apps: title and text, severity, where, extra facts, a photo
    (its bytes and, where the app fetches images itself, a public URL) and a link back to
    the explorer. ``plain`` asks for a bare text message (the ``alerts test`` message)."""

    title: str
    text: str
    severity: str = "warning"
    location: Location = field(default_factory=Location)
    facts: tuple[tuple[str, str], ...] = ()
    photo: Photo | None = None
    photo_url: str | None = None
    link: str | None = None
    plain: bool = False

    def plain_text(self) -> str:
        lines = [f"[{self.severity}] {self.title}", self.text]
        if self.location.text:
            lines.append(f"Location: {self.location.text}")
        lines += [f"{k}: {v}" for k, v in self.facts]
        if self.photo_url:
            lines.append(f"Photo: {self.photo_url}")
        if self.link:
            lines.append(f"Open in Qualitas: {self.link}")
        return "\n".join(line for line in lines if line)
