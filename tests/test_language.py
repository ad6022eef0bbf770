from qualityscan.language import identify


def test_identifies_english_and_german():
    assert identify("The foreign minister arrived in Beijing on Sunday for two days of talks.")[0] == "en"
    assert identify("Der Außenminister traf am Sonntag zu zweitägigen Gesprächen in Peking ein.")[0] == "de"


def test_short_text_is_unknown():
    assert identify("Hi there") == (None, 0.0)
