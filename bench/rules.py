"""Benchmark of the catalogue rules: tags parsed per second, license files classified.

Data: every real tag and license file in tests/data (Lutece tags, the real-forge
fixtures) plus the vendored SPDX reference texts. Prints its figures; the last line is
one JSON object. Run: ``.venv/bin/python bench/rules.py [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry import licenses, versions  # noqa: E402

DATA = ROOT / "tests" / "data"


def real_tags() -> list[tuple[str, str | None]]:
    tags: list[tuple[str, str | None]] = []
    for path in sorted((DATA / "real-forges").glob("*.json")):
        for repo in json.loads(path.read_text())["repositories"]:
            tags.extend((tag["name"], repo["name"]) for tag in repo["tags"])
    with (DATA / "versions" / "lutece-tags.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            tags.append((row["tag"], row["repo"].split("/")[-1]))
    return tags


def license_texts() -> list[str]:
    texts = [p.read_text() for p in sorted((ROOT / "registry" / "data" / "spdx").rglob("*.txt"))]
    for path in sorted((DATA / "real-forges").glob("*.json")):
        for repo in json.loads(path.read_text())["repositories"]:
            for name, text in repo["files"].items():
                upper = name.upper()
                if upper.startswith(("LICENSE", "LICENCE", "COPYING", "LICENSES/")):
                    texts.append(text)
    return texts


def bench_tags(tags: list[tuple[str, str | None]], seconds: float) -> float:
    parsed = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for tag, repository in tags:
            with contextlib.suppress(versions.InvalidVersionError):
                versions.parse_tag(tag, repository=repository)
        parsed += len(tags)
    return parsed / (time.perf_counter() - start)


def bench_licenses(texts: list[str], rounds: int) -> tuple[float, float, float]:
    per_file: list[float] = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            licenses.detect(text)
            per_file.append((time.perf_counter() - start) * 1000)
    per_file.sort()
    p50 = per_file[len(per_file) // 2]
    p95 = per_file[int(len(per_file) * 0.95)]
    return statistics.fmean(per_file), p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent parsing tags")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the license files")
    args = parser.parse_args()

    tags = real_tags()
    texts = license_texts()
    start = time.perf_counter()
    licenses.detect(texts[0])
    load_ms = (time.perf_counter() - start) * 1000
    tags_per_second = bench_tags(tags, args.seconds)
    mean_ms, p50_ms, p95_ms = bench_licenses(texts, args.rounds)
    print(f"tags: {len(tags)} real tags, {tags_per_second:,.0f} parsed per second")
    print(f"licenses: {len(texts)} files; reference load {load_ms:.0f} ms once;")
    print(f"  per file mean {mean_ms:.2f} ms, p50 {p50_ms:.2f} ms, p95 {p95_ms:.2f} ms")
    print("  (target: well under 10 ms per file)")
    print(
        json.dumps(
            {
                "tags": len(tags),
                "tags_per_second": round(tags_per_second),
                "license_files": len(texts),
                "license_ms_per_file": round(mean_ms, 3),
                "license_p95_ms": round(p95_ms, 3),
                "license_reference_load_ms": round(load_ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
