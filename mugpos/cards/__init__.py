"""Report cards: one analysis for people (score, verdict, violations, moves, annotated photo),
rendered here (:class:`LocalCardRenderer`, the offline default) or by Templated.io
(:class:`TemplatedRenderer`)."""

from __future__ import annotations

from mugpos.cards.base import CardRenderer, CardRenderError, RenderedCard
from mugpos.cards.local import LocalCardRenderer
from mugpos.cards.model import ReportCard, build_card
from mugpos.settings import Settings

__all__ = [
    "CardRenderError",
    "CardRenderer",
    "LocalCardRenderer",
    "RenderedCard",
    "ReportCard",
    "build_card",
    "renderer_from_settings",
]


def renderer_from_settings(settings: Settings) -> CardRenderer:
    """Templated when chosen (or, on 'auto', configured), else the local renderer.

    Raises ``ValueError`` when Templated is chosen but cannot work (no key, template or photo
    host): better refused at start-up than on every request.
    """
    choice = settings.card_renderer
    configured = settings.templated_api_key is not None and bool(settings.templated_template_id)
    if choice == "local" or (choice == "auto" and not configured):
        return LocalCardRenderer()
    from mugpos.cards.hosting import S3PhotoHost
    from mugpos.cards.templated import TemplatedRenderer

    missing = [
        name
        for name, value in (
            ("MUGPOS_TEMPLATED_API_KEY", settings.templated_api_key),
            ("MUGPOS_TEMPLATED_TEMPLATE_ID", settings.templated_template_id),
            ("MUGPOS_CARD_PHOTO_URI", settings.card_photo_uri),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"the Templated card renderer needs {', '.join(missing)}")
    host = S3PhotoHost.from_settings(settings)
    assert host is not None and settings.templated_api_key is not None
    return TemplatedRenderer(
        settings.templated_api_key.get_secret_value(),
        str(settings.templated_template_id),
        host,
        base_url=settings.templated_base_url,
        timeout_s=settings.templated_timeout_s,
    )
