"""Grammar matches from a LanguageTool server the user runs (``/v2/check`` HTTP API).

LanguageTool is a Java program that is not on PyPI or Debian, so qualityscan never needs it:
it is used only when the user gives a server URL (``GarbleDetector(languagetool_url=...)`` or
the ``QUALITYSCAN_LANGUAGETOOL_URL`` environment variable). This module speaks the HTTP API
with :mod:`urllib` instead of going through ``language_tool_python``, whose local mode
downloads and starts LanguageTool on first use - something qualityscan must never do.

When no URL is configured, or the server cannot be reached, that is reported once per process
through :mod:`logging` and grammar checking is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

ENV_VAR = "QUALITYSCAN_LANGUAGETOOL_URL"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GrammarMatch:
    """One LanguageTool match: character offset and length in the checked text."""

    offset: int
    length: int
    message: str
    rule_id: str
    category: str = ""
    replacements: tuple[str, ...] = ()


class LanguageToolError(RuntimeError):
    """The server answered with something that is not a ``/v2/check`` response."""


class LanguageToolClient:
    """Checks text against ``{url}/v2/check``.

    Parameters
    ----------
    url:
        Server base URL, e.g. ``http://localhost:8081`` (a trailing ``/v2`` is accepted).
    language:
        LanguageTool language code.
    timeout:
        Seconds per request.
    """

    def __init__(self, url: str, language: str = "en-US", timeout: float = 10.0) -> None:
        base = url.rstrip("/")
        base = base.removesuffix("/v2")
        if urllib.parse.urlparse(base).scheme not in ("http", "https"):
            raise ValueError(f"LanguageTool URL must be http(s)://host[:port], got {url!r}")
        self.url = base
        self.language = language
        self.timeout = timeout
        self._failed = False

    def check(self, text: str) -> list[GrammarMatch] | None:
        """The matches in ``text``; ``None`` when the server is unreachable (reported once)."""
        if self._failed:
            return None
        data = urllib.parse.urlencode({"text": text, "language": self.language}).encode("utf-8")
        request = urllib.request.Request(f"{self.url}/v2/check", data=data,
                                         headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self._failed = True
            log.warning("LanguageTool server at %s is not usable (%s); grammar evidence is off "
                        "for the rest of this run", self.url, exc)
            return None
        return parse_matches(payload, self.url)


def parse_matches(payload: object, where: str = "response") -> list[GrammarMatch]:
    """:class:`GrammarMatch` list from a ``/v2/check`` JSON answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("matches"), list):
        raise LanguageToolError(f"{where}: not a LanguageTool /v2/check answer (no 'matches' list)")
    out = []
    for m in payload["matches"]:
        rule = m.get("rule") or {}
        out.append(GrammarMatch(
            offset=int(m["offset"]), length=int(m["length"]), message=str(m.get("message", "")),
            rule_id=str(rule.get("id", "")), category=str((rule.get("category") or {}).get("id", "")),
            replacements=tuple(r.get("value", "") for r in m.get("replacements", [])[:3]),
        ))
    return out


_CLIENTS: dict[str, LanguageToolClient] = {}
_LOCK = threading.Lock()
_reported_absent = False


def get_checker(url: str | None = None) -> LanguageToolClient | None:
    """The client for ``url`` (or ``$QUALITYSCAN_LANGUAGETOOL_URL``), shared per process;
    ``None`` when none is configured (reported once)."""
    global _reported_absent
    url = url or os.environ.get(ENV_VAR) or None
    with _LOCK:
        if url is None:
            if not _reported_absent:
                _reported_absent = True
                log.info("LanguageTool is not configured (set %s or languagetool_url); "
                         "garble scores do not use grammar checking", ENV_VAR)
            return None
        if url not in _CLIENTS:
            _CLIENTS[url] = LanguageToolClient(url)
        return _CLIENTS[url]
