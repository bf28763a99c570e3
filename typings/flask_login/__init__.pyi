from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask
from werkzeug.wrappers import Response

__all__ = ["LoginManager", "current_user", "login_user", "logout_user"]

_Loader = TypeVar("_Loader", bound=Callable[[str], object])

# A LocalProxy of the signed-in user (the user loader's object) or an anonymous one.
current_user: Any

class LoginManager:
    login_view: str | None
    login_message: str
    login_message_category: str
    session_protection: str | None
    def __init__(self, app: Flask | None = None, add_context_processor: bool = True) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...
    def unauthorized(self) -> Response: ...
    def user_loader(self, callback: _Loader) -> _Loader: ...

def login_user(
    user: object,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
) -> bool: ...
def logout_user() -> bool: ...
