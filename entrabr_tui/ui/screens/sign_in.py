"""Sign-in screen: the device code and where to enter it while the session signs in, or why opening the
tenant failed; both offer the other ways in (sign-in methods, offline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from entrabr_tui.core.sign_in import DeviceCodePrompt
from entrabr_tui.ui.bindings import SCREEN, SIGN_IN, bindings_of
from entrabr_tui.ui.text import multiline, safe

#: Results of the screen besides a method's spelling (``None``: the app closed it, the sign-in ended).
CANCEL = "cancel"
OFFLINE = "offline"

#: Method spelling → the key that picks it on this screen.
METHOD_KEYS = {"device-code": "d", "browser": "b", "cli": "a"}


class SignInScreen(ModalScreen[str | None]):
    """A device-code sign-in in progress (``prompt``) or a failure to open the tenant (``error``).

    With a code: ``c`` copies it and ``u`` the URL (OSC 52); the app closes the screen once signed in
    (:meth:`finish`). ``d`` (a new code), ``b`` (browser) and ``a`` (Azure CLI) sign in another way when
    ``methods`` offers them, ``o`` opens the cache offline when ``offline`` is offered; buttons do the same.
    esc cancels the sign-in (or closes the failure).
    """

    DEFAULT_CSS = """
    SignInScreen .dialog-buttons { align-horizontal: left; }
    SignInScreen .dialog-buttons Button { min-width: 0; margin: 0 2 0 0; }
    """
    AUTO_FOCUS = ""  # keys go to the screen's bindings; buttons take focus only when clicked or tabbed to
    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, SIGN_IN)

    def __init__(self, prompt: DeviceCodePrompt | None, methods: Sequence[tuple[str, str, str]] = (), *,
                 error: str | None = None, offline: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.error = error
        self.methods = [m for m in methods if m[0] in METHOD_KEYS]
        self.offline = offline
        self._finished = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sign-in"):
            if self.prompt is not None:
                yield from self._code(self.prompt)
            if self.error is not None:
                yield Label(Text("Could not open the tenant", style="bold"), classes="dialog-title")
                with VerticalScroll(classes="dialog-body"):
                    yield Static(multiline(self.error), id="sign-in-error")
                yield Label(Text("esc closes; ctrl+p has these choices too", style="dim"))
            choices = [(f"method-{m}", "New code" if m == "device-code" and self.prompt else label,
                        METHOD_KEYS[m]) for m, label, _ in self.methods]
            if self.offline:
                choices.append((f"method-{OFFLINE}", "Offline", "o"))
            if choices:
                yield Label(Text("Or sign in another way:" if self.prompt else "Try again:"),
                            id="sign-in-other")
                with Horizontal(classes="dialog-buttons"):
                    for button_id, label, key in choices:
                        yield Button(Text(f"{label} ({key})"), id=button_id, compact=True)

    @staticmethod
    def _code(prompt: DeviceCodePrompt) -> ComposeResult:
        expires = prompt.expires_on.strftime("%H:%M UTC")
        yield Label(Text("Sign in to Microsoft Entra", style="bold"), classes="dialog-title")
        yield Static(Text.assemble("1. On any device, open  ", safe(prompt.verification_uri, 80,
                                                                     style="bold underline")))
        yield Static(Text.assemble("2. Enter the code  ", safe(prompt.user_code, 40, style="bold")))
        yield Static(Text(f"The code expires at {expires}. This screen closes when you are signed in.",
                          style="dim"))
        yield Label(Text("c copies the code · u copies the URL · esc cancels", style="dim"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_code", "copy_url"):
            return self.prompt is not None
        if action == "choose":
            if parameters[0] == OFFLINE:
                return self.offline
            return any(m[0] == parameters[0] for m in self.methods)
        return True

    def action_copy_code(self) -> None:
        if self.prompt is not None:
            self.app.copy_to_clipboard(self.prompt.user_code)
            self.notify("Sign-in code copied.", title="Copied")

    def action_copy_url(self) -> None:
        if self.prompt is not None:
            self.app.copy_to_clipboard(self.prompt.verification_uri)
            self.notify("Sign-in URL copied.", title="Copied")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _choice_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("method-"):
            self.dismiss(event.button.id.removeprefix("method-"))

    def action_cancel_sign_in(self) -> None:
        self.dismiss(CANCEL)

    def finish(self) -> None:
        """Close the screen because the sign-in ended (now, or as soon as a screen above it closes)."""
        self._finished = True
        if self.is_active:
            self.dismiss(None)

    def on_screen_resume(self) -> None:
        if self._finished:
            self.dismiss(None)
