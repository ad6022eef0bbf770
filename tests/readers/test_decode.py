import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualityscan.readers import InputError
from qualityscan.readers.decode import declared_charset, decode_bytes, normalise_text

TEXT = "The café’s “naïve” menu — crème brûlée for €5.\nSecond line.\n"
LATIN1 = "Ærøskøbing er en by på Ærø. Året rundt får byen besøg af turister fra hele Danmark.\n"


def test_utf8_plain_and_with_bom():
    assert decode_bytes(TEXT.encode(), "f") == (TEXT, "utf-8")
    assert decode_bytes(codecs.BOM_UTF8 + TEXT.encode(), "f") == (TEXT, "utf-8")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_encodings_with_bom(codec):
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[codec]
    assert decode_bytes(bom + TEXT.encode(codec), "f") == (TEXT, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(codec):
    assert decode_bytes(TEXT.encode(codec), "f") == (TEXT, codec)


def test_cp1252_detected():
    text, encoding = decode_bytes(TEXT.encode("cp1252"), "f")
    assert (text, encoding) == (TEXT, "cp1252")


def test_latin1_detected_as_its_cp1252_superset():
    assert decode_bytes(LATIN1.encode("latin-1"), "f") == (LATIN1, "cp1252")


def test_cyrillic_code_page_detected():
    text = "Привет, как дела? Это тестовый текст на русском языке, чтобы проверить кодировку.\n"
    assert decode_bytes(text.encode("cp1251"), "f") == (text, "cp1251")


def test_declared_charset_used_when_utf8_fails():
    data = "<meta charset='iso-8859-2'><p>Zażółć gęślą jaźń</p>".encode("iso-8859-2")
    assert declared_charset(data) == "iso-8859-2"
    assert decode_bytes(data, "f", declared="iso-8859-2").text.endswith("Zażółć gęślą jaźń</p>")


def test_declared_latin1_read_as_cp1252_like_browsers():
    data = "“quoted”".encode("cp1252")
    assert decode_bytes(data, "f", declared="ISO-8859-1") == ("“quoted”", "cp1252")


def test_declared_charset_ignored_when_the_bytes_are_utf8():
    assert decode_bytes("café".encode(), "f", declared="windows-1252") == ("café", "utf-8")


def test_mixed_line_endings_normalised():
    data = b"a\r\nb\rc\nd\r\n\r\ne"
    assert decode_bytes(data, "f").text == "a\nb\nc\nd\n\ne"
    assert normalise_text("x\u2029y\r") == "x\ny\n"


def test_nul_bytes_mean_binary():
    with pytest.raises(InputError, match=r"^dir/f\.dat: binary file \(contains NUL bytes\)$"):
        decode_bytes(b"abc\x00\x01\x02def" * 3, "dir/f.dat")


def test_magic_number_means_binary():
    with pytest.raises(InputError, match=r"^f\.txt: binary file \(PDF document\)$"):
        decode_bytes(b"%PDF-1.4\nsome text", "f.txt")


def test_invalid_data_after_bom_is_an_error():
    with pytest.raises(InputError, match=r"^f: invalid utf-8 at byte 1 \(the file's byte-order mark says utf-8\)$"):
        decode_bytes(codecs.BOM_UTF8 + b"a\xff", "f")


# One or two sentences per language, written for this test (no corpus text). Legacy code
# pages where the detector is known to pick a wrong sibling are marked xfail(strict=True),
# so fixing one shows up as an XPASS. See docs/input.md, "Encodings".
def _sample(language: str, codec: str, text: str, known_wrong: str | None = None):
    marks = [pytest.mark.xfail(strict=True, reason=known_wrong)] if known_wrong else []
    return pytest.param(text, codec, marks=marks, id=f"{language}-{codec}")


SAMPLES = [
    _sample("fr", "cp1252",
            "Le café était fermé à cause de la grève. Les élèves ont dû rentrer à pied, très déçus."),
    _sample("de", "cp1252",
            "Die Straße führt über die Brücke. Größere Häuser stehen am Ufer, schön und ruhig."),
    _sample("es", "cp1252", "El niño comió una piña en el jardín. ¿Qué más quería? ¡Mañana será otro día!"),
    _sample("en", "cp1252", "The café’s “naïve” menu — crème brûlée for €5."),
    _sample("da", "latin-1", "Ærøskøbing er en by på Ærø. Året rundt får byen besøg af turister."),
    _sample("pt", "latin-1", "A informação não está disponível. O governo português anunciou ações."),
    _sample("cs", "cp1250", "Příliš žluťoučký kůň úpěl ďábelské ódy. Zažil jsem to v Brně."),
    _sample("pl", "cp1250", "Zażółć gęślą jaźń. Właściwie wszystko się udało, powiedział minister."),
    _sample("ru", "cp1251", "Министр прибыл в Пекин в воскресенье для переговоров с китайскими коллегами."),
    _sample("el", "cp1253", "Ο υπουργός έφτασε στο Πεκίνο την Κυριακή για συνομιλίες."),
    _sample("ja", "shift_jis", "大臣は日曜日に北京に到着し、中国側と会談した。"),
    _sample("zh", "gbk", "国务卿星期日抵达北京，与中国官员举行会谈。"),
    _sample("ko", "euc-kr", "장관은 일요일 베이징에 도착해 중국 측과 회담했다."),
    _sample("pl", "iso8859-2", "Zażółć gęślą jaźń. Właściwie wszystko się udało, powiedział minister.",
            "detected as iso8859_10"),
    _sample("tr", "cp1254", "Bakan pazar günü Pekin'e ulaştı. Görüşmeler iki gün sürecek, dedi yetkili.",
            "cp1252 and cp1254 tie; cp1252 is preferred"),
    _sample("ru", "koi8-r", "Министр прибыл в Пекин в воскресенье для переговоров с китайскими коллегами.",
            "one short sentence is detected as shift_jis_2004"),
]


@pytest.mark.parametrize(("text", "codec"), SAMPLES)
def test_code_page_round_trip(text, codec):
    assert decode_bytes(text.encode(codec), "sample.txt").text == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_input_error(data):
    try:
        text, _ = decode_bytes(data, "f")
    except InputError as exc:
        assert str(exc).startswith("f: ")
    else:
        assert "\r" not in text and "\u2028" not in text


def test_http_equiv_charset_declaration():
    head = b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-15">'
    assert declared_charset(head) == "iso-8859-15"
    assert declared_charset(b"<p>charset=utf-8 outside a meta tag</p>") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\r", "\n", "\u2028", "\u2029", "é", "\ud800"]), max_size=30))
def test_ascii_shortcut_normalises_like_the_general_rule(text):
    import re

    general = re.sub(r"\r\n?|[\u2028\u2029]", "\n", text)
    general = general.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert normalise_text(text) == general
