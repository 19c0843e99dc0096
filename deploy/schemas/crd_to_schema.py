"""Turn a CustomResourceDefinition into the JSON Schema of one of its versions, descriptions
removed (they are most of the bytes), so the manifests can be validated offline.

    python deploy/schemas/crd_to_schema.py ray.io_rayclusters.yaml v1 \
        > deploy/schemas/raycluster-ray.io-v1.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml


def strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return strip_descriptions(v["schema"]["openAPIV3Schema"])  # type: ignore[no-any-return]
    raise SystemExit(f"{crd['metadata']['name']} has no version {version}")


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        crd = yaml.safe_load(fh)
    print(json.dumps(crd_schema(crd, sys.argv[2]), sort_keys=True, separators=(",", ":")))
