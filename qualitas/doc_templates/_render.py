"""Rendering a pack's documents on every core: PDF (weasyprint) and DOCX (docxtpl).

    build_pack ── RenderJob per document (+ the gap report's HTML)
        ── render_all ── worker processes (forkserver; weasyprint already imported,
                          fonts loaded once per worker and kept) ── bytes, in job order

Weasyprint lays text out in Python, so threads would queue on the GIL; a pack's
documents go to a pool of processes instead, one per core the process may run on
(``os.sched_getaffinity``), kept for the life of the process so fonts, templates and
the DOCX template are loaded once per worker, not once per document. Workers are
started by the ``forkserver`` method, never by ``fork``: the API server calls
``build_pack`` from a thread, and a process forked from a threaded one may inherit a
lock held by another thread (https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods).

Every job is a pure function of its input, and results are put back in job order,
so the bytes do not depend on how many workers there were (``bench/packs.py
--baseline`` checks it). The pool pays off only where cores are free: on a machine
whose cores are busy with other work it gains nothing (same bench, ``workers=1`` in
the same process as the baseline).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qualitas.errors import MissingExtraError

if TYPE_CHECKING:
    from qualitas.doc_templates.pack import DocModel

#: At most this many workers: beyond it a pack has fewer documents than workers.
MAX_WORKERS = 4


@dataclass(frozen=True)
class RenderJob:
    """One PDF (and, for a pack document, its DOCX) to render.

    Either ``model`` (a pack document: PDF and DOCX) or ``html`` with its ``base_url``
    (a page already in HTML, such as the gap report: PDF only)."""

    name: str
    model: DocModel | None = None
    html: str = ""
    base_url: str = ""


@dataclass(frozen=True)
class Rendered:
    name: str
    pdf: bytes
    docx: bytes | None


def weasyprint_html() -> Any:
    """weasyprint's ``HTML`` class, or the hint naming the ``docs`` extra."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: weasyprint without its Pango libraries
        raise MissingExtraError("weasyprint", extra="docs") from exc
    return HTML


@lru_cache(maxsize=1)
def font_config() -> Any:
    """One weasyprint FontConfiguration per process: fontconfig is set up once and the
    fonts Pango opened stay open for the next document."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def html_to_pdf(html: str, base_url: str) -> bytes:
    pdf = weasyprint_html()(string=html, base_url=base_url).write_pdf(font_config=font_config())
    assert isinstance(pdf, bytes)
    return pdf


def render_job(job: RenderJob) -> Rendered:
    """Render one job in this process (what a worker runs)."""
    if job.model is None:
        return Rendered(job.name, html_to_pdf(job.html, job.base_url), None)
    from qualitas.doc_templates.docx import render_docx
    from qualitas.doc_templates.pack import render_pdf

    return Rendered(job.name, render_pdf(job.model), render_docx(job.model))


def default_workers() -> int:
    """The cores this process may run on, at most :data:`MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _warm() -> int:
    """Run once in each new worker: import the renderers and open the fonts."""
    html_to_pdf("<p>Qualitas 质量 Chất lượng</p>", "")
    return os.getpid()


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave when the process that made the pool is gone, so a
    killed server leaves no worker waiting for jobs forever (the forkserver then leaves
    too: it stays while a worker holds its "alive" pipe)."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid was reused by another user's process
                os._exit(0)

    threading.Thread(target=watch, name="qualitas-render-parent-watch", daemon=True).start()


_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["qualitas.doc_templates.pack", "qualitas.doc_templates.docx",
                                        "weasyprint"])
            pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_exit_with_parent,
                                       initargs=(os.getpid(),))
            for _ in range(workers):  # start the workers now, while the caller computes the gap report
                pool.submit(_warm)
            _pools[workers] = pool
        return pool


def _drop(workers: int) -> None:
    with _lock:
        pool = _pools.pop(workers, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _shutdown() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def prepare(workers: int | None = None) -> int:
    """Start the pool for ``workers`` (default: :func:`default_workers`) if it is not
    running yet, without waiting for it; returns the number of workers (1: none, the
    caller renders in its own process)."""
    n = default_workers() if workers is None else max(1, workers)
    weasyprint_html()  # the hint for a missing extra comes from the caller, not from a worker
    if n > 1:
        _pool(n)
    return n


def render_all(jobs: Sequence[RenderJob], *, workers: int | None = None) -> list[Rendered]:
    """Render ``jobs``, on ``workers`` processes when there are more than one; the
    results come back in the order of ``jobs``."""
    n = prepare(workers)
    if n == 1 or len(jobs) < 2:
        return [render_job(job) for job in jobs]
    pool = _pool(n)
    # the largest jobs first, so that no worker is left with one long job at the end
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].html))
    try:
        futures: dict[int, Future[Rendered]] = {i: pool.submit(render_job, jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]
    except BrokenProcessPool:  # a worker died (killed, out of memory): render here instead
        _drop(n)
        return [render_job(job) for job in jobs]


__all__ = ["MAX_WORKERS", "RenderJob", "Rendered", "default_workers", "html_to_pdf", "prepare", "render_all",
           "render_job"]
