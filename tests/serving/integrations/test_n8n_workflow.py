"""The n8n example in docs/: its Code node verifies real signed deliveries when run by Node.js
(with the few n8n globals it uses), and refuses altered, forged and stale ones."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mugpos.events import Event
from mugpos.events.types import StoredEvent
from mugpos.webhooks import event_body, signing

WORKFLOW = Path(__file__).parents[3] / "docs" / "n8n" / "mugpos-webhook-workflow.json"
SECRET = "whsec_n8n-test-secret-0123456789"
HARNESS = """
const code = require('fs').readFileSync(0, 'utf8');
const input = JSON.parse(process.env.ITEM);
const $input = { first: () => input };
const $env = { MUGPOS_WEBHOOK_SECRET: process.env.SECRET };
const helpers = { getBinaryDataBuffer: async () => Buffer.from(input.binary.data.data, 'base64') };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('$input', '$env', 'require', code)
  .call({ helpers }, $input, $env, require)
  .then((out) => console.log(JSON.stringify(out)))
  .catch((err) => { console.log(JSON.stringify({ error: err.message })); });
"""


def run_code_node(headers: dict[str, str], body: bytes) -> object:
    nodes = json.loads(WORKFLOW.read_text())["nodes"]
    code = next(n for n in nodes if n["type"] == "n8n-nodes-base.code")["parameters"]["jsCode"]
    item = {
        "json": {"headers": {k.lower(): v for k, v in headers.items()}},
        "binary": {"data": {"data": base64.b64encode(body).decode()}},
    }
    done = subprocess.run(
        ["node", "-e", HARNESS],
        input=code,
        capture_output=True,
        text=True,
        timeout=30,
        env={"ITEM": json.dumps(item), "SECRET": SECRET, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_code_node_accepts_our_signature_and_nothing_else() -> None:
    event = StoredEvent(
        **Event(
            type="rule_triggered",
            source="api",
            data={"message": "mug 0: 5.2% from the top edge, needs ≥ 20.0%", "score": 81.8},
        ).model_dump(),
        seq=7,
        origin="x",
    )
    body = event_body(event)
    headers = signing.sign([SECRET], body)
    accepted = run_code_node(headers, body)
    assert accepted == [{"json": json.loads(body)}]
    altered = body.replace(b"81.8", b"18.8")
    assert run_code_node(headers, altered) == {
        "error": "bad X-Mugpos-Signature: not from mugpos, or altered on the way"
    }
    forged = signing.sign(["whsec_someone-else"], body)
    assert "bad X-Mugpos-Signature" in str(run_code_node(forged, body))
    stale = signing.sign([SECRET], body, timestamp=int(time.time()) - 3600)
    assert "stale" in str(run_code_node(stale, body))
