"""Batches on a Ray cluster (`mtcheck batch --engine ray`): the same checks, spread over workers.

Each worker is a Ray actor that builds one `Checker` and keeps its models loaded. The driver (the machine
that runs the command) reads the input files, hands articles out in windows of `RAY_WINDOW` (so
both networks still batch across articles inside a worker), and writes every report itself: inputs and
outputs live only where the command runs; the workers need mtcheck installed, nothing else.

A bad article costs only itself, as in one process (the worker catches its error). A worker that dies
is replaced by a fresh one; the articles of the window it held are retried once, one at a time, and an article
that loses a worker again is listed as failed with the reason.

Ray is an optional extra: `pip install 'mtcheck[ray]'`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtcheck.batch import Job, run_batch
from mtcheck.types import ArticleResult, MtcheckError

log = logging.getLogger("mtcheck")

# Articles handed to a worker at a time. Smaller than one process's prefetch window: windows are the unit
# of work spread over the workers, and what is retried when a worker dies.
RAY_WINDOW = 16

WORKER_DIED = "the worker checking it died twice ({detail}); check it alone with `mtcheck score`"


@dataclass(frozen=True)
class CheckerSpec:
    """What a worker needs to build its Checker: the same arguments the single-process run uses.
    `factory`, if given, replaces `Checker(options, embedder_path, model_path)`."""

    options: object
    embedder_path: str | None = None
    model_path: str | None = None
    factory: Callable[[], object] | None = None

    def build(self):
        if self.factory is not None:
            return self.factory()
        from mtcheck.pipeline import Checker

        return Checker(self.options, embedder_path=self.embedder_path, model_path=self.model_path)


@dataclass(frozen=True)
class Article:
    """One job with its file contents, read by the driver."""

    job: Job
    mt: bytes
    ref: bytes | None
    src: bytes | None

    @property
    def doc(self) -> str:
        return self.job.doc


class Worker:
    """The body of a Ray actor: one Checker, loaded once, checking windows of articles."""

    # A worker that dies is not restarted in place: the driver kills it and starts a fresh one, so
    # nothing is ever sent to a worker that is half way through dying.

    def __init__(self, spec: CheckerSpec):
        self.checker = spec.build()

    def check_window(self, articles: list[Article]) -> list[tuple[str, ArticleResult | None, str | None]]:
        """(doc, result, None) or (doc, None, one-line reason) per article, in order."""
        from mtcheck.io import read_text_str

        texts: dict[str, tuple[str, str | None, str | None]] = {}
        out: list[tuple[str, ArticleResult | None, str | None]] = []

        def decode(article: Article) -> tuple[str, str | None, str | None]:
            job = article.job
            if article.doc not in texts:
                texts[article.doc] = (
                    read_text_str(article.mt, str(job.mt)),
                    read_text_str(article.ref, str(job.ref)) if article.ref is not None else None,
                    read_text_str(article.src, str(job.src)) if article.src is not None else None,
                )
            return texts[article.doc]

        def prefetch(window: list[Article]) -> None:
            ready = []
            for article in window:
                try:
                    ready.append(decode(article))
                except MtcheckError:
                    continue  # its own check reports the error
            self.checker.prefetch(ready)

        def check(article: Article) -> ArticleResult:
            job = article.job
            mt, ref, src = decode(article)
            result = self.checker.check(job.doc, mt, ref, src, job.ref_kind)
            result.mt_path, result.ref_path = str(job.mt), str(job.ref or "")
            result.src_path = str(job.src) if job.src else ""
            return result

        failures = run_batch(
            articles, check, lambda result: out.append((result.doc, result, None)), prefetch=prefetch
        )
        out += [(doc, None, reason) for doc, reason in failures]
        order = {article.doc: n for n, article in enumerate(articles)}
        return sorted(out, key=lambda item: order[item[0]])

    def peak_memory(self) -> int:
        """Peak resident memory of this worker process, in bytes."""
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def import_ray():
    try:
        import ray
    except ImportError:
        raise MtcheckError(
            "--engine ray needs Ray: pip install 'mtcheck[ray]' (or pip install 'ray>=2.40')"
        ) from None
    return ray


def _read(job: Job) -> Article:
    def data(path: Path | None) -> bytes | None:
        return path.read_bytes() if path is not None else None

    return Article(job, data(job.mt), data(job.ref), data(job.src))


def run_batch_ray(
    jobs: list[Job],
    spec: CheckerSpec,
    on_result: Callable[[ArticleResult], None],
    address: str | None = None,
    workers: int | None = None,
    window: int = RAY_WINDOW,
    done: Callable[[], None] | None = None,
    on_workers: Callable[[list[int]], None] | None = None,
) -> list[tuple[str, str]]:
    """Check `jobs` on Ray workers; `on_result` sees each result on the driver, in completion order.
    Returns (doc, reason) for articles that failed, like `run_batch`.

    Without `address` a local cluster is started with `workers` CPUs (default: one per core) and shut
    down at the end; with it the run joins that cluster and uses `workers` actors (default: its CPUs).
    `on_workers`, if given, gets each worker's peak memory in bytes at the end (the benchmark's figure).
    """
    ray = import_ray()
    from ray.exceptions import RayActorError, RayTaskError

    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers or os.cpu_count() or 1,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        # One CPU each, so torch in a worker runs one thread and workers do not fight over cores.
        actor = ray.remote(num_cpus=1, max_restarts=0)(Worker)
        pool = [actor.remote(spec) for _ in range(count)]
        failures: list[tuple[str, str]] = []
        queue: list[tuple[list[Job], int]] = [
            (jobs[start : start + window], 1) for start in range(0, len(jobs), window)
        ]
        queue.reverse()  # popped from the end: first windows first
        running: dict = {}
        idle = list(pool)

        def submit() -> None:
            while idle and queue:
                window_jobs, attempt = queue.pop()
                articles = []
                for job in window_jobs:
                    try:
                        articles.append(_read(job))
                    except OSError as exc:
                        failures.append(
                            (
                                job.doc,
                                f"{exc.filename or job.mt}: cannot be read ({exc.strerror}); check the file.",
                            )
                        )
                        if done is not None:
                            done()
                if not articles:
                    continue
                worker = idle.pop()
                running[worker.check_window.remote(articles)] = (worker, window_jobs, attempt)

        submit()
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            worker, window_jobs, attempt = running.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except (RayActorError, RayTaskError) as exc:
                # A fresh worker takes the dead one's place (its models load before its first window).
                ray.kill(worker)
                pool[pool.index(worker)] = worker = actor.remote(spec)
                idle.append(worker)
                detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                if attempt == 1:
                    log.warning("a worker died on a window of %d article(s); retrying each", len(window_jobs))
                    queue.extend(([job], 2) for job in reversed(window_jobs))
                else:
                    for job in window_jobs:
                        failures.append((job.doc, WORKER_DIED.format(detail=detail)))
                        if done is not None:
                            done()
            else:
                idle.append(worker)
                for doc, result, reason in outcome:
                    if result is not None:
                        on_result(result)
                    else:
                        failures.append((doc, reason))
                    if done is not None:
                        done()
            submit()
        if on_workers is not None:
            on_workers(ray.get([worker.peak_memory.remote() for worker in pool]))
        return failures
    finally:
        if started_here:
            ray.shutdown()
