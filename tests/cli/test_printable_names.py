"""Names from runs reach the terminal with their control characters escaped; JSON stays exact."""

from tests.fixtures.projects import run_id_of

HOSTILE = "\x1b]0;pwned\x07x.py"
SCRIPT = (
    "import deckrun\n"
    "deckrun.log('\\x1b[2Jloss', 0.5)\n"
    "print('\\x1b[31mred\\x1b[0m output')\n"
    "raise ValueError('\\x1b]0;boom\\x07')\n")


def hostile_run(deck, project) -> str:
    (project / HOSTILE).write_text(SCRIPT)
    return run_id_of(deck("submit", "-c", "local", HOSTILE).out)


def test_runs_list_and_show_escape_control_characters(deck, project):
    run_id = hostile_run(deck, project)

    listed = deck("runs", "list", check=True)
    shown = deck("runs", "show", run_id, check=True)

    for output in (listed.out, shown.out):
        assert "\x1b" not in output and "\x07" not in output
    assert "\\x1b]0;pwned\\x07x.py" in listed.out
    assert "script:               \\x1b]0;pwned\\x07x.py" in shown.out
    assert "error:                exit code 1: ValueError: \\x1b]0;boom\\x07" in shown.out
    assert "  \\x1b[2Jloss: 0.5" in shown.out
    exact = deck.json("runs", "show", run_id)
    assert exact["script"] == HOSTILE and exact["metrics"] == {"\x1b[2Jloss": [0.5]}
    assert "\x1b[31mred\x1b[0m output" in deck("logs", run_id, check=True).out  # its own output


def test_an_error_naming_a_hostile_name_is_escaped(deck, project):
    result = deck("submit", "-c", "local", "\x1b[2Jmissing.py")
    assert result.returncode != 0
    assert "\x1b" not in result.err and "\\x1b[2Jmissing.py: no such file" in result.err
