"""``printable``: control characters shown as escapes, ordinary text untouched."""

from launchdeck.core.text import printable, printable_output


def test_control_characters_are_escaped_and_plain_text_is_left_alone():
    assert printable("\x1b]0;pwned\x07x.py") == "\\x1b]0;pwned\\x07x.py"
    assert printable("C:\\data\\train.py") == "C:\\data\\train.py"
    assert printable("a\\b\x1b") == "a\\\\b\\x1b"  # once escaped, a backslash is unambiguous
    assert printable("\u202egnp.py") == "\\u202egnp.py"  # right-to-left override
    assert printable("bad\udcffname") == "bad\\udcffname"
    assert printable("two\nlines\r", keep="\n") == "two\nlines\\r"
    assert printable(3.5) == "3.5"


def test_a_run_s_output_keeps_its_colours_and_tabs_only():
    line = "\x1b[1;31mred\x1b[0m\tnext \x1bc\x1b[2J\x9b5m"
    assert printable_output(line) == "\x1b[1;31mred\x1b[0m\tnext \\x1bc\\x1b[2J\\x9b5m"
