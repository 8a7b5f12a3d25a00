"""The built-in language sets, generated offline and deterministic by seed.

"sentiment": short product reviews, "negative" or "positive". Each clause's meaning comes
from an adjective or verb whose polarity a negation flips ("not bad" is positive, "not very
good" negative), intensifiers add nothing to the polarity, "X but Y" takes Y's side and a
neutral remark may come before or after. Every word appears on both sides, so a model
must learn how the words combine, not a word list. Classes are balanced exactly.

"dates": a date between 1950 and 2049 written in one of many forms ("3 March 2021",
"March 3, 2021", "03/03/2021" (month first), "2021.03.03", "Wed 3 Mar 21" (years 50-99 are
19xx) ...) -> its ISO form "2021-03-03". Every answer is exact.

The seed is ``options["seed"]`` when given, else ``split_seed``; ``samples`` sets the size.
"""

from __future__ import annotations

import datetime as dt
import random

from engine.data.problems import Problems
from engine.data.texts.records import TextSet, data_error
from engine.project import DatasetSpec

DEFAULT_SAMPLES = {"sentiment": 4000, "dates": 6000}
SENTIMENT_CLASSES = ["negative", "positive"]

PRODUCTS = ["phone", "laptop", "camera", "headset", "blender", "coffee maker", "vacuum",
            "tablet", "speaker", "keyboard", "monitor", "backpack", "jacket", "watch",
            "printer", "router", "mattress", "desk chair", "kettle", "novel", "film", "game",
            "hotel", "restaurant", "toaster", "drill", "bike", "lamp"]
ASPECTS = ["battery", "screen", "sound", "price", "design", "build quality", "delivery",
           "service", "support team", "packaging", "performance", "fit", "material", "setup",
           "size", "quality", "manual", "display", "grip", "app", "plot", "food", "room",
           "motor", "finish"]
GOOD = ["great", "excellent", "good", "fantastic", "wonderful", "superb", "solid", "reliable",
        "impressive", "perfect", "decent", "lovely", "amazing", "outstanding", "sturdy",
        "comfortable", "brilliant", "nice", "pleasant", "fine"]
BAD = ["bad", "terrible", "awful", "poor", "disappointing", "flimsy", "cheap", "useless",
       "horrible", "mediocre", "weak", "broken", "annoying", "noisy", "slow",
       "uncomfortable", "dreadful", "faulty", "pathetic", "unreliable"]
INTENSIFIERS = ["very", "really", "extremely", "incredibly", "quite", "truly", "so",
                "super", "remarkably", "absolutely", "pretty", "rather"]
IS = ["is", "was", "seems", "felt", "turned out to be"]
IS_NOT = ["is not", "isn't", "was not", "wasn't", "is never", "is hardly", "is far from",
          "never felt", "did not seem", "doesn't seem"]
LIKE = ["love", "like", "enjoy", "adore", "recommend", "trust", "appreciate"]
DISLIKE = ["hate", "dislike", "regret buying", "resent", "despise", "regret choosing"]
DO_NOT = ["do not", "don't", "did not", "didn't", "never", "would not", "wouldn't", "can't"]
OPENERS = ["", "", "", "honestly, ", "overall, ", "to be fair, ", "well, ", "after a month, ",
           "so far ", "in short, ", "i have to say "]
NEUTRAL = ["i bought it last week", "it arrived on a tuesday", "my sister has one too",
           "i use it every day", "it came in a blue box", "i got it on sale",
           "we stayed for two nights", "i read the reviews first", "it replaced my old one"]
ENDS = [".", ".", "!", "", "!!", " ."]


def _polar_clause(rng: random.Random, positive: bool) -> str:
    """One clause meaning ``positive``: a word of one polarity, negated half the time."""
    negate = rng.random() < 0.5
    word_good = positive != negate
    form = rng.randrange(4)
    intens = rng.choice(INTENSIFIERS) + " " if rng.random() < 0.4 else ""
    adj = rng.choice(GOOD if word_good else BAD)
    if form == 0:
        be = rng.choice(IS_NOT if negate else IS)
        return f"the {rng.choice(ASPECTS)} {be} {intens}{adj}"
    if form == 1:
        be = rng.choice(IS_NOT if negate else IS)
        return f"this {rng.choice(PRODUCTS)} {be} {intens}{adj}"
    if form == 2:
        verb = rng.choice(LIKE if word_good else DISLIKE)
        aux = rng.choice(DO_NOT) + " " if negate else ""
        adverb = rng.choice(["really ", "truly ", "honestly ", ""])
        return f"i {aux}{adverb}{verb} this {rng.choice(PRODUCTS)}"
    article = "an" if (intens or adj)[0] in "aeiou" else "a"
    lead = rng.choice(["not ", "definitely not ", "hardly "]) if negate else ""
    return f"{lead}{article} {intens}{adj} {rng.choice(PRODUCTS)}"


