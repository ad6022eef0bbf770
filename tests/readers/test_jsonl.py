import itertools
import json

from qualityscan.readers import ReadOptions, read_jsonl_lines


def test_records_ids_urls_and_meta():
    lines = [
        '{"id": "a1", "url": "https://x.test/1", "text": "First\\r\\ndoc", "lang": "en"}\n',
        "\n",
        '{"id": 7, "text": "Second"}\n',
        '{"text": "No id", "id": null}\n',
    ]
    docs = list(read_jsonl_lines(lines, source="in.jsonl", id_prefix="in.jsonl"))
    assert [(d.id, d.source, d.text, d.errors) for d in docs] == [
        ("a1", "in.jsonl:1", "First\ndoc", []),
        ("7", "in.jsonl:3", "Second", []),
        ("in.jsonl:4", "in.jsonl:4", "No id", []),
    ]
    assert docs[0].meta == {"line": 1, "url": "https://x.test/1",
                            "record": {"id": "a1", "url": "https://x.test/1", "text": "First\r\ndoc", "lang": "en"}}
    assert "url" not in docs[1].meta and docs[1].meta["record"] == {"id": 7, "text": "Second"}


def test_default_ids_without_prefix_are_line_numbers():
    docs = list(read_jsonl_lines(['{"text": "a"}', '{"text": "b"}']))
    assert [(d.id, d.source) for d in docs] == [("1", "<stdin>:1"), ("2", "<stdin>:2")]


def test_malformed_lines_become_error_documents_with_raw_text():
    lines = [
        '{"text": "good"}\n',
        '{"text": "unterminated\n',
        '["an", "array"]\n',
        '{"body": "no text field"}\r\n',
        '{"id": "n", "text": 42}\n',
        '   \n',
        '{"text": ""}\n',
    ]
    docs = list(read_jsonl_lines(lines, source="s.jsonl", id_prefix="s"))
    assert [d.errors for d in docs] == [
        [],
        ["s.jsonl:2: invalid JSON: Unterminated string starting at (column 10)"],
        ["s.jsonl:3: not a JSON object (got an array)"],
        ["s.jsonl:4: missing text field 'text'"],
        ["s.jsonl:5: text field 'text' is a number, not a string"],
        ["s.jsonl:7: no text found"],
    ]
    assert [d.id for d in docs] == ["s:1", "s:2", "s:3", "s:4", "n", "s:7"]
    assert docs[1].meta == {"line": 2, "raw": '{"text": "unterminated'}
    assert docs[3].meta == {"line": 4, "raw": '{"body": "no text field"}'}
    assert "record" not in docs[4].meta and docs[4].meta["raw"] == '{"id": "n", "text": 42}'
    # an empty text is a well-formed record: kept for pass-through, flagged as having no text
    assert docs[5].meta["record"] == {"text": ""} and docs[5].text == ""


def test_configurable_field_names():
    options = ReadOptions(text_field="content", id_field="doc_id", url_field="link")
    line = json.dumps({"doc_id": "d9", "link": "http://e.test", "content": "Body", "text": "ignored"})
    (doc,) = read_jsonl_lines([line], options)
    assert (doc.id, doc.text, doc.meta["url"]) == ("d9", "Body", "http://e.test")
    (missing,) = read_jsonl_lines(['{"text": "x"}'], options, source="f")
    assert missing.errors == ["f:1: missing text field 'content'"]


def test_bytes_lines_bom_and_legacy_encoding():
    lines = [b'\xef\xbb\xbf{"text": "caf\xc3\xa9"}\n',
             '{"text": "The caf\u00e9\u2019s \u201cna\u00efve\u201d cr\u00e8me br\u00fbl\u00e9e menu"}\n'.encode("cp1252")]
    docs = list(read_jsonl_lines(lines))
    assert [d.text for d in docs] == ["café", "The café’s “naïve” crème brûlée menu"]
    assert "encoding" not in docs[0].meta and docs[1].meta["encoding"] == "cp1252"


def test_oversized_line_reported_without_raw():
    options = ReadOptions(max_bytes=20)
    lines = ['{"text": "short"}\n', '{"text": "' + "x" * 30 + '"}\n']
    ok, big = read_jsonl_lines(lines, options, source="s")
    assert ok.text == "short"
    assert big.errors == ["s:2: line is over the 20-byte limit (raise it with --max-bytes)"]
    assert big.meta == {"line": 2, "oversized": True}


def test_lazy_over_an_endless_stream():
    endless = (f'{{"id": {i}, "text": "doc {i}"}}' for i in itertools.count(1))
    first = list(itertools.islice(read_jsonl_lines(endless), 3))
    assert [d.text for d in first] == ["doc 1", "doc 2", "doc 3"]
