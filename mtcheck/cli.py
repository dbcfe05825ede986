"""Command line: a thin layer over the pipeline and the report writers (`score`, `batch`).

Exit status: 0 all went well; 1 a batch finished but some articles failed (they are listed);
2 nothing could be done (bad input, missing model): the one-line reason is on standard error.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from mtcheck import __version__
from mtcheck.types import REF_KINDS, MtcheckError, internal_error_message

log = logging.getLogger("mtcheck")

EXIT_PARTIAL = 1
EXIT_ERROR = 2


def _model_options(func):
    func = click.option(
        "--fast",
        is_flag=True,
        help="Skip the sentence embedder: same scores, flags and verdicts, no similarity column and no "
        "check that the two files tell the same story (as --no-pairing-check).",
    )(func)
    func = click.option(
        "--align-embeddings",
        is_flag=True,
        help="Align with MiniLM cosine as well as chrF (slower; slightly better on paraphrase-heavy text).",
    )(func)
    func = click.option(
        "--precision",
        type=click.Choice(["auto", "bf16", "fp32"]),
        default="auto",
        show_default=True,
        help="Arithmetic of the models: bf16 (scores agree with fp32) is fast on CPUs with AVX-512 BF16 "
        "or AMX and emulated, far slower, elsewhere; auto picks bf16 only where the CPU has it.",
    )(func)
    func = click.option(
        "--model",
        "model_path",
        type=click.Path(file_okay=False),
        help="A mtcheck model folder (default: the model shipped with mtcheck).",
    )(func)
    func = click.option(
        "--embedder",
        "embedder_path",
        type=click.Path(file_okay=False),
        help="Local transformers encoder folder for alignment and the pairing check (default all-MiniLM-L6-v2).",
    )(func)
    return func


def _checker(
    mode: str,
    ref_kind: str,
    precision: str,
    embedder_path,
    model_path,
    pairing_check: bool = True,
    align_embeddings: bool = False,
    fast: bool = False,
):
    from mtcheck.pipeline import Checker, CheckOptions

    # Weight-loading bars would bury the one line an editor needs. Set for transformers, imported only
    # for encoder folders mtcheck.bert cannot run (importing it just to quiet it costs a second).
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if precision == "bf16":
        from mtcheck.models import native_bf16

        if not native_bf16():
            click.echo(
                "warning: this CPU has no native bf16 (AVX-512 BF16 or AMX): bf16 runs emulated, many "
                "times slower than fp32; drop --precision to let mtcheck choose",
                err=True,
            )
    options = CheckOptions(
        ref_kind=ref_kind,
        mode=mode,
        precision=precision,
        check_pairing=pairing_check,
        align_embeddings=align_embeddings,
        fast=fast,
    )
    return Checker(options, embedder_path=embedder_path, model_path=model_path)


class _Cli(click.Group):
    """Turns any MtcheckError into one line on stderr and exit status 2; an unexpected error too (its
    traceback goes to the debug log, shown with -v)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own usage errors and exits
        except MtcheckError as exc:
            click.echo(f"mtcheck: error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # noqa: BLE001
            log.debug("unexpected error", exc_info=True)
            click.echo(f"mtcheck: error: {internal_error_message(exc)}", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=_Cli)
@click.version_option(__version__, prog_name="mtcheck")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on standard error.")
def cli(verbose: bool) -> None:
    """Check machine-translated news copy sentence by sentence against a reference or retranslation."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="mtcheck: %(message)s", stream=sys.stderr
    )
    # Library chatter (weight-loading bars, warnings) would bury the one line an editor needs.
    for noisy in ("transformers", "huggingface_hub", "ray"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@cli.command()
@click.argument("mt", type=click.Path(path_type=Path))
@click.option(
    "--ref",
    "ref",
    type=click.Path(path_type=Path),
    help="Reference or retranslation. Without it the MT is read alone (reference-free scores and flags).",
)
@click.option("--src", "src", type=click.Path(path_type=Path), help="Optional source text.")
@click.option("--ref-kind", type=click.Choice(REF_KINDS), default="reference", show_default=True)
@click.option(
    "--aligned", "mode", flag_value="aligned", help="Line-parallel files: one segment per line, no alignment."
)
@click.option(
    "--segmented", "mode", flag_value="segmented", help="One sentence per line: align, never re-split."
)
@click.option(
    "--output", "-o", default="reports", show_default=True, help="Report folder, or - for JSONL on stdout."
)
@click.option(
    "--no-pairing-check", is_flag=True, help="Score even if MT and reference look like different stories."
)
@_model_options
def score(
    mt,
    ref,
    src,
    ref_kind,
    mode,
    output,
    no_pairing_check,
    precision,
    model_path,
    embedder_path,
    align_embeddings,
    fast,
) -> None:
    """Score one machine-translated article MT against --ref (or alone)."""
    from mtcheck.report import write_article, write_jsonl

    checker = _checker(
        mode or "article",
        ref_kind,
        precision,
        embedder_path,
        model_path,
        not no_pairing_check,
        align_embeddings,
        fast,
    )
    doc = mt.name.split(".")[0] or mt.stem
    if ref is None:
        click.echo("mtcheck: no --ref: reading the MT alone (reference-free scores and flags)", err=True)
    result = checker.check_files(doc, mt, ref, src)
    if output == "-":
        write_jsonl([result], sys.stdout)
        return
    paths = write_article(result, Path(output))
    for kind, path in paths.items():
        click.echo(f"mtcheck: wrote {kind}: {path}", err=True)


@cli.command()
@click.argument("inputs", type=click.Path(path_type=Path))
@click.option("--output", "-o", default="reports", show_default=True, type=click.Path(path_type=Path))
@click.option("--aligned", "mode", flag_value="aligned", help="Line-parallel files: one segment per line.")
@click.option(
    "--segmented", "mode", flag_value="segmented", help="One sentence per line: align, never re-split."
)
@click.option(
    "--no-pairing-check", is_flag=True, help="Score even if MT and reference look like different stories."
)
@click.option(
    "--mt-alone",
    is_flag=True,
    help="Score an article that has no reference or retranslation from its MT alone (else it is listed as failed).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Rescore every article (by default a rerun skips articles already reported with the same inputs and settings).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process; ray: workers on a Ray cluster (pip install 'mtcheck[ray]').",
)
@click.option(
    "--address",
    default=None,
    help="With --engine ray: join this Ray cluster (e.g. 10.0.0.5:6379) instead of a local one.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="With --engine ray: number of workers (default: one per CPU).",
)
@_model_options
def batch(
    inputs,
    output,
    mode,
    no_pairing_check,
    mt_alone,
    force,
    engine,
    address,
    workers,
    precision,
    model_path,
    embedder_path,
    align_embeddings,
    fast,
) -> None:
    """Score a folder of NAME.mt.txt + NAME.ref.txt / NAME.retrans.txt files, or a manifest CSV.

    Started again after a stop, the same command skips the articles already reported and redoes the rest."""
    from tqdm import tqdm

    from mtcheck.batch import Ledger, discover, run_batch
    from mtcheck.report import write_article, write_index

    if engine != "ray" and (address or workers):
        raise click.UsageError("--address and --workers go with --engine ray")
    if engine == "ray":
        from mtcheck.distributed import import_ray

        import_ray()  # the one-line install hint before any work
    jobs, failures = discover(inputs, mt_alone=mt_alone)
    checker = _checker(
        mode or "article",
        "reference",
        precision,
        embedder_path,
        model_path,
        not no_pairing_check,
        align_embeddings,
        fast,
    )
    ledger = Ledger(output, checker.signature)
    pending, results, digests = ledger.split(jobs, force=force)
    if results:
        click.echo(
            f"mtcheck: {len(results)} article(s) already reported with the same inputs; checking the other "
            f"{len(pending)} (--force rescores all)",
            err=True,
        )

    def keep(result) -> None:
        write_article(result, output)
        ledger.record(result, digests[result.doc])
        results.append(result)

    progress = tqdm(total=len(pending), desc="articles", unit="article", file=sys.stderr, disable=None)
    if engine == "ray":
        from mtcheck.distributed import CheckerSpec, run_batch_ray

        spec = CheckerSpec(checker.options, embedder_path, model_path)
        failures += run_batch_ray(
            pending, spec, keep, address=address, workers=workers, done=lambda: progress.update(1)
        )
    else:

        def check(job):
            return checker.check_files(job.doc, job.mt, job.ref, job.src, job.ref_kind)

        failures += run_batch(
            pending,
            check,
            keep,
            prefetch=lambda chunk: checker.prefetch_files([(job.mt, job.ref, job.src) for job in chunk]),
            done=lambda: progress.update(1),
        )
    progress.close()
    order = {job.doc: n for n, job in enumerate(jobs)}
    results.sort(key=lambda result: order.get(result.doc, len(order)))
    paths = write_index(results, failures, output)
    # Plain echo, not logging: this summary is the batch's answer and must reach stderr whatever the log setup.
    click.echo(
        f"mtcheck: {len(results)} article(s) scored, {len(failures)} failed; index: {paths['html']}", err=True
    )
    for doc, reason in failures:
        click.echo(f"mtcheck: skipped {doc}: {reason}", err=True)
    if failures:
        sys.exit(EXIT_PARTIAL if results else EXIT_ERROR)


def main() -> None:
    cli(prog_name="mtcheck")
