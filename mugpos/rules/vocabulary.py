"""The words the rule parser knows, as data: phrases (tuples of tokens) mapped to meanings.

Keeping the lexicon apart from the grammar makes it easy to add a synonym without touching the
parser, and lets tests enumerate what is understood.
"""

from __future__ import annotations

# Units: spelling → (unit, factor). Feet are turned into inches (the schema's units).
UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(
        ("mm", "mms", "millimeter", "millimeters", "millimetre", "millimetres"), ("mm", 1.0)
    ),
    **dict.fromkeys(
        ("cm", "cms", "centimeter", "centimeters", "centimetre", "centimetres"), ("cm", 1.0)
    ),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), ("m", 1.0)),
    **dict.fromkeys(("in", "inch", "inches", "inchs", '"', "''"), ("in", 1.0)),
    **dict.fromkeys(("ft", "foot", "feet", "'"), ("in", 12.0)),
    **dict.fromkeys(("px", "pixel", "pixels", "pt"), ("px", 1.0)),
    **dict.fromkeys(("%", "percent", "pct"), ("%", 1.0)),
}

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
     ("out", "of"), ("outside",), ("outside", "of"), ("keep", "out", "of"), ("nor",),
     ("neither",), ("nothing",)}
)  # fmt: skip

# Prohibitions: a negation and a critical strength in one phrase ("cannot" -> "can not").
PROHIBITIONS: frozenset[tuple[str, ...]] = frozenset(
    {("can", "not"), ("may", "not"), ("not", "allowed"), ("never", "allowed"),
     ("not", "permitted"), ("forbidden",), ("prohibited",), ("must", "never"),
     ("is", "not", "allowed"), ("are", "not", "allowed")}
)  # fmt: skip

# Permissions: the sentence allows something; it requires nothing, so it is no rule.
# "Plain" ones turn into prohibitions in a negated clause ("no mug may touch the laptop").
PERMISSIONS_PLAIN: frozenset[tuple[str, ...]] = frozenset(
    {("can",), ("may",), ("allowed",), ("permitted",), ("fine",), ("ok",), ("okay",),
     ("acceptable",), ("free", "to"), ("alright",), ("all", "right")}
)  # fmt: skip
PERMISSIONS_NEGATIVE: frozenset[tuple[str, ...]] = frozenset(
    {("need", "not"), ("do", "not", "need", "to"), ("does", "not", "need", "to"),
     ("do", "not", "have", "to"), ("does", "not", "have", "to"), ("no", "need", "to"),
     ("not", "necessary"), ("not", "required"), ("unnecessary",), ("optional",),
     ("do", "not", "need"), ("does", "not", "need"), ("not", "need", "to"),
     ("not", "have", "to"), ("no", "need")}
)  # fmt: skip

# Relations by direction: a clear "not supported yet", even with a distance.
DIRECTIONS: frozenset[tuple[str, ...]] = frozenset(
    {("left", "of"), ("right", "of"), ("to", "the", "left"), ("to", "the", "right"),
     ("on", "the", "left", "of"), ("on", "the", "right", "of"), ("above",), ("below",),
     ("under",), ("underneath",), ("beneath",), ("behind",), ("in", "front", "of"),
     ("in", "front"), ("between",), ("left", "hand", "side", "of"), ("right", "hand", "side", "of"),
     ("north",), ("south",), ("east",), ("west",), ("across", "from"), ("opposite",),
     ("to", "its", "left"), ("to", "its", "right"), ("on", "top")}
)  # fmt: skip

# Words that change what a sentence means in a way no rule kind can hold: they fail the parse
# rather than being dropped ("10 cm from the laptop unless it is closed").
MEANING_WORDS: frozenset[str] = frozenset(
    {"unless", "except", "excluding", "only", "if", "when", "whenever", "while", "until",
     "sometimes", "usually", "occasionally", "maybe", "perhaps", "exactly", "precisely",
     "instead", "rather", "twice", "double", "triple", "times", "diagonal", "diagonally",
     "rotated", "upside", "handle", "handles", "facing", "orientation", "angle", "tilted",
     "either", "otherwise", "equally", "evenly", "farthest", "furthest",
     "largest", "smallest", "biggest", "first", "last", "alternate"}
)  # fmt: skip

# Strength → severity. "never" is both a negation and a strength.
STRENGTH: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("must",), ("always",), ("never",), ("required",), ("has", "to"), ("have", "to"),
         ("need", "to"), ("needs", "to"), ("need",), ("needs",), ("shall",), ("critical",),
         ("absolutely",), ("mandatory",), ("always", "have", "to"), ("got", "to"),
         ("at", "all", "times"), ("at", "all", "costs"), ("no", "matter", "what")],
        "critical",
    ),
    **dict.fromkeys(
        [("should",), ("prefer",), ("preferably",), ("ideally",), ("try", "to"), ("better",),
         ("recommended",), ("avoid",), ("ought", "to"), ("want",), ("like", "to"),
         ("would", "like"), ("rather", "not")],
        "warning",
    ),
    **dict.fromkeys(
        [("could",), ("might",), ("optionally",), ("if", "possible"), ("nice",),
         ("where", "possible"), ("when", "possible"), ("if", "you", "can")],
        "info",
    ),
}  # fmt: skip

