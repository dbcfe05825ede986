"""Command line: a thin layer over the pipeline, the report writers and the evaluation commands.

Exit status: 0 all went well; 1 a batch finished but some articles failed (they are listed);
2 nothing could be done (bad input, missing model): the one-line reason is on standard error.
"""

from __future__ import annotations

import logging
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
        "--align-embeddings",
        is_flag=True,
        help="Align with MiniLM cosine as well as chrF (slower; slightly better on paraphrase-heavy text).",
    )(func)
    func = click.option(
        "--no-lm", is_flag=True, help="Fast mode: skip the causal LM (fluency from LM-free features)."
    )(func)
    func = click.option(
        "--lm",
        "lm_path",
        type=click.Path(file_okay=False),
        help="Local transformers causal-LM folder (default SmolLM2).",
    )(func)
    func = click.option(
        "--embedder",
        "embedder_path",
        type=click.Path(file_okay=False),
        help="Local transformers encoder folder (default all-MiniLM-L6-v2).",
    )(func)
    return func


def _checker(
    mode: str,
    ref_kind: str,
    no_lm: bool,
    embedder_path,
    lm_path,
    pairing_check: bool = True,
    align_embeddings: bool = False,
):
    from transformers.utils import logging as hf_logging

    from mtcheck.pipeline import Checker, CheckOptions

    hf_logging.disable_progress_bar()  # weight-loading bars would bury the one line an editor needs
    hf_logging.set_verbosity_error()
    options = CheckOptions(
        ref_kind=ref_kind,
        mode=mode,
        use_lm=not no_lm,
        check_pairing=pairing_check,
        align_embeddings=align_embeddings,
    )
    return Checker(options, embedder_path=embedder_path, lm_path=lm_path)


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
    for noisy in ("transformers", "huggingface_hub", "accelerate", "gguf"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@cli.command()
@click.argument("mt", type=click.Path(path_type=Path))
@click.option(
    "--ref", "ref", required=True, type=click.Path(path_type=Path), help="Reference or retranslation."
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
    mt, ref, src, ref_kind, mode, output, no_pairing_check, no_lm, lm_path, embedder_path, align_embeddings
) -> None:
    """Score one machine-translated article MT against --ref."""
    from mtcheck.report import write_article, write_jsonl

    checker = _checker(
        mode or "article", ref_kind, no_lm, embedder_path, lm_path, not no_pairing_check, align_embeddings
    )
    doc = mt.name.split(".")[0] or mt.stem
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
@_model_options
def batch(inputs, output, mode, no_pairing_check, no_lm, lm_path, embedder_path, align_embeddings) -> None:
    """Score a folder of NAME.mt.txt + NAME.ref.txt / NAME.retrans.txt files, or a manifest CSV."""
    from tqdm import tqdm

    from mtcheck.batch import discover, run_batch
    from mtcheck.report import write_article, write_index

    jobs, failures = discover(inputs)
    checker = _checker(
        mode or "article", "reference", no_lm, embedder_path, lm_path, not no_pairing_check, align_embeddings
    )
    results = []

    def keep(result) -> None:
        write_article(result, output)
        results.append(result)

    def check(job):
        return checker.check_files(job.doc, job.mt, job.ref, job.src, job.ref_kind)

    progress = tqdm(total=len(jobs), desc="articles", unit="article", file=sys.stderr, disable=None)
    failures += run_batch(
        jobs,
        check,
        keep,
        prefetch=lambda chunk: checker.prefetch_files([(job.mt, job.ref, job.src) for job in chunk]),
        done=lambda: progress.update(1),
    )
    progress.close()
    paths = write_index(results, failures, output)
    # Plain echo, not logging: this summary is the batch's answer and must reach stderr whatever the log setup.
    click.echo(
        f"mtcheck: {len(results)} article(s) scored, {len(failures)} failed; index: {paths['html']}", err=True
    )
    for doc, reason in failures:
        click.echo(f"mtcheck: skipped {doc}: {reason}", err=True)
    if failures:
        sys.exit(EXIT_PARTIAL if results else EXIT_ERROR)


@cli.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Also write the figures as JSON.")
@click.option(
    "--split",
    type=click.Choice(["all", "fit", "holdout"]),
    default="holdout",
    show_default=True,
    help="Documents to evaluate on (the calibration was fitted on 'fit' documents only).",
)
@click.option(
    "--max-rows", type=int, help="Evaluate on at most N rows (whole source segments, sampled with --seed)."
)
@click.option("--no-lm", is_flag=True, help="Skip the causal LM.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache features per MT/reference pair here between runs (keyed by the models' feature signature).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed for --max-rows.")
@click.option(
    "--calibration",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Evaluate this calibration JSON instead of the shipped one.",
)
@click.option(
    "--include-human",
    is_flag=True,
    help="Keep human translations (MQM is_human rows) in the main table; by default they are reported apart.",
)
def evaluate(data, json_out, split, max_rows, no_lm, cache_dir, seed, calibration, include_human) -> None:
    """Agreement of mtcheck's scores and of chrF/BLEU with human judgments in DATA (jsonl)."""
    from mtcheck.evaluate import main as evaluate_main

    evaluate_main(
        data,
        json_out,
        split,
        max_rows,
        not no_lm,
        cache_dir,
        seed,
        calibration_path=calibration,
        include_human=include_human,
    )


@cli.command("eval-align")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--max-docs", type=int)
@click.option("--no-embeddings", is_flag=True, help="Align with chrF alone.")
@click.option("--json", "json_out", type=click.Path(path_type=Path))
def eval_align(data, seed, max_docs, no_embeddings, json_out) -> None:
    """Strict alignment precision/recall/F1 on documents perturbed with merges, splits and drops."""
    from mtcheck.eval_align import main as eval_align_main

    eval_align_main(data, seed, max_docs, not no_embeddings, str(json_out) if json_out else None)


@cli.command("eval-flags")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["all", "fit", "holdout"]), default="holdout", show_default=True)
@click.option("--max-rows", type=int)
def eval_flags(data, json_out, split, max_rows) -> None:
    """Character-level precision/recall/F1 of flagged spans against annotated MQM error spans."""
    from mtcheck.eval_flags import main as eval_flags_main

    eval_flags_main(data, json_out, split, max_rows)


