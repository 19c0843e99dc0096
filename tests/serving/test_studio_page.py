"""The studio page at /: public, same origin, every script and style from our own files.

The page's files are read the way the browser does (index.html → its scripts and styles →
the ES modules they import), each fetched from the app, so a missing or renamed file fails
here and not in someone's browser. The API routes keep their auth: the page holds no secret.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from serving_helpers import assert_error

from mugpos_serving.studio import STATIC_DIR

VENDOR = STATIC_DIR / "vendor" / "alpine-csp-3.17.4.esm.min.js"
VENDOR_SHA256 = "8f73b4b31013b6ae48a556c5143fcfd73e19e63f407f3d45100860e333f38a99"
# URLs that appear in the files as text, never fetched: the SVG namespace, and Alpine's
# "plugin missing" warning.
TEXT_ONLY_URLS = {"http://www.w3.org/2000/svg", "https://alpinejs.dev/plugins/"}
_ASSET = re.compile(r"""(?:src|href)="(/[^"]*)\"""")
_HOST_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'`)]*""")
_IMPORT = re.compile(r"""(?:^|\n)\s*import\s[^;]*?from\s+["']([^"']+)["']""")


def _url_of(path: Path) -> str:
    return "/studio/static/" + path.relative_to(STATIC_DIR).as_posix()


def test_the_page_is_public_and_served_under_a_strict_policy(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "connect-src 'self'"):
        assert directive in csp, csp
    assert "unsafe" not in csp  # no inline script, no eval
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert 'x-data="studio"' in resp.text
    # ... while the API it calls still wants a token.
    assert_error(client.get("/v1/analyses"), 401, "unauthorized")
    assert_error(client.post("/v1/rules/parse", json={"text": "x"}), 401, "unauthorized")


def test_every_script_style_and_module_comes_from_this_server(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/").text
    assets = _ASSET.findall(page)
    assert "/studio/static/js/app.js" in assets and "/studio/static/studio.css" in assets
    seen: set[str] = set()
    todo = list(assets)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        assert resp.status_code == 200, url
        if url.endswith(".js"):
            assert "javascript" in resp.headers["content-type"], url
            base = url.rsplit("/", 1)[0]
            for spec in _IMPORT.findall(resp.text):
                assert spec.startswith("."), f"{url} imports {spec}: only relative imports"
                parts = (base + "/" + spec).split("/")
                resolved: list[str] = []
                for p in parts:
                    if p == "..":
                        resolved.pop()
                    elif p != ".":
                        resolved.append(p)
                todo.append("/".join(resolved))
    served = {_url_of(p) for p in STATIC_DIR.rglob("*.js")}
    assert served <= seen, f"modules nobody loads: {served - seen}"


def test_no_file_of_the_page_names_another_host() -> None:
    for path in STATIC_DIR.rglob("*"):
        if path.suffix not in {".html", ".js", ".css"}:
            continue
        for url in _HOST_URL.findall(path.read_text()):
            assert any(url.startswith(ok) for ok in TEXT_ONLY_URLS), (path.name, url)


def test_the_vendored_library_is_the_pinned_file_with_its_license() -> None:
    assert hashlib.sha256(VENDOR.read_bytes()).hexdigest() == VENDOR_SHA256
    assert "MIT License" in (STATIC_DIR / "vendor" / "LICENSE-alpinejs.md").read_text()
    assert VENDOR.stat().st_size < 100_000


def test_sample_photos_come_from_the_installed_scikit_image(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/studio/samples/coffee.jpg")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    assert resp.content[:3] == b"\xff\xd8\xff"
    assert client.get("/studio/samples/passwd.jpg").status_code == 422
    assert client.get("/studio/samples/..%2f..%2fetc%2fpasswd.jpg").status_code in {404, 422}
