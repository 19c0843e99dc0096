"""The words the rule parser knows, as data: phrases (tuples of tokens) mapped to meanings.

Keeping the lexicon apart from the grammar makes it easy to add a synonym without touching the
parser, and lets tests enumerate what is understood.
"""

from __future__ import annotations

# Units: spelling → (unit, factor). Feet are turned into inches (the schema's units).
UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"), ("mm", 1.0)),
    **dict.fromkeys(("cm", "centimeter", "centimeters", "centimetre", "centimetres"), ("cm", 1.0)),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), ("m", 1.0)),
    **dict.fromkeys(("in", "inch", "inches", '"'), ("in", 1.0)),
    **dict.fromkeys(("ft", "foot", "feet", "'"), ("in", 12.0)),
    **dict.fromkeys(("px", "pixel", "pixels", "pt"), ("px", 1.0)),
    **dict.fromkeys(("%", "percent", "pct"), ("%", 1.0)),
}

NUMBER_WORDS: dict[str, float] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "half": 0.5, "a": 1, "an": 1,
}  # fmt: skip

# Comparators bind to the number right after them: "at least 5 cm", "within 5%".
AT_LEAST, AT_MOST = "at_least", "at_most"
COMPARATORS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [
            ("at", "least"), ("no", "less", "than"), ("not", "less", "than"), ("minimum",),
            ("minimum", "of"), ("min",), ("more", "than"), ("over",), ("greater", "than"),
            ("further", "than"), ("farther", "than"), ("beyond",), ("no", "closer", "than"),
            ("not", "closer", "than"), ("a", "minimum", "of"), ("atleast",),
        ],
        AT_LEAST,
    ),
    **dict.fromkeys(
        [
            ("at", "most"), ("no", "more", "than"), ("not", "more", "than"), ("maximum",),
            ("maximum", "of"), ("max",), ("within",), ("under",), ("less", "than"),
            ("closer", "than"), ("up", "to"), ("no", "further", "than"),
            ("no", "farther", "than"), ("not", "further", "than"), ("a", "maximum", "of"),
            ("atmost",),
        ],
        AT_MOST,
    ),
}  # fmt: skip

NEGATIONS: frozenset[tuple[str, ...]] = frozenset(
    {("never",), ("no",), ("not",), ("avoid",), ("without",), ("nowhere",), ("none",),
     ("out", "of"), ("outside",), ("outside", "of"), ("keep", "out", "of")}
)  # fmt: skip

# Strength → severity. "never" is both a negation and a strength.
STRENGTH: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("must",), ("always",), ("never",), ("required",), ("has", "to"), ("have", "to"),
         ("need", "to"), ("needs", "to"), ("need",), ("needs",), ("shall",), ("critical",),
         ("absolutely",)],
        "critical",
    ),
    **dict.fromkeys(
        [("should",), ("prefer",), ("preferably",), ("ideally",), ("try", "to"), ("better",),
         ("recommended",), ("avoid",), ("ought", "to")],
        "warning",
    ),
    **dict.fromkeys(
        [("could",), ("may",), ("might",), ("optionally",), ("if", "possible"), ("nice",)],
        "info",
    ),
}  # fmt: skip

MUG_WORDS: frozenset[tuple[str, ...]] = frozenset(
    {("mug",), ("mugs",), ("cup",), ("cups",), ("coffee", "cup"), ("coffee", "cups"),
     ("coffee", "mug"), ("coffee", "mugs"), ("teacup",), ("teacups",), ("tea", "cup")}
)  # fmt: skip

OBJECTS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("laptop",), ("laptops",), ("notebook",), ("notebooks",), ("computer",),
         ("computers",), ("macbook",), ("macbooks",), ("pc",)],
        "laptop",
    ),
    **dict.fromkeys([("keyboard",), ("keyboards",), ("keys",)], "keyboard"),
    **dict.fromkeys([("mouse",), ("mice",), ("computer", "mouse"), ("trackpad",)], "mouse"),
    **dict.fromkeys(
        [("monitor",), ("monitors",), ("screen",), ("screens",), ("display",), ("displays",),
         ("tv",)],
        "monitor",
    ),
    **dict.fromkeys([("book",), ("books",)], "book"),
    **dict.fromkeys([("bottle",), ("bottles",), ("water", "bottle")], "bottle"),
    **dict.fromkeys([("phone",), ("phones",), ("smartphone",), ("cellphone",)], "phone"),
    **dict.fromkeys([("plate",), ("plates",)], "plate"),
    **dict.fromkeys([("box",), ("boxes",)], "box"),
}  # fmt: skip

TABLE_WORDS: frozenset[tuple[str, ...]] = frozenset(
    {("table",), ("desk",), ("tabletop",), ("surface",), ("workspace",)}
)

# "edge" and its spellings; a side word before it names the edge ("front edge" = bottom).
EDGE_WORDS: frozenset[tuple[str, ...]] = frozenset(
    {("edge",), ("edges",), ("border",), ("borders",), ("side",), ("sides",), ("rim",)}
)
EDGE_SIDES: dict[str, str] = {
    "left": "left", "right": "right", "top": "top", "bottom": "bottom", "front": "bottom",
    "back": "top", "rear": "top", "near": "bottom", "far": "top",
}  # fmt: skip