@cli.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("mtcheck/calibration.json"), show_default=True
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Sampling and CV seed (0: the shipped file)."
)
@click.option(
    "--max-rows",
    type=int,
    default=3000,
    show_default=True,
    help="Rows taken from each data file (whole source segments; 0: all). Feature extraction is the slow part.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache features per MT/reference pair here between runs (keyed by the models' feature signature).",
)
def calibrate(data_dir, out, seed, max_rows, cache_dir) -> None:
    """Fit the fluency/adequacy/quality scales to the human judgments in DATA_DIR."""
    from mtcheck.calibrate import main as calibrate_main

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = calibrate_main(data_dir, out, seed, max_rows if max_rows and max_rows > 0 else None, cache_dir)
    cuts = result["thresholds"]
    click.echo(
        f"mtcheck: wrote {out} (fit rows {result['fit_rows']}; rewrite < {cuts['rewrite']:g}, ok >= {cuts['ok']:g})",
        err=True,
    )


@cli.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A jsonl of whole documents (mt/ref lines, e.g. wmt22_ruen_da_dev.jsonl); default: corpora/.",
)
@click.option("--sentences", type=int, default=1000, show_default=True, help="MT sentences to push through.")
@click.option("--json", "json_out", type=click.Path(path_type=Path))
@_model_options
def benchmark(data, sentences, json_out, no_lm, lm_path, embedder_path, align_embeddings) -> None:
    """Sentences per second of the full pipeline, share of time per stage, start-up time, peak memory."""
    from mtcheck.bench import main as bench_main

    bench_main(
        data,
        sentences,
        json_out,
        use_lm=not no_lm,
        embedder_path=embedder_path,
        lm_path=lm_path,
        align_embeddings=align_embeddings,
    )


def main() -> None:
    cli(prog_name="mtcheck")
