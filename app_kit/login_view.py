"""The sign-in form."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import flet as ft

from app_kit.hooks import tagged, use_observable
from app_kit.session import SessionState


@dataclass
class _Draft:
    """What is typed so far. A ref, not state: handlers must read the latest keystrokes,
    which a closure captured at the last render may not have seen yet."""

    email: str = ""
    password: str = ""


@ft.component
def login_view(
    session: SessionState,
    on_login: Callable[[str, str], Awaitable[bool]],
    *,
    title: str,
    subtitle: str,
) -> ft.Control:
    use_observable(session)
    draft = ft.use_ref(_Draft()).current
    assert draft is not None

    def set_email(e: ft.Event[ft.TextField]) -> None:
        draft.email = e.control.value

    def set_password(e: ft.Event[ft.TextField]) -> None:
        draft.password = e.control.value

    async def submit() -> None:
        if not session.busy:
            await on_login(draft.email, draft.password)

    return ft.Container(
        alignment=ft.Alignment.TOP_CENTER,
        padding=24,
        content=ft.Column(
            width=360,
            spacing=16,
            controls=[
                ft.Text(title, size=28, weight=ft.FontWeight.BOLD),
                ft.Text(subtitle),
                tagged(
                    "login-email",
                    ft.TextField(
                        label="Email",
                        value=draft.email,
                        autofocus=True,
                        keyboard_type=ft.KeyboardType.EMAIL,
                        on_change=set_email,
                        on_submit=submit,
                    ),
                ),
                tagged(
                    "login-password",
                    ft.TextField(
                        label="Password",
                        value=draft.password,
                        password=True,
                        can_reveal_password=True,
                        on_change=set_password,
                        on_submit=submit,
                    ),
                ),
                *(
                    [tagged("login-error", ft.Text(session.error, color=ft.Colors.ERROR))]
                    if session.error
                    else []
                ),
                ft.Row(
                    [
                        tagged(
                            "login-submit",
                            ft.FilledButton("Sign in", on_click=submit, disabled=session.busy),
                        ),
                        *([ft.ProgressRing(width=20, height=20)] if session.busy else []),
                    ]
                ),
            ],
        ),
    )
