"""Benchmark of crawling: requests per repository, repositories per second, peak memory.

The fake forge runs as a real server (``python -m fakeforge``, a subprocess on loopback) with
generated accounts of 1,000 and 10,000 repositories and ``--latency-ms`` added to every
request; each crawl is ``python -m communs crawl ...`` in a subprocess of its own, on a fresh
SQLite catalogue in a temporary data directory, as an operator would run it. For each forge
shape (GitHub GraphQL, GitLab v4, Gitea v1) and size: a full crawl, then a recrawl with
nothing changed (a new process on the same catalogue, as a scheduled recrawl is).

Requests are counted by the fake forge (``/_fakeforge/stats``: every request, 304s
included); peak memory is the crawling process's own peak RSS (``os.wait4``), so the fake
forge's memory is not in it. Repositories per second is the repositories of a full crawl
over its wall time, process start and migrations included.

Run: ``.venv/bin/python bench/crawl.py [--quick] [--sizes 1000,10000] [--latency-ms 20]``.
Prints one line per crawl; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fakeforge.testing import free_port  # noqa: E402

#: forge kind -> (fake forge prefix, the target's forge name)
FORGES = {"github": "github", "gitlab": "gitlab", "gitea": "gitea"}
TARGETS = {"github": 0.05, "gitlab": 3.0, "gitea": 3.0}
RECRAWL_TARGET = 0.05
RATE_TARGET = 200.0


def owner(forge: str, size: int) -> str:
    return f"{forge}-bench-{size}"


def start_forge(sizes: list[int], latency_ms: float, workdir: Path) -> tuple[Any, str]:
    port = free_port()
    args = [sys.executable, "-m", "fakeforge", "--port", str(port)]
    args += ["--latency-ms", str(latency_ms), "--rate-limit", "100000000"]
    args += ["--git-root", str(workdir / "git")]
    for forge in FORGES:
        for size in sizes:
            args += ["--synthetic", f"{forge}:{owner(forge, size)}:{size}"]
    log = (workdir / "fakeforge.log").open("wb")
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            control(url, "/_fakeforge/accounts")
            return process, url
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the fake forge did not start") from None
            time.sleep(0.1)


def control(url: str, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(
        url + path, method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def crawl(forge_url: str, forge: str, size: int, data_dir: Path) -> dict[str, Any]:
    """One ``communs crawl`` process; its summary, wall time, peak RSS and the requests the
    fake forge counted."""
    control(forge_url, "/_fakeforge/reset", "POST")
    target = f"{forge}:{owner(forge, size)}"
    args = [sys.executable, "-m", "communs", "crawl", target, "--json", "--quiet"]
    args += ["--base-url", f"{forge_url}/{FORGES[forge]}", "--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
    env["COMMUNS_DATA_DIR"] = str(data_dir)
    out_path = data_dir / f"crawl-{time.monotonic_ns()}.json"
    with out_path.open("wb") as out, (data_dir / "crawl.err").open("ab") as err:
        start = time.perf_counter()
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stats = control(forge_url, "/_fakeforge/stats")
    try:
        summary = json.loads(out_path.read_text())
    except ValueError:
        summary = {"error": out_path.read_text()[-500:]}
    return {
        "forge": forge,
        "size": size,
        "exit": process.returncode,
        "seconds": round(elapsed, 2),
        "repos_per_second": round(size / elapsed, 1),
        "requests": stats["total"],
        "not_modified": stats["not_modified"],
        "req_per_repo": round(stats["total"] / size, 4),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "repositories": summary.get("repositories"),
        "added": summary.get("added"),
        "failed": summary.get("failed"),
        "by_endpoint": stats["requests"],
    }


def line(kind: str, result: dict[str, Any]) -> str:
    return (
        f"{result['forge']:6} {result['size']:>6} {kind:7}: {result['seconds']:8.2f} s, "
        f"{result['repos_per_second']:8.1f} repos/s, {result['requests']:>6} requests "
        f"({result['req_per_repo']:.4f}/repo, {result['not_modified']} x 304), "
        f"peak RSS {result['peak_rss_mb']:.1f} MB; {result['repositories']} repositories, "
        f"{result['added']} added, {result['failed']} failed (exit {result['exit']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1,000 repositories only")
    parser.add_argument("--sizes", default="1000,10000", help="account sizes, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--forges", default="github,gitlab,gitea")
    parser.add_argument("--verbose", action="store_true", help="requests per endpoint too")
    args = parser.parse_args(argv)
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    forges = [f for f in args.forges.split(",") if f]
    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="communs-bench-crawl-") as tmp:
        workdir = Path(tmp)
        process, url = start_forge(sizes, args.latency_ms, workdir)
        print(
            f"fake forge at {url}: {len(forges)} forge shapes x {sizes} repositories, "
            f"{args.latency_ms} ms latency; cpus {os.cpu_count()}, "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        try:
            for size in sizes:
                for forge in forges:
                    data_dir = workdir / f"{forge}-{size}"
                    data_dir.mkdir()
                    for kind in ("full", "recrawl"):
                        result = crawl(url, forge, size, data_dir)
                        results.append((kind, result))
                        print(line(kind, result), flush=True)
                        if args.verbose:
                            for endpoint, count in sorted(result["by_endpoint"].items()):
                                print(f"    {count:>7}  {endpoint}")
        finally:
            process.terminate()
            process.wait(timeout=30)

    def pick(kind: str, forge: str | None = None, size: int | None = None) -> list[dict[str, Any]]:
        return [
            r
            for k, r in results
            if k == kind
            and (forge is None or r["forge"] == forge)
            and (size is None or r["size"] == size)
        ]

    largest = max(sizes)
    figures: dict[str, Any] = {"sizes": sizes, "latency_ms": args.latency_ms}
    for forge in forges:
        figures[f"{forge}_full_req_per_repo"] = pick("full", forge, largest)[0]["req_per_repo"]
        figures[f"{forge}_recrawl_req_per_repo"] = pick("recrawl", forge, largest)[0][
            "req_per_repo"
        ]
        figures[f"{forge}_repos_per_second"] = pick("full", forge, largest)[0]["repos_per_second"]
    figures["recrawl_req_per_repo_max"] = max(r["req_per_repo"] for r in pick("recrawl"))
    figures["repos_per_second"] = min(r["repos_per_second"] for r in pick("full", size=largest))
    figures["recrawl_repos_per_second"] = min(
        r["repos_per_second"] for r in pick("recrawl", size=largest)
    )
    for size in sizes:
        label = f"{size // 1000}k" if size % 1000 == 0 else str(size)
        figures[f"peak_rss_mb_{label}"] = max(
            r["peak_rss_mb"] for _k, r in results if r["size"] == size
        )
    figures["failed"] = sum(r["failed"] or 0 for _k, r in results)
    figures["all_exit_zero"] = all(r["exit"] == 0 for _k, r in results)
    missed = [
        f"{forge} full {figures[f'{forge}_full_req_per_repo']} > {TARGETS[forge]} req/repo"
        for forge in forges
        if figures[f"{forge}_full_req_per_repo"] > TARGETS[forge]
    ]
    if figures["recrawl_req_per_repo_max"] > RECRAWL_TARGET:
        missed.append(f"recrawl {figures['recrawl_req_per_repo_max']} > {RECRAWL_TARGET} req/repo")
    if figures["repos_per_second"] < RATE_TARGET:
        missed.append(f"{figures['repos_per_second']} < {RATE_TARGET} repos/s")
    figures["targets_missed"] = missed
    print("targets missed: " + ("; ".join(missed) if missed else "none"))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
