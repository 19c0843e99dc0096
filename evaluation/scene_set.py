"""The procedural tabletop set: seeded scenes with exact boxes, table, scale and rule verdicts.

The scenes are cartoons, so a detector trained on photos finds little in them; their job is the
part after detection: positions, zones, rule verdicts and suggestions against exact truth, and
the harness controls (ground truth fed back as predictions must score perfectly).
"""

from __future__ import annotations

from evaluation.dataset import EvalDataset, Example, GtObject
from evaluation.scenes import generate_scene
from evaluation.truth import TEST_RULES, truth_verdicts, zone_of

SCENES = "scenes"


def build_scene_dataset(
    n: int = 40, *, seed: int = 1000, width: int = 640, height: int = 480
) -> EvalDataset:
    """``n`` scenes from seeds ``seed .. seed+n-1``; same arguments, same version."""
    examples = []
    for s in range(seed, seed + n):
        scene = generate_scene(s, width, height, n_mugs=(1, 3))
        objects = [GtObject(o.label, o.box) for o in scene.objects]
        objects.append(GtObject("table", scene.table))
        mugs = [o for o in objects if o.label == "mug"]
        examples.append(
            Example(
                id=f"scene-{s:05d}",
                image=scene.image,
                objects=objects,
                work_area=scene.table,
                mm_per_px=scene.mm_per_px,
                verdicts=truth_verdicts(objects, scene.table, scene.mm_per_px, TEST_RULES),
                meta={"seed": s, "zones": [zone_of(m.box, scene.table) for m in mugs]},
            )
        )
    return EvalDataset(
        name=SCENES,
        examples=examples,
        rules=TEST_RULES,
        description=f"{n} procedural tabletop scenes (seeds {seed}..{seed + n - 1}, "
        f"{width}x{height}) with exact boxes, table, scale and the verdicts of the test rules.",
    )
