"""``python -m fakeforge --fixture FILE [--synthetic KIND:OWNER:N] --port N``: a loopback server."""

from __future__ import annotations

import argparse
import sys

from fakeforge.app import PREFIXES, create_app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fakeforge", description=__doc__)
    parser.add_argument(
        "--fixture",
        action="append",
        default=[],
        metavar="FILE[=GROUP/PATH]",
        help="account in the real-forges format; '=a/b' nests it as a subgroup",
    )
    parser.add_argument(
        "--synthetic",
        action="append",
        default=[],
        metavar="KIND:OWNER:N",
        help="N generated repositories for OWNER, e.g. github:bigorg:10000",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=5000,
        help="requests per hour per forge before 403/429 (default 5000)",
    )
    parser.add_argument("--git-root", default=None, help="where Git repositories are built")
    return parser


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = build_parser().parse_args(argv)
    app = create_app(
        args.fixture,
        args.synthetic,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        git_root=args.git_root,
    )
    base = f"http://{args.host}:{args.port}"
    repos = sum(len(a.repositories) for a in app.world.accounts.values())
    print(
        f"fakeforge: {len(app.world.accounts)} accounts, {repos} repositories, "
        f"rate limit {args.rate_limit}/h, latency {args.latency_ms} ms",
        file=sys.stderr,
    )
    for forge, prefix in PREFIXES.items():
        print(f"  {forge:15} {base}{prefix}", file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    finally:
        app.git.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