MUG_WORDS: frozenset[tuple[str, ...]] = frozenset(
    {("mug",), ("mugs",), ("cup",), ("cups",), ("coffee", "cup"), ("coffee", "cups"),
     ("coffee", "mug"), ("coffee", "mugs"), ("teacup",), ("teacups",), ("tea", "cup"),
     ("tea", "cups"), ("tea", "mug"), ("tea", "mugs")}
)  # fmt: skip

OBJECTS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        [("laptop",), ("laptops",), ("notebook",), ("notebooks",), ("computer",),
         ("computers",), ("macbook",), ("macbooks",), ("pc",), ("laptop", "screen"),
         ("laptop", "screens"), ("notebook", "computer"), ("laptop", "computer"),
         ("laptop", "computers"), ("chromebook",)],
        "laptop",
    ),
    **dict.fromkeys(
        [("keyboard",), ("keyboards",), ("keys",), ("computer", "keyboard"),
         ("computer", "keyboards"), ("laptop", "keyboard"), ("laptop", "keys")],
        "keyboard",
    ),
    **dict.fromkeys(
        [("mouse",), ("mice",), ("computer", "mouse"), ("computer", "mice"), ("trackpad",),
         ("mouse", "pad"), ("mousepad",)],
        "mouse",
    ),
    **dict.fromkeys(
        [("monitor",), ("monitors",), ("screen",), ("screens",), ("display",), ("displays",),
         ("tv",), ("computer", "monitor"), ("computer", "monitors"), ("computer", "screen"),
         ("computer", "screens"), ("computer", "display"), ("desktop", "monitor")],
        "monitor",
    ),
    **dict.fromkeys([("book",), ("books",), ("paperback",), ("hardcover",)], "book"),
    **dict.fromkeys(
        [("bottle",), ("bottles",), ("water", "bottle"), ("water", "bottles")], "bottle"
    ),
    **dict.fromkeys(
        [("phone",), ("phones",), ("smartphone",), ("smartphones",), ("cellphone",),
         ("cell", "phone"), ("mobile", "phone"), ("mobile",), ("iphone",)],
        "phone",
    ),
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
        [("apart",), ("each", "other"), ("one", "another"), ("between", "mugs"),
         ("between", "them"), ("between", "cups"), ("between", "the", "mugs"),
         ("between", "the", "cups"), ("other", "mugs"), ("another", "mug"), ("other", "mug"),
         ("other", "cups"), ("another", "cup"), ("other", "cup"), ("spacing",), ("spaced",),
         ("between", "every", "pair", "of", "mugs"), ("between", "each", "pair", "of", "mugs"),
         ("between", "any", "two", "mugs"), ("between", "two", "mugs"),
         ("between", "every", "two", "mugs"), ("between", "each", "mug"),
         ("between", "adjacent", "mugs"), ("between", "neighbouring", "mugs"),
         ("between", "neighboring", "mugs"), ("between", "every", "pair", "of", "cups"),
         ("between", "any", "two", "cups"), ("between", "the", "mug"), ("between", "a", "mug"),
         ("between", "mug"), ("between", "my", "mug"), ("between", "your", "mug"),
         ("between", "the", "cup"), ("between", "a", "cup"), ("between", "each", "cup"),
         ("between", "the", "coffee", "mug"), ("two", "mugs"), ("two", "cups"),
         ("2", "mugs"), ("2", "cups"), ("any", "two", "mugs"), ("nearest", "mug"),
         ("closest", "mug"),
         ("nearest", "other", "mug"), ("closest", "other", "mug"), ("next", "mug"),
         ("neighbouring", "mugs"), ("neighboring", "mugs"), ("adjacent", "mugs"),
         ("nearest", "cup"), ("closest", "cup"), ("neighbouring", "mug"),
         ("neighboring", "mug"), ("neighbour",), ("neighbor",), ("neighbours",),
         ("neighbors",)],
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
    **dict.fromkeys(
        [("touch",), ("touches",), ("touching",), ("contact",), ("overlap",), ("overlaps",),
         ("overlapping",), ("in", "contact", "with"), ("bump",), ("bumping",)],
        "touch",
    ),
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
    ("left", "hand", "side"): "left-half", ("right", "hand", "side"): "right-half",
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
         ("aligned", "horizontally"), ("in", "line"), ("row",), ("line",), ("in", "one", "line"),
         ("same", "height")],
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
     "distance", "clearance", "part", "portion", "spot", "belong", "belongs", "also", "plus",
     "then", "but", "have", "has", "get", "gets", "will", "would", "should", "being", "been",
     "am", "this", "these", "those", "always", "ensure", "mugs", "about", "roughly",
     "approximately", "approx", "some", "least", "from", "try",
     "here", "so", "too", "away", "moved", "move", "whole", "entire", "total",
    }
)  # fmt: skip

# Words that turn "the laptop is 31 cm wide" into a reference size, not a rule.
SIZE_WORDS: dict[str, str] = {
    "wide": "width", "width": "width", "across": "width", "long": "longest",
    "length": "longest", "tall": "height", "high": "height", "height": "height",
    "deep": "height", "depth": "height",
}  # fmt: skip
