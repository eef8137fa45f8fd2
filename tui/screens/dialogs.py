"""Small modal questions: confirm, enter a value, pick from a list, review a diff."""

from __future__ import annotations

from typing import Callable, Iterable

from rich.syntax import Syntax
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from launchdeck.tui.widgets.scrolling import Options, Scroll


# Tab moves focus as a priority binding, decided when the key arrives: keys typed ahead (a
# slow SSH link delivers them in one burst) then reach the field Tab moved to, not the one
# before it.
TYPE_AHEAD_BINDINGS = [
    Binding("tab", "app.focus_next", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", show=False, priority=True),
]


class DialogBody(Scroll):
    """A dialog's frame. What it holds scrolls when the terminal is too short for it; its
    buttons are docked at its bottom edge, so they always show."""

    # Not on the Tab round: a dialog whose body is long (a diff) focuses it for the keys.
    can_focus = False


class Dialog(ModalScreen):
    """A question over the screen that asked it, with its own footer of keys (``?`` lists
    them all)."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > DialogBody {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    Dialog .question { margin: 1 0; }
    Dialog .error { color: $error; height: auto; }
    Dialog Horizontal.buttons {
        dock: bottom; height: auto; align-horizontal: right; padding-top: 1;
        background: $panel;
    }
    Dialog Button { margin-left: 2; min-width: 10; }
    Dialog .field { height: 1; margin-top: 1; }
    /* A long pick list scrolls itself (following its cursor) inside a dialog that fits 24 rows. */
    Dialog OptionList { height: auto; max-height: 12; }
    Dialog .field Label { width: 12; }
    Dialog .field Input, Dialog .field Select { width: 1fr; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                # A modal screen's keys stop at the screen: the app's "?" is offered again.
                Binding("question_mark", "app.help", "Keys"),
                *TYPE_AHEAD_BINDINGS]

    @on(events.Mount)
    def _add_footer(self) -> None:
        # Its own footer, over the one of the screen behind: the keys that act here.
        self.mount(Footer(compact=True, show_command_palette=False))

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(Dialog):
    """Yes or no; ``y`` and ``n`` answer too. Dismisses with True or False."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n", "answer(False)", "No")]

    def __init__(self, question: str, *, yes: str = "Yes", danger: bool = True) -> None:
        super().__init__()
        self.question, self.yes, self.danger = question, yes, danger

    def compose(self) -> ComposeResult:
        with DialogBody():
            yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="error" if self.danger else "primary",
                             id="yes", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(False)


class Prompt(Dialog):
    """One value, checked as it is typed by ``validate`` (returns an error or None)."""

    def __init__(self, question: str, *, value: str = "", placeholder: str = "",
                 validate: Callable[[str], str | None] | None = None,
                 password: bool = False) -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder
        self.check = validate or (lambda _: None)
        self.password = password

    def compose(self) -> ComposeResult:
        with DialogBody():
            yield Static(self.question, classes="question")
            yield Input(self.value, placeholder=self.placeholder, password=self.password,
                        id="value", compact=True)
            yield Static("", classes="error", id="error")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#error", Static).update(self.check(event.value) or "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        error = self.check(event.value)
        if error:
            self.query_one("#error", Static).update(error)
            self.app.bell()
            return
        self.dismiss(event.value)


class Choose(Dialog):
    """Pick one of several values (enter), or escape."""

    def __init__(self, question: str, choices: Iterable[str | tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.choices = [c if isinstance(c, tuple) else (c, c) for c in choices]

    def compose(self) -> ComposeResult:
        with DialogBody():
            yield Static(self.question, classes="question")
            yield Options(*(Option(label, id=value) for value, label in self.choices))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ReviewDiff(Dialog):
    """A unified diff of a file about to be written; ``y`` writes it."""

    DEFAULT_CSS = """
    ReviewDiff > DialogBody { width: 100; }
    ReviewDiff #diff { border: round $primary; }
    """
    BINDINGS = [Binding("y,ctrl+s", "answer(True)", "Write"), Binding("n", "answer(False)", "Keep")]

    def __init__(self, title: str, diff: str) -> None:
        super().__init__()
        self.title_text, self.diff = title, diff

    def compose(self) -> ComposeResult:
        with DialogBody() as body:
            body.can_focus = True  # arrows, j/k and page keys scroll the diff
            yield Label(self.title_text, classes="question")
            diff = Syntax(self.diff, "diff", theme="ansi_dark", word_wrap=True) \
                if self.diff else Text("no change")
            yield Static(diff, id="diff")
            with Horizontal(classes="buttons"):
                yield Button("Write (y)", variant="primary", id="yes", compact=True)
                yield Button("Keep editing (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one(DialogBody).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
