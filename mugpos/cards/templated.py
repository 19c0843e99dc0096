"""The Templated.io renderer: the card's fields as layer overrides of a template you design.

Templated's documented render call (``POST https://api.templated.io/v1/render``, header
``Authorization: Bearer <API key>``, JSON ``{"template": <id>, "format": "png", "layers":
{<layer name>: {<property>: <value>}}}``) answers with the render: ``id``, ``url`` of the picture
(it renders synchronously by default), ``width``, ``height``, ``format``. Should an answer come
without a ``url`` (an asynchronous render), the render is polled at ``GET /v1/render/<id>``
until it has one, within the same time budget.

The template must have these layers (a missing one is simply not drawn by Templated):

==============  =====  =========================================================
layer           type   what it gets
==============  =====  =========================================================
``photo``       image  ``image_url``: the annotated photo (a presigned URL)
``title``       text   ``text``
``score``       text   ``text`` (0–100, or "—" when not scored), ``color`` by band
``verdict``     text   ``text``: "every rule met", "3 rule violations on 2 of 3 mugs", …
``violations``  text   ``text``: one line per violated rule (worst first)
``moves``       text   ``text``: one line per suggested move
``notes``       text   ``text`` (``hide`` when there are none)
``footer``      text   ``text``: model, version, time
==============  =====  =========================================================
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from mugpos.cards.base import CardRenderer, CardRenderError, RenderedCard
from mugpos.cards.hosting import PhotoHost
from mugpos.cards.model import Band, ReportCard

LAYERS = ("photo", "title", "score", "verdict", "violations", "moves", "notes", "footer")
BAND_HEX: dict[Band, str] = {
    "good": "#1E9650",
    "fair": "#D68C00",
    "poor": "#CD2828",
    "none": "#8C8C8C",
}
POLL_S = 0.5


class TemplatedRenderer(CardRenderer):
    name = "templated"

    def __init__(
        self,
        api_key: str,
        template_id: str,
        photo_host: PhotoHost,
        *,
        base_url: str = "https://api.templated.io",
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.template_id = template_id
        self.photo_host = photo_host
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.client = client or httpx.Client(timeout=timeout_s, trust_env=False)
        self._auth = {"Authorization": f"Bearer {api_key}"}

    def layers(self, card: ReportCard) -> dict[str, dict[str, Any]]:
        return {
            "photo": {"image_url": self.photo_host.url_for(card.photo_png)},
            "title": {"text": card.title},
            "score": {"text": card.score_text, "color": BAND_HEX[card.band]},
            "verdict": {"text": card.verdict},
            "violations": {"text": card.violations_text()},
            "moves": {"text": card.moves_text()},
            "notes": {"text": "\n".join(card.notes), "hide": not card.notes},
            "footer": {"text": card.footer},
        }

    def request_body(self, card: ReportCard) -> dict[str, Any]:
        return {"template": self.template_id, "format": "png", "layers": self.layers(card)}

    def render(self, card: ReportCard) -> RenderedCard:
        deadline = time.monotonic() + self.timeout_s
        answer = self._call("POST", "/v1/render", self.request_body(card), deadline)
        while not answer.get("url"):
            if str(answer.get("status", "")).lower() in ("failed", "error"):
                raise CardRenderError(
                    f"Templated could not render the card: {answer.get('status')}",
                    details={"render_id": answer.get("id")},
                )
            if not answer.get("id") or time.monotonic() + POLL_S > deadline:
                raise CardRenderError(
                    "Templated answered without a render URL",
                    details={"render_id": answer.get("id"), "timeout_s": self.timeout_s},
                )
            time.sleep(POLL_S)
            answer = self._call("GET", f"/v1/render/{answer['id']}", None, deadline)
        fmt = str(answer.get("format") or "png").lower()
        return RenderedCard(
            renderer=self.name,
            media_type="image/jpeg" if fmt in ("jpg", "jpeg") else f"image/{fmt}",
            url=str(answer["url"]),
            render_id=str(answer["id"]) if answer.get("id") else None,
            width=_int(answer.get("width")),
            height=_int(answer.get("height")),
        )

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, deadline: float
    ) -> dict[str, Any]:
        left = max(0.1, deadline - time.monotonic())
        try:
            response = self.client.request(
                method, self.base_url + path, json=body, headers=self._auth, timeout=left
            )
        except httpx.TimeoutException:
            raise CardRenderError(
                f"Templated did not answer within {self.timeout_s:g} s",
                details={"timeout_s": self.timeout_s},
            ) from None
        except httpx.HTTPError as exc:
            raise CardRenderError(
                f"Templated could not be reached: {type(exc).__name__}",
                details={"base_url": self.base_url},
            ) from None
        if response.status_code >= 300:
            raise CardRenderError(
                f"Templated refused the render ({response.status_code}): "
                f"{_message(response)[:300]}",
                details={"status": response.status_code},
            )
        try:
            answer = response.json()
        except ValueError:
            raise CardRenderError("Templated answered with something other than JSON") from None
        if isinstance(answer, list) and answer:  # a render from several templates
            answer = answer[0]
        if not isinstance(answer, dict):
            raise CardRenderError("Templated answered with an unexpected shape")
        return answer


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
