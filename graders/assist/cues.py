"""Cues that two answers say opposite things with almost the same words, which a sentence embedding misses.

A similarity model puts "blurry at 30, sharp at 0" next to "sharp at 30, blurry at 0" (cosine 0.99), and
"pushed towards the prior" next to "pushed away from the prior". A marked answer that is *opposed* to an
unmarked one is no evidence for it. Three cues, each a set computed once per answer in one linear pass:

- crossed anchors: a word tied to settings (a number, or high/low) in both answers, but to none in common;
- negation: a word said in a negated clause in one answer and plainly in the other;
- antonyms: one answer uses a word and not its opposite, the other the opposite and not the word.

Words are compared by their first `STEM` letters, so typos past the fifth letter and endings (German ones too) still
match. The cues only ever take evidence away: a false alarm costs a suggestion, never a wrong one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_CHARS = 4000  # an answer is read up to here; the review app's caps are larger, the meaning is in the start
SHORT = 3  # a word this short (or shorter) is no content word, and a prefix this short must match whole
STEM = 5  # letters that name a word: "blurry", "blurred" and "blury" are one word, and so are "sharp", "sharpe"

_WORD = re.compile(r"[^\W\d_]+|\d+(?:\.\d+)?")
# Where a statement ends: a segment is embedded on its own; a cue's clause also ends at "and".
_SEGMENT = re.compile(r"[.;!?\n]+\s|[;!?\n]|,\s|\b(?:but|while|whereas|whilst|aber|während|wohingegen|jedoch)\b")
_CLAUSE = re.compile(_SEGMENT.pattern + r"|\b(?:and|und)\b")
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "none", "cannot", "nicht", "kein", "keine", "keinen", "nie", "ohne"})
_NUMBER_WORDS = {"zero": "0", "null": "0", "thirty": "30", "dreißig": "30", "dreissig": "30", "one": "1", "eins": "1"}
_HIGH = ("high", "large", "big", "heavy", "strong", "groß", "gross", "hoch", "höher", "stark")
_LOW = ("low", "small", "weak", "little", "klein", "niedrig", "gering", "schwach")
# Opposite meanings by word start; each side's words must not start with the other side's.
ANTONYMS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("sharp", "crisp", "clear", "scharf", "detail"), ("blur", "fuzz", "smear", "wash", "verschw", "unscharf", "verwasch")),
    (
        ("good", "great", "better", "gut", "realis", "plausib", "valid", "meaning", "sinnvoll"),
        ("bad", "poor", "worse", "terrib", "garbag", "noise", "nonsens", "schlecht"),
    ),
    (("toward", "closer", "close", "near", "match", "nah"), ("away", "far", "weit", "differen")),
    (("smooth", "continu", "regular", "organi", "glatt"), ("irregul", "discont", "holes", "gaps", "messy", "unregel", "ungeord")),
    (
        ("small", "lower", "less", "fewer", "tiny", "down", "drops", "klein", "gering"),
        ("large", "bigger", "higher", "more", "up", "grows", "groß", "gross"),
    ),
    (("little", "no", "uninform", "ignor", "kaum"), ("all", "much", "heavil", "strong", "viel")),
)


@dataclass(frozen=True)
class Cues:
    """What an answer ties to which setting, says under a negation, and which sides of each antonym it uses."""

    anchored: frozenset[tuple[str, str]]  # (setting, word): "30" or "high" with the words of its clause
    negated: frozenset[str]
    plain: frozenset[str]
    sides: frozenset[tuple[int, int]]  # (antonym pair, side) the answer uses
    words: frozenset[str]  # every word's stem and every setting: what `overlap` compares


def segments(text: str) -> list[str]:
    """The answer's statements, each worth embedding on its own (at least one letter or digit each)."""
    return [part.strip() for part in _SEGMENT.split(text[:MAX_CHARS]) if part and _WORD.search(part)]


def cues(text: str) -> Cues:
    anchored: set[tuple[str, str]] = set()
    negated: set[str] = set()
    plain: set[str] = set()
    for clause in _CLAUSE.split(_folded(text[:MAX_CHARS])):
        words = [_NUMBER_WORDS.get(w, w) for w in _WORD.findall(clause or "")]
        settings = {_setting(w) for w in words} - {""}
        content = {w[:STEM] for w in words if len(w) > SHORT and not _setting(w)}
        anchored.update((s, w) for s in settings for w in content)
        (negated if _NEGATIONS.intersection(words) else plain).update(content)
    words = _WORD.findall(_folded(text[:MAX_CHARS]))
    sides = {(i, side) for i, pair in enumerate(ANTONYMS) for side in (0, 1) for w in words if _starts(w, pair[side])}
    stems = {_setting(w) or w[:STEM] for w in words if len(w) > SHORT or _setting(w)}
    return Cues(frozenset(anchored), frozenset(negated), frozenset(plain), frozenset(sides), frozenset(stems))


def overlap(a: Cues, b: Cues) -> float:
    """The share of words two statements have in common (Jaccard, by stem): what an embedding blurs."""
    union = len(a.words | b.words)
    return len(a.words & b.words) / union if union else 0.0


def opposed(a: Cues, b: Cues) -> bool:
    """Whether the two answers say something opposite about the same words (either cue is enough)."""
    return _crossed(a, b) or _negation_differs(a, b) or _antonym_differs(a, b)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _starts(word: str, prefixes: tuple[str, ...]) -> bool:
    """Whether the word starts with one of the prefixes; a prefix of three letters or fewer must be the whole
    word ("no" is not "noise", "up" not "update")."""
    return any(word == p if len(p) <= SHORT else word.startswith(p) for p in prefixes)


def _setting(word: str) -> str:
    if word[0].isdigit():
        return word
    if _starts(word, _HIGH):
        return "high"
    if _starts(word, _LOW):
        return "low"
    return ""


def _crossed(a: Cues, b: Cues) -> bool:
    """A word both tie to settings, but to none in common: "sharp at 0" against "sharp at 30"."""
    a_settings: dict[str, set[str]] = {}
    b_settings: dict[str, set[str]] = {}
    for setting, word in a.anchored:
        a_settings.setdefault(word, set()).add(setting)
    for setting, word in b.anchored:
        b_settings.setdefault(word, set()).add(setting)
    return any(word in b_settings and not settings & b_settings[word] for word, settings in a_settings.items())


def _negation_differs(a: Cues, b: Cues) -> bool:
    return bool((a.negated - a.plain) & (b.plain - b.negated) or (b.negated - b.plain) & (a.plain - a.negated))


def _antonym_differs(a: Cues, b: Cues) -> bool:
    for i in range(len(ANTONYMS)):
        a_sides = {side for pair, side in a.sides if pair == i}
        b_sides = {side for pair, side in b.sides if pair == i}
        if len(a_sides) == 1 and len(b_sides) == 1 and a_sides != b_sides:
            return True
    return False
