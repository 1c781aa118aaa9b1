"""Triage on BANKING77: the product's intent classifier, trained and tested on the official split.

Usage:
    python benchmarks/triage.py                                  # every encoder, full + 10-shot
    python benchmarks/triage.py --encoder minilm --shots 10 --seeds 0 1 2 3 4
    python benchmarks/triage.py --encoder tfidf --shots full --latency 500
    python benchmarks/triage.py --torch-threads 1    # torch threads for batches (a ticket uses 1)

For each encoder (``minilm`` = MiniLM embeddings + TF-IDF n-grams, ``tfidf`` = n-grams alone)
and each setting, trains ``IntentClassifier`` (exactly what the support area stores) on
``train.csv`` -- all 10,003 rows, or N examples per intent drawn with each seed -- and
scores it on all 3,080 rows of ``test.csv``. Training time includes encoding the training
texts. Latency is one ``predict([text])`` call per ticket (a test text each time), after a
warm-up, on CPU; p50/p95 over ``--latency`` calls. Prints Markdown tables for
docs/benchmarks.md, "Support triage". Targets (issue): >= 92 % full, >= 85 % with 10 per intent,
<= 50 ms per ticket.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from loopwise.support.triage.classifier import IntentClassifier, evaluate
from loopwise.support.triage.encoders import embeddings_available

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "banking77"
TARGETS = {"full": 0.92, "10": 0.85, "latency_ms": 50.0}
console = Console(stderr=True)


@dataclass(frozen=True)
class Run:
    encoder: str
    setting: str
    seed: int | None
    trained_on: int
    accuracy: float
    macro_f1: float
    train_s: float
    model_bytes: int


def read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["category"] for row in rows]


def sample(labels: list[str], shots: int, seed: int) -> list[int]:
    """``shots`` row numbers per intent, drawn without replacement with ``seed``."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    array = np.asarray(labels)
    for label in sorted(set(labels)):
        members = np.flatnonzero(array == label)
        chosen.extend(int(i) for i in rng.choice(members, size=shots, replace=False))
    return sorted(chosen)


def one_run(
    encoder: str,
    setting: str,
    seed: int | None,
    train: tuple[list[str], list[str]],
    test: tuple[list[str], list[str]],
) -> tuple[Run, IntentClassifier]:
    texts, labels = train
    if setting != "full":
        rows = sample(labels, int(setting), seed or 0)
        texts, labels = [texts[i] for i in rows], [labels[i] for i in rows]
    started = time.perf_counter()
    clf = IntentClassifier.train(texts, labels, encoder_name=encoder, seed=seed or 0)
    train_s = time.perf_counter() - started
    scores = evaluate(clf, *test)
    run = Run(encoder, setting, seed, len(texts), scores.accuracy, scores.macro_f1, train_s,
              len(clf.to_bytes()))  # fmt: skip
    return run, clf


def latency_ms(clf: IntentClassifier, texts: list[str], calls: int) -> tuple[float, float]:
    """p50/p95 of single-ticket ``predict`` calls, after 20 warm-up calls."""
    for text in texts[:20]:
        clf.predict([text])
    spent = []
    for number in range(calls):
        text = texts[(number * 37) % len(texts)]
        started = time.perf_counter()
        clf.predict([text])
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return spent[len(spent) // 2], spent[min(len(spent) - 1, round(0.95 * (len(spent) - 1)))]


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.machine()}, {os.cpu_count()} cores ({model}), {memory:.0f} GiB RAM, "
            f"Python {platform.python_version()}, load average {load}")  # fmt: skip


def versions() -> str:
    import scipy  # type: ignore[import-untyped]
    import sklearn  # type: ignore[import-untyped]

    found = [f"numpy {np.__version__}", f"scikit-learn {sklearn.__version__}",
             f"scipy {scipy.__version__}"]  # fmt: skip
    if embeddings_available():
        import sentence_transformers
        import torch

        found += [f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
                  f"sentence-transformers {sentence_transformers.__version__}"]  # fmt: skip
    return ", ".join(found)


def summary(runs: list[Run], latency: dict[tuple[str, str], tuple[float, float]]) -> None:
    print("\n| encoder | training set | seeds | accuracy | macro-F1 | train s | model | "
          "predict p50 / p95 ms | target |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for key in dict.fromkeys((r.encoder, r.setting) for r in runs):
        group = [r for r in runs if (r.encoder, r.setting) == key]
        accuracy = [r.accuracy * 100 for r in group]
        mean = statistics.fmean(accuracy)
        spread = (f" ± {statistics.stdev(accuracy):.2f} (min {min(accuracy):.2f}, "
                  f"max {max(accuracy):.2f})" if len(group) > 1 else "")  # fmt: skip
        seeds = ", ".join(str(r.seed) for r in group) if group[0].seed is not None else "—"
        name = (
            "full (10,003)" if key[1] == "full" else f"{key[1]} per intent ({group[0].trained_on})"
        )
        target = TARGETS.get(key[1])
        verdict = "—" if target is None else ("met" if mean >= target * 100 else "**missed**")
        p50, p95 = latency.get(key, (float("nan"), float("nan")))
        print(f"| {key[0]} | {name} | {seeds} | {mean:.2f} %{spread} | "
              f"{statistics.fmean(r.macro_f1 for r in group) * 100:.2f} | "
              f"{statistics.fmean(r.train_s for r in group):.1f} | "
              f"{group[0].model_bytes / 2**20:.1f} MiB | {p50:.1f} / {p95:.1f} | "
              f"{verdict} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with train.csv, test.csv")
    parser.add_argument("--encoder", choices=["minilm", "tfidf"], action="append",
                        help="repeatable; default: minilm if installed, and tfidf")  # fmt: skip
    parser.add_argument("--shots", nargs="+", default=["full", "10"],
                        help="'full' and/or examples per intent")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--latency", type=int, default=300, help="single-ticket calls timed")
    parser.add_argument("--torch-threads", type=int, default=None)
    args = parser.parse_args()
    encoders = args.encoder or (["minilm", "tfidf"] if embeddings_available() else ["tfidf"])
    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
    train, test = read(args.data / "train.csv"), read(args.data / "test.csv")
    print(f"Machine: {machine()}")
    print(f"Versions: {versions()}")
    jobs = [(e, s, None if s == "full" else seed) for e in encoders for s in args.shots
            for seed in ([None] if s == "full" else args.seeds)]  # fmt: skip
    runs: list[Run] = []
    latency: dict[tuple[str, str], tuple[float, float]] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
               "{task.total}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("training and testing", total=len(jobs))
        for encoder, setting, seed in jobs:
            progress.update(task, description=f"{encoder} {setting} seed {seed}")
            run, clf = one_run(encoder, setting, seed, train, test)
            runs.append(run)
            console.log(f"{encoder} {setting} seed {seed}: {run.accuracy * 100:.2f} %, "
                        f"trained in {run.train_s:.1f} s")  # fmt: skip
            if (encoder, setting) not in latency and args.latency > 0:
                progress.update(task, description=f"{encoder} {setting}: latency")
                latency[(encoder, setting)] = latency_ms(clf, test[0], args.latency)
            progress.advance(task)
    summary(runs, latency)
    print(f"\nEnd load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
