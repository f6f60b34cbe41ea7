"""``balancers materialize``: oversample a dataset with augmentation and write it as PNG files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import CommandError
from ._inputs import DATASET_HELP, DATASETS, check_split, load_dataset, load_manifest_part
from ._output import check_folder, writing

__all__ = ["register"]

_STRATEGIES = ("auto", "minority", "not minority", "not majority", "all", "none")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "materialize",
        help="oversample a dataset with augmentation and write it as an ImageFolder tree",
        description="Oversample the minority classes of a dataset (random_oversample), augment "
        "every clone with an albumentations pipeline and write the result as PNG files "
        "(OUT/<class>/<k>.png) plus OUT/manifest.json. Re-running the same command after an "
        "interruption finishes the job.",
    )
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        required=True,
        help=DATASET_HELP,
    )
    parser.add_argument(
        "--root", type=Path, required=True, help="data root (torchvision files or class folders)"
    )
    parser.add_argument(
        "--split",
        choices=("train", "test"),
        default=None,
        help="which part of a torchvision dataset to read (default: train)",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="a long-tail split manifest (balancers split --out): materialize its --part",
    )
    parser.add_argument(
        "--part",
        choices=("train", "val", "test"),
        default=None,
        help="with --manifest: which part of the split (default: train)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--strategy",
        choices=_STRATEGIES,
        default="auto",
        help="imbalanced-learn sampling strategy of the oversampling; none: no oversampling "
        "(default: auto, every class up to the largest)",
    )
    parser.add_argument(
        "--augment",
        default="default",
        metavar="{PIPELINE.yaml,default,none}",
        help="an albumentations pipeline saved with A.save (YAML or JSON), 'default' (affine "
        "shift-scale-rotate and gamma, safe for any image) or 'none' (default: default)",
    )
    parser.add_argument(
        "--flip",
        action="store_true",
        help="add a horizontal flip to the default pipeline (natural images; never digits or text)",
    )
    parser.add_argument(
        "--no-flip", action="store_true", help="no flip (the default; kept for old scripts)"
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="when --out holds another materialize job, delete its files and start over",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--num-workers", type=int, default=0, help="worker processes (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def _load_dataset(args: argparse.Namespace) -> Any:
    if args.manifest is not None:
        if args.split is not None:
            raise CommandError(
                "--split and --manifest exclude each other: the manifest names its parts; "
                "choose one with --part."
            )
        return load_manifest_part(args.dataset, args.root, args.manifest, args.part or "train")
    if args.part is not None:
        raise CommandError("--part applies with --manifest (a part of a long-tail split).")
    check_split(args.dataset, args.split)
    return load_dataset(args.dataset, args.root, train=args.split != "test")


def _pipeline(args: argparse.Namespace) -> Any:
    from ..augment import default_pipeline, load_pipeline

    if args.augment == "none":
        return None
    if args.augment == "default":
        return default_pipeline(horizontal_flip=args.flip and not args.no_flip)
    return load_pipeline(args.augment)


def run(args: argparse.Namespace) -> int:
    from ..augment import materialize, oversample_with_augmentation

    if args.num_workers < 0:
        raise CommandError(f"--num-workers should be >= 0, but got {args.num_workers}.")
    if args.seed < 0:
        raise CommandError(f"--seed should be >= 0, but got {args.seed}.")
    check_folder(args.out, "--out")
    transform = _pipeline(args)
    dataset = _load_dataset(args)
    progress = not args.no_progress
    with writing(args.out, "--out"):
        if args.strategy == "none":
            result = materialize(
                dataset,
                args.out,
                transform=transform,
                seed=args.seed,
                progress=progress,
                num_workers=args.num_workers,
                restart=args.restart,
            )
        else:
            source = oversample_with_augmentation(
                dataset,
                transform,
                args.strategy,
                seed=args.seed,
                augment="none" if transform is None else "repeats",
            )
            result = materialize(
                source,
                args.out,
                progress=progress,
                num_workers=args.num_workers,
                restart=args.restart,
            )
    pipeline = "none" if transform is None else args.augment
    print(
        f"{result.total} files in {result.root} ({result.augmented} augmented, "
        f"{result.written} written now, {result.total - result.written} already there); "
        f"pipeline: {pipeline}; manifest: {result.manifest}"
    )
    return 0
