"""Sign-in screen: shows a device code and where to enter it, while the session signs in."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from entrabr_tui.graph.credentials import DeviceCodePrompt
from entrabr_tui.ui.text import safe


class SignInScreen(ModalScreen[None]):
    """The code and URL of a device-code sign-in (works over SSH: open the URL on any device).

    ``c`` copies the code and ``u`` the URL (OSC 52); the screen closes by itself once signed in.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_code", "Copy code", id="sign-in-copy-code"),
        Binding("u", "copy_url", "Copy URL", id="sign-in-copy-url"),
    ]

    def __init__(self, prompt: DeviceCodePrompt) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        expires = self.prompt.expires_on.strftime("%H:%M UTC")
        with Vertical(classes="dialog", id="sign-in"):
            yield Label(Text("Sign in to Microsoft Entra", style="bold"), classes="dialog-title")
            yield Static(Text.assemble("1. On any device, open  ", safe(self.prompt.verification_uri, 80,
                                                                         style="bold underline")))
            yield Static(Text.assemble("2. Enter the code  ", safe(self.prompt.user_code, 40, style="bold")))
            yield Static(Text(f"The code expires at {expires}. This screen closes when you are signed in.",
                              style="dim"))
            yield Label(Text("c copies the code · u copies the URL", style="dim"))

    def action_copy_code(self) -> None:
        self.app.copy_to_clipboard(self.prompt.user_code)
        self.notify("Sign-in code copied.", title="Copied")

    def action_copy_url(self) -> None:
        self.app.copy_to_clipboard(self.prompt.verification_uri)
        self.notify("Sign-in URL copied.", title="Copied")
