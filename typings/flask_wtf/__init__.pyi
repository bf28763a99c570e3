from typing import Any

from markupsafe import Markup
from wtforms import Form

from .csrf import CSRFProtect as CSRFProtect

__all__ = ["CSRFProtect", "FlaskForm"]

class FlaskForm(Form):
    def __init__(self, formdata: Any = ..., **kwargs: Any) -> None: ...
    def is_submitted(self) -> bool: ...
    def validate_on_submit(self, extra_validators: Any = None) -> bool: ...
    def hidden_tag(self, *fields: Any) -> Markup: ...
