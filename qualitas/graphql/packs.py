"""GraphQL ``generatePack(productId, market, ...)`` and ``pack(packId)``, and the
download route ``GET /packs/{packId}.zip`` that serves the ZIP.

Packs are written to :func:`packs_dir` (``<store directory's parent>/packs``, beside
the Oxigraph directory, never inside it). The route serves only ``<packId>.zip`` from
that directory: the id must be a plain name (:func:`qualitas.doc_templates.pack.pack_path`),
so ``..``, slashes or encoded separators in the URL cannot reach another file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import strawberry
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from strawberry.scalars import JSON
from strawberry.types import Info

from qualitas.errors import QualitasError
from qualitas.graphql._errors import graphql_error as _error
from qualitas.settings import Settings


def packs_dir(settings: Settings) -> Path:
    return settings.state_dir / "packs"


@strawberry.type
class PackFileInfo:
    path: str
    sha256: str
    bytes: int
    media_type: str


@strawberry.type
class PackInfo:
    pack_id: str
    status: str
    product_id: str
    market: str
    open_findings: int
    download_url: str
    files: list[PackFileInfo]
    manifest: JSON


def _info(manifest: dict[str, Any]) -> PackInfo:
    return PackInfo(
        pack_id=manifest["packId"],
        status=manifest["status"],
        product_id=manifest["product"]["model"],
        market=manifest["market"],
        open_findings=manifest["findings"]["open"],
        download_url=f"/packs/{manifest['packId']}.zip",
        files=[
            PackFileInfo(path=f["path"], sha256=f["sha256"], bytes=f["bytes"], media_type=f["mediaType"])
            for f in manifest["files"]
        ],
        manifest=manifest,
    )


@strawberry.type
class PackQuery:
    @strawberry.field(description="The manifest of a pack generated earlier, by its id.")
    def pack(self, info: Info, pack_id: str) -> PackInfo:
        import zipfile

        from qualitas.doc_templates.pack import pack_path
        from qualitas.errors import NotFoundError

        try:
            path = pack_path(packs_dir(info.context["settings"]), pack_id)
            if not path.is_file():
                raise NotFoundError(f"no pack {pack_id!r}", pack=pack_id)
            with zipfile.ZipFile(path) as zf:
                return _info(json.loads(zf.read("manifest.json")))
        except QualitasError as exc:
            raise _error(exc) from exc


@strawberry.type
class PackMutation:
    @strawberry.mutation(
        description="Generate a market document pack (EU, US, CN, VN): documents as DOCX and "
        "PDF, gap report, SHACL evidence and manifest; returns the manifest and a download URL. "
        "A final pack despite open findings needs overrideBy and overrideReason (recorded as PROV)."
    )
    async def generate_pack(
        self,
        info: Info,
        product_id: str,
        market: str,
        date: dt.date | None = None,
        languages: list[str] | None = None,
        final: bool = False,
        override_by: str | None = None,
        override_reason: str | None = None,
    ) -> PackInfo:
        from qualitas.audit import pack_facts, state_digest
        from qualitas.doc_templates.pack import build_pack
        from qualitas.graphql.audit import record_domain_event

        settings: Settings = info.context["settings"]
        try:
            before = state_digest(info.context["store"])
            result = await asyncio.to_thread(
                build_pack,
                info.context["store"],
                product_id,
                market,
                out_dir=packs_dir(settings),
                languages=languages,
                on=date,
                final=final,
                override_by=override_by,
                override_reason=override_reason,
            )
            # one pack.generate record (the same action as `qualitas pack`); AuditExtension then skips this field
            record_domain_event(
                info,
                "pack.generate",
                what={**pack_facts(result.path).as_what(), "final": final, "overrideBy": override_by},
                why=override_reason,
                before=before,
            )
        except QualitasError as exc:
            raise _error(exc) from exc
        return _info(result.manifest)


def add_download_route(app: FastAPI, settings: Settings, *, dependencies: Sequence[Any] = ()) -> None:
    """``GET /packs/{pack_id}.zip``: the pack file, and nothing outside :func:`packs_dir`.
    ``dependencies`` guard the route (the app passes its authorization check)."""
    from qualitas.doc_templates.pack import PackError, pack_path

    @app.get("/packs/{pack_id}.zip", name="download_pack", dependencies=list(dependencies))
    async def download_pack(pack_id: str) -> FileResponse:
        try:
            path = pack_path(packs_dir(settings), pack_id)
        except PackError:
            raise HTTPException(status_code=404, detail="no such pack") from None
        if not path.is_file():
            raise HTTPException(status_code=404, detail="no such pack")
        return FileResponse(path, media_type="application/zip", filename=path.name)


__all__ = ["PackInfo", "PackMutation", "PackQuery", "add_download_route", "packs_dir"]
