"""The LanguageTool adapter against a local server that answers like ``/v2/check``."""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from qualityscan.backends import languagetool
from qualityscan.backends.languagetool import (
    GrammarMatch,
    LanguageToolClient,
    LanguageToolError,
    get_checker,
    parse_matches,
)


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
        form = urllib.parse.parse_qs(body)
        type(self).requests.append({"path": [self.path], **form})
        text = form["text"][0]
        matches = []
        at = text.find("a apple")
        if at >= 0:
            matches.append({
                "message": "Use \u201can\u201d instead of \u201ca\u201d",
                "offset": at, "length": 1,
                "replacements": [{"value": "an"}],
                "rule": {"id": "EN_A_VS_AN", "category": {"id": "MISC", "name": "Miscellaneous"}},
                "context": {"text": text, "offset": at, "length": 1},
            })
        payload = json.dumps({"software": {"name": "LanguageTool"}, "language": {"code": "en-US"},
                              "matches": matches}).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_client_posts_form_and_parses_matches(server):
    client = LanguageToolClient(server + "/v2/")
    text = "She ate a apple yesterday."
    matches = client.check(text)
    assert matches == [GrammarMatch(8, 1, "Use \u201can\u201d instead of \u201ca\u201d", "EN_A_VS_AN", "MISC", ("an",))]
    assert text[matches[0].offset:matches[0].offset + matches[0].length] == "a"
    sent = _Handler.requests[-1]
    assert sent["path"] == ["/v2/check"] and sent["language"] == ["en-US"] and sent["text"] == [text]
    assert client.check("Nothing wrong here.") == []


def test_unreachable_server_is_reported_once(caplog):
    import socket

    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LanguageToolClient(f"http://127.0.0.1:{port}", timeout=2)
    with caplog.at_level(logging.WARNING, logger=languagetool.__name__):
        assert client.check("text") is None
        assert client.check("more text") is None
    assert len([r for r in caplog.records if "not usable" in r.message]) == 1


def test_not_configured_reported_once(monkeypatch, caplog):
    monkeypatch.delenv(languagetool.ENV_VAR, raising=False)
    monkeypatch.setattr(languagetool, "_reported_absent", False)
    with caplog.at_level(logging.INFO, logger=languagetool.__name__):
        assert get_checker(None) is None
        assert get_checker(None) is None
    assert len([r for r in caplog.records if "not configured" in r.message]) == 1


def test_env_var_configures_checker(monkeypatch, server):
    monkeypatch.setenv(languagetool.ENV_VAR, server)
    checker = get_checker(None)
    assert isinstance(checker, LanguageToolClient) and checker.url == server


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="http"):
        LanguageToolClient("localhost:8081")
    with pytest.raises(LanguageToolError, match="matches"):
        parse_matches({"error": "nope"}, "http://x")


def test_garble_detector_adds_grammar_evidence(server):
    from qualityscan.detectors.garble import GarbleDetector
    from qualityscan.document import Document
    from qualityscan.segment import segment

    text = "Intro line that is fine.\nShe ate a apple yesterday and went home."
    doc = segment(Document("d", "d", text))
    result = GarbleDetector(threshold=0.0, languagetool_url=server).score(doc)
    grammar = [e for e in result.evidence[1] if e.message.startswith("grammar (EN_A_VS_AN)")]
    assert len(grammar) == 1
    start, end = grammar[0].span
    assert text[start:end] == "a"
    assert any("LanguageTool matches" in e.message for e in result.evidence[1])