RELATIONS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("apart",), ("from", "each", "other"), ("from", "one", "another"),
         ("between", "mugs"), ("between", "them"), ("between", "cups"),
         ("from", "other", "mugs"), ("from", "another", "mug"), ("from", "the", "other", "mug"),
         ("from", "the", "other", "mugs"), ("from", "any", "other", "mug"), ("spacing",),
         ("spaced",), ("from", "other", "cups")],
        "apart",
    ),
    **dict.fromkeys(
        [("away", "from"), ("clear", "of"), ("distance", "from"), ("distance", "to"),
         ("far", "from"), ("from",), ("away",)],
        "away",
    ),
    **dict.fromkeys(
        [("next", "to"), ("near",), ("close", "to"), ("beside",), ("nearby",),
         ("adjacent", "to"), ("closer", "to"), ("alongside",)],
        "near",
    ),
    **dict.fromkeys(
        [("on",), ("onto",), ("on", "top", "of"), ("upon",), ("over",), ("atop",)], "on"
    ),
    **dict.fromkeys([("off",), ("off", "of")], "off"),
}  # fmt: skip

# Zone phrases → zone name (see mugpos.positioning.zones).
ZONES: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("centered",), ("centred",), ("central",), ("center",), ("centre",), ("middle",),
         ("centrally",)],
        "center",
    ),
    **dict.fromkeys([("corner",), ("corners",)], "corner"),
    ("left", "third"): "left-third", ("right", "third"): "right-third",
    ("middle", "third"): "middle-third", ("center", "third"): "middle-third",
    ("top", "third"): "top-third", ("bottom", "third"): "bottom-third",
    ("left", "half"): "left-half", ("right", "half"): "right-half",
    ("top", "half"): "top-half", ("bottom", "half"): "bottom-half",
    ("left", "side"): "left-half", ("right", "side"): "right-half",
    ("top", "left"): "top-left", ("top", "right"): "top-right",
    ("bottom", "left"): "bottom-left", ("bottom", "right"): "bottom-right",
    ("top", "center"): "top-center", ("bottom", "center"): "bottom-center",
    ("middle", "left"): "middle-left", ("middle", "right"): "middle-right",
    ("center", "left"): "middle-left", ("center", "right"): "middle-right",
}  # fmt: skip

THIRDS_TARGET: frozenset[tuple[str, ...]] = frozenset(
    {("rule", "of", "thirds"), ("rule", "of", "thirds", "point"),
     ("rule", "of", "thirds", "points"), ("thirds", "point"), ("thirds", "points"),
     ("third", "point"), ("thirds", "intersection"), ("power", "point"), ("power", "points"),
     ("thirds",)}
)  # fmt: skip
USER_TARGET: frozenset[tuple[str, ...]] = frozenset(
    {("target",), ("marked", "spot"), ("target", "point")}
)

ALIGN: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("in", "a", "row"), ("in", "one", "row"), ("in", "a", "line"), ("lined", "up"),
         ("line", "up"), ("aligned",), ("align",), ("horizontally", "aligned"),
         ("aligned", "horizontally"), ("in", "line"), ("row",)],
        "row",
    ),
    **dict.fromkeys(
        [("in", "a", "column"), ("in", "one", "column"), ("vertically", "aligned"),
         ("aligned", "vertically"), ("column",), ("stacked", "vertically")],
        "column",
    ),
    **dict.fromkeys(
        [("together",), ("grouped",), ("clustered",), ("in", "a", "cluster"),
         ("in", "a", "group"), ("cluster",), ("group",)],
        "cluster",
    ),
}  # fmt: skip

# Words that carry no meaning for a rule; they are consumed silently.
FILLERS: frozenset[str] = frozenset(
    {
     "the", "a", "an", "of", "to", "be", "is", "are", "it", "its", "their", "them", "they",
     "keep", "put", "place", "placed", "places", "putting", "placing", "set", "stay", "stays",
     "remain", "remains", "leave", "leaving", "any", "every", "each", "all", "at", "in", "there",
     "my", "your", "our", "and", "make", "sure", "that", "which", "do", "does", "let", "kept",
     "sit", "sits", "sitting", "stand", "stands", "standing", "rest", "resting", "go", "goes",
     "area", "zone", "position", "positioned", "located", "lie", "lies", "with", "as", "for",
     "i", "we", "you", "one", "ones", "by", "around", "within", "inside", "space", "room", "gap",
     "distance", "clearance", "part", "portion", "spot", "belong", "belongs",
    }
)  # fmt: skip

# Words that turn "the laptop is 31 cm wide" into a reference size, not a rule.
SIZE_WORDS: dict[str, str] = {
    "wide": "width", "width": "width", "across": "width", "long": "longest",
    "length": "longest", "tall": "height", "high": "height", "height": "height",
    "deep": "height", "depth": "height",
}  # fmt: skip