def _review(rng: random.Random, positive: bool) -> str:
    shape = rng.random()
    if shape < 0.45:
        body = _polar_clause(rng, positive)
    elif shape < 0.7:
        body = f"{_polar_clause(rng, not positive)} but {_polar_clause(rng, positive)}"
    else:
        body = f"{_polar_clause(rng, positive)} and {_polar_clause(rng, positive)}"
    body = rng.choice(OPENERS) + body
    if rng.random() < 0.25:
        extra = rng.choice(NEUTRAL)
        body = f"{extra}. {body}" if rng.random() < 0.5 else f"{body}. {extra}"
    text = body + rng.choice(ENDS)
    return text[0].upper() + text[1:] if rng.random() < 0.5 else text


def sentiment(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` reviews and their labels; classes alternate, so they are balanced."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 1
        texts.append(_review(rng, positive))
        labels.append(SENTIMENT_CLASSES[positive])
    return texts, labels


_ORDINAL = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}
# English names written out: strftime's %B and %a follow the process locale, which Qt sets
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _m(d: dt.date) -> str:
    return MONTHS[d.month - 1]


def _wd(d: dt.date) -> str:
    return WEEKDAYS[d.weekday()]


#: the written forms; each takes a date and gives its text
DATE_FORMS = (
    lambda d: f"{d.day} {_m(d)} {d.year}",  # 3 March 2021
    lambda d: f"{_m(d)} {d.day}, {d.year}",  # March 3, 2021
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",  # 03/15/2021 (month first)
    lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",  # 2021.03.15
    lambda d: f"{_wd(d)[:3]} {d.day} {_m(d)[:3]} {d.year % 100:02d}",  # Mon 15 Mar 21
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 15.03.2021 (day first)
    lambda d: f"{d.day:02d}-{_m(d)[:3]}-{d.year}",  # 15-Mar-2021
    lambda d: f"{_wd(d)}, {_m(d)} {d.day}, {d.year}",  # Monday, March 15, 2021
    lambda d: f"{d.day}{_ORDINAL.get(d.day, 'th')} of {_m(d)} {d.year}",  # 15th of March 2021
    lambda d: f"{d.year}/{d.month}/{d.day}",  # 2021/3/15
    lambda d: f"{_m(d)[:3]} {d.day} {d.year}",  # Mar 15 2021
    lambda d: f"{d.year}{d.month:02d}{d.day:02d}",  # 20210315
    lambda d: f"{d.day} {_m(d)[:3]} '{d.year % 100:02d}",  # 15 Mar '21
    lambda d: f"{_m(d)} {d.year}, day {d.day}",  # March 2021, day 15
)
_FIRST, _DAYS = dt.date(1950, 1, 1), (dt.date(2049, 12, 31) - dt.date(1950, 1, 1)).days + 1


def dates(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` written dates and their ISO forms (month and day names in English)."""
    rng = random.Random(seed)
    sources, targets = [], []
    for _ in range(n):
        day = _FIRST + dt.timedelta(days=rng.randrange(_DAYS))
        text = rng.choice(DATE_FORMS)(day)
        if rng.random() < 0.3:
            text = text.lower() if rng.random() < 0.5 else text.upper()
        sources.append(text)
        targets.append(day.isoformat())
    return sources, targets


def seed_of(spec: DatasetSpec) -> int:
    """``options["seed"]``, else ``split_seed``, as a whole number."""
    value = spec.options.get("seed", spec.split_seed)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise data_error(f"dataset.options.seed must be a whole number, not {value!r}")
    return int(value)


def generate(spec: DatasetSpec, problems: Problems) -> TextSet:
    """The built-in set ``spec.name`` ("sentiment" or "dates")."""
    n = int(spec.samples or DEFAULT_SAMPLES[spec.name])
    make = sentiment if spec.name == "sentiment" else dates
    texts, labels = make(n, seed_of(spec))
    kind = "texts" if spec.name == "sentiment" else "pairs"
    return TextSet(kind, f"builtin:{spec.name}", texts, labels, problems)
