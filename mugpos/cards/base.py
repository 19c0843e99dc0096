"""The renderer interface: a :class:`ReportCard` in, a rendered card out (bytes, a URL, both)."""

from __future__ import annotations

import abc

from pydantic import BaseModel, ConfigDict, Field

from mugpos.cards.model import ReportCard
from mugpos.errors import MugposError


class CardRenderError(MugposError):
    """The renderer failed (an outside service refused or did not answer)."""

    code = "card_render_failed"


class RenderedCard(BaseModel):
    model_config = ConfigDict(frozen=True)

    renderer: str
    media_type: str
    content: bytes | None = Field(default=None, repr=False, description="The picture, if here.")
    url: str | None = Field(default=None, description="Where the picture is, if elsewhere.")
    render_id: str | None = None
    width: int | None = None
    height: int | None = None


class CardRenderer(abc.ABC):
    name: str

    @abc.abstractmethod
    def render(self, card: ReportCard) -> RenderedCard:
        """Blocking (a drawing or an HTTP call): run it off the event loop."""
