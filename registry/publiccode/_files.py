"""Checks of what a publiccode.yml points at: files beside it, and URLs (network, opt-in).

Relative paths are resolved against ``base_dir`` (the folder of the document, or the
root of a clone); without a ``base_dir`` they are not checked. A path that leads out of
``base_dir`` is refused rather than probed, so that validating an untrusted document
never tells anything about the files of the machine that runs the validator.
"""

from __future__ import annotations

import os
import re
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_LOGO_WIDTH = 120
LOGO_EXTENSIONS = (".svg", ".svgz", ".png")
IMAGE_EXTENSIONS = (".jpg", ".png")
HTTP_TIMEOUT_SECONDS = 10.0

#: ``http_get(url) -> HTTP status``; raises ``OSError``/``ValueError`` when it cannot ask
HttpGet = Callable[[str], int]


def urllib_get(url: str) -> int:
    """GET ``url`` (http/https only) and return the status, without reading the body."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("only http and https URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "communs-publiccode-validator"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class UrlCheck:
    """Reachability of URLs, as the reference checks them when its network is on."""

    def __init__(self, http_get: HttpGet = urllib_get) -> None:
        self._http_get = http_get
        self._cache: dict[str, str | None] = {}

    def problem(self, url: str) -> str | None:
        """``None`` when ``url`` answers 200, else the reference's explanation."""
        if url not in self._cache:
            self._cache[url] = self._ask(url)
        return self._cache[url]

    def _ask(self, url: str) -> str | None:
        if not _SCHEME.match(url):
            return "missing URL scheme"
        try:
            status = self._http_get(url)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            return f"HTTP GET failed for {url}: {reason}"
        if status != 200:
            return f"HTTP GET returned {status} for {url}; 200 was expected"
        return None


class FileCheck:
    """Logos, screenshots and other files named by the document."""

    def __init__(self, base_dir: Path | None, url_check: UrlCheck | None) -> None:
        self.base_dir = Path(os.path.abspath(base_dir)) if base_dir is not None else None
        self.url_check = url_check

    def display(self, value: str) -> str:
        """The absolute path the reference shows for a relative ``value``."""
        base = self.base_dir if self.base_dir is not None else Path.cwd()
        return os.path.normpath(os.path.join(base, value))

    def _local(self, value: str) -> tuple[Path | None, str | None]:
        """(path to check, or None to skip; problem already found)."""
        if self.base_dir is None or not value:
            return None, None
        shown = self.display(value)
        path = Path(shown)
        try:
            inside = path.resolve().is_relative_to(self.base_dir.resolve())
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            return None, f"path leads outside the repository: {value}"
        return path, None

    def _remote(self, value: str) -> str | None:
        if self.url_check is None:
            return None
        return self.url_check.problem(value)

    def exists(self, value: str) -> str | None:
        if _SCHEME.match(value):
            return self._remote(value)
        path, problem = self._local(value)
        if path is None:
            return problem
        if not path.exists():
            return f"no such file: {self.display(value)}"
        return None

    def image(self, value: str) -> str | None:
        """A screenshot: ``.jpg`` or ``.png`` that exists."""
        if _SCHEME.match(value):
            return self._remote(value)
        if os.path.splitext(value)[1].lower() not in IMAGE_EXTENSIONS:
            return f"invalid file extension for: {self.display(value)}"
        return self.exists(value)

    def logo(self, value: str) -> str | None:
        """A logo: a relative ``.svg``/``.svgz``/``.png`` file (or an HTTP(S) URL)."""
        if value.lower().startswith("file:"):
            return "is a file:// URL. Only relative paths or HTTP(s) URLs allowed"
        if _SCHEME.match(value):
            if self.url_check is None:
                return None
            if os.path.splitext(value.split("?", 1)[0])[1].lower() not in LOGO_EXTENSIONS:
                return f"invalid file extension for: {value}"
            return self._remote(value)
        path, problem = self._local(value)
        if path is None:
            return problem
        extension = os.path.splitext(value)[1].lower()
        if extension not in LOGO_EXTENSIONS:
            return f"invalid file extension for: {self.display(value)}"
        if not path.exists():
            return f"no such file: {self.display(value)}"
        if extension == ".png":
            width = png_width(path)
            if width is None:
                return "image: unknown format"
            if width < MIN_LOGO_WIDTH:
                return (
                    f"invalid image size of {width} (min {MIN_LOGO_WIDTH}px of width): "
                    f"{self.display(value)}"
                )
        return None


def png_width(path: Path) -> int | None:
    """The width of a PNG image from its header, or ``None`` when it is not a PNG."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            header = handle.read(24)
    except OSError:
        return None
    if len(header) < 24 or not header.startswith(_PNG_SIGNATURE) or header[12:16] != b"IHDR":
        return None
    (width,) = struct.unpack(">I", header[16:20])
    return int(width)
