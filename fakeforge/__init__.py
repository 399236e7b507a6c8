"""The fake forge: GitHub, GitLab, Gitea and Forgejo APIs plus Git smart HTTP, offline.

``create_app(fixtures, synthetic, latency_ms=..., rate_limit=...)`` returns an ASGI app;
``fakeforge.testing.serve`` runs it on a loopback port. See ``fakeforge/README.md``.
"""

from fakeforge.app import PREFIXES, FakeForge, create_app

__all__ = ["PREFIXES", "FakeForge", "create_app"]
