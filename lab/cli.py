"""`python -m lab VERB ...`: train, calibrate, evaluate and benchmark mtcheck."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)

    t = verbs.add_parser("train", help="train the quality model from the shared data, then calibrate it")
    t.add_argument("data", type=Path, help="the shared data folder")
    t.add_argument("--out", type=Path, required=True, help="model folder to write")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--synthetic", type=int, default=None, help="synthetic examples per epoch")
    t.add_argument("--identity", type=int, default=None, help="references as their own MT, per epoch")
    t.add_argument("--mqm-repeat", type=int, default=None, help="passes over the MQM fit rows per epoch")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--encoder", type=Path, default=None, help="local transformers encoder folder")
    t.add_argument("--no-calibrate", action="store_true")
    t.add_argument(
        "--parts", default=None, help="comma-separated data parts: da,mqm,synthetic,identity (default all)"
    )
    t.add_argument("--max-batches", type=int, default=None, help="cap batches per epoch (ablations)")
    t.add_argument(
        "--da-rows",
        default=None,
        help="DA rows drawn per epoch and language pair: 'all', or e.g. 'uk-en=7000,ja-en=all'",
    )
    t.add_argument(
        "--da-draw", choices=["rows", "items"], default=None, help="DA rows drawn singly or as whole segments"
    )
    t.add_argument("--rank-loss", type=float, default=None, help="weight of the within-item term (items)")
    t.add_argument("--keep", choices=["best", "last"], default=None, help="epoch whose weights are written")
    t.add_argument(
        "--no-lexical",
        dest="lexical",
        action="store_false",
        default=None,
        help="score heads without the unit's chrF (the recipe before 2026-12-04)",
    )

    c = verbs.add_parser("calibrate", help="fit a model folder's knots, decoding and verdict cuts (fit half)")
    c.add_argument("model", type=Path)
    c.add_argument("data", type=Path, help="the shared data folder")

    for name, helptext in (
        ("evaluate", "scores against human judgments (tau_item, Kendall, Pearson; chrF/BLEU alongside)"),
        ("eval-flags", "flags against MQM error spans, false alarms on human translations, verdicts"),
    ):
        e = verbs.add_parser(name, help=helptext)
        e.add_argument("data", type=Path, help="an MQM or DA file of the shared data")
        e.add_argument("--split", choices=["fit", "holdout", "all"], default="holdout")
        e.add_argument("--model", type=Path, default=None, help="model folder (default: the shipped one)")
        e.add_argument("--no-ref", action="store_true", help="withhold the reference: the MT alone")
        e.add_argument("--json", type=Path, default=None)

    s = verbs.add_parser("eval-synth", help="injected errors on held-out documents: caught or not")
    s.add_argument("data", type=Path, help="the shared data folder")
    s.add_argument("--per-type", type=int, default=150)
    s.add_argument(
        "--split",
        choices=("holdout", "fit"),
        default="holdout",
        help="document half the good translations come from: fit, to develop a rule without the held-out half",
    )
    s.add_argument("--model", type=Path, default=None)
    s.add_argument("--json", type=Path, default=None)

    a = verbs.add_parser("eval-align", help="alignment against gold links of perturbed ru-en documents")
    a.add_argument("data", type=Path)
    a.add_argument("--seed", type=int, default=13)
    a.add_argument("--max-docs", type=int, default=None)
    a.add_argument("--no-embeddings", action="store_true")
    a.add_argument(
        "--second-translation", action="store_true", help="a second human translation in place of the MT"
    )
    a.add_argument("--json", type=Path, default=None)

    b = verbs.add_parser("bench", help="throughput of the whole pipeline on this machine")
    b.add_argument("--data", type=Path, default=None, help="jsonl of whole documents (default corpora/)")
    b.add_argument("--sentences", type=int, default=1000)
    b.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    b.add_argument("--model", type=Path, default=None)
    b.add_argument("--align-embeddings", action="store_true")
    b.add_argument("--json", type=Path, default=None)

    k = verbs.add_parser(
        "bench-cli", help="one article checked from the command line: wall time, imports included"
    )
    k.add_argument("--sentences", type=int, default=30, help="MT sentences of the article (at least)")
    k.add_argument("--runs", type=int, default=3)
    k.add_argument(
        "--code", type=Path, default=None, help="another checkout's mtcheck to run (compare revisions)"
    )

    g = verbs.add_parser("bench-scale", help="long articles (time and memory by length) and batch engines")
    g.add_argument("data", type=Path, help="a jsonl of whole documents (wmt22_ruen_da_dev.jsonl)")
    g.add_argument("--sizes", default="1000,5000,10000", help="MT sentences of each long article")
    g.add_argument("--sentences", type=int, default=1000, help="MT sentences for the engine comparison")
    g.add_argument("--workers", default="1,2", help="Ray worker counts to compare (empty: skip)")
    g.add_argument("--json", type=Path, default=None)

    p = verbs.add_parser(
        "probe", help="an untrained encoder's token matches against chrF and the model (fit half)"
    )
    p.add_argument("data", type=Path, help="the shared data folder")
    p.add_argument(
        "--encoder", type=Path, default=None, help="local transformers encoder folder (default MiniLM)"
    )
    p.add_argument("--layers", default="3,4,5,6", help="layers whose states are matched (0: embeddings)")
    p.add_argument("--model", type=Path, default=None, help="model folder for the dev comparison")
    p.add_argument("--source", action="store_true", help="also the MT's cosine with its source (USE)")
    p.add_argument("--json", type=Path, default=None)

    args = parser.parse_args(argv)
    if args.verb == "train":
        from lab.train import Settings, parse_da_rows, parse_parts, train

        settings = Settings()
        for name in (
            "epochs",
            "synthetic",
            "identity",
            "mqm_repeat",
            "seed",
            "max_batches",
            "da_draw",
            "rank_loss",
            "keep",
            "lexical",
        ):
            if getattr(args, name) is not None:
                setattr(settings, name, getattr(args, name))
        try:
            if args.da_rows:
                settings.da_per_lp = parse_da_rows(args.da_rows, settings.da_per_lp)
            if args.parts:
                settings.parts = parse_parts(args.parts)
        except ValueError as err:
            parser.error(str(err))
        folder = train(args.data, args.out, settings, args.encoder)
        if not args.no_calibrate:
            from lab.calibrate import calibrate

            calibrate(folder, args.data)
    elif args.verb == "calibrate":
        from lab.calibrate import calibrate

        calibrate(args.model, args.data)
    elif args.verb == "evaluate":
        from lab.evaluate import main_scores

        main_scores(args.data, args.split, args.model, not args.no_ref, args.json)
    elif args.verb == "eval-flags":
        from lab.evaluate import main_flags

        main_flags(args.data, args.split, args.model, not args.no_ref, args.json)
    elif args.verb == "eval-synth":
        from lab.eval_synth import evaluate_synthetic
        from lab.evaluate import write_json
        from mtcheck import Checker, CheckOptions

        checker = Checker(CheckOptions(mode="aligned", check_pairing=False), model_path=args.model)
        write_json(evaluate_synthetic(args.data, checker, args.per_type, split=args.split), args.json)
    elif args.verb == "eval-align":
        from lab.eval_align import main as eval_align

        eval_align(
            args.data, args.seed, args.max_docs, not args.no_embeddings, args.json, args.second_translation
        )
    elif args.verb == "bench":
        from lab.bench import main as bench

        bench(args.data, args.sentences, args.json, args.precision, args.model, args.align_embeddings)
    elif args.verb == "bench-cli":
        from lab.bench_cli import main as bench_cli

        bench_cli(args.sentences, args.runs, args.code)
    elif args.verb == "bench-scale":
        from lab.bench_scale import main as bench_scale

        sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
        workers = [int(n) for n in args.workers.split(",") if n.strip()]
        bench_scale(args.data, sizes, args.sentences, workers, args.json)
    elif args.verb == "probe":
        from lab.probe import main as probe

        layers = [int(n) for n in args.layers.split(",") if n.strip()]
        probe(args.data, args.encoder, layers, args.model, args.source, args.json)
