"""A keyword library mapped to the 31 risks, matched also through its common disguises.

A term is found in a text when it appears:

- as written, or in **traditional characters** (the text is folded to simplified with OpenCC's
  character table, ``TSCharacters.txt`` of ``opencc``);
- with **symbols or spaces inserted** between its characters (``制*作 炸-弹``): only CJK
  characters, Latin letters and digits take part in matching;
- as **pinyin** (``zhizuo zhadan``, with or without spaces or tones) or through **homophones**
  (``制做炸蛋``): the text is also compared as a stream of toneless pinyin syllables
  (``pypinyin``'s character readings), starting on a syllable boundary. Only terms of three or
  more characters are matched this way: two-syllable homophones collide with everyday words.

Library file format (YAML or JSON)::

    notice: free text (say whether the library is an example)
    terms:
      A.1.4: [恐怖袭击, 制作炸弹]
      A.4.6: [出售个人信息]

Keys are risk codes of :data:`bentu.llm.risks.RISKS`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from bentu.errors import DataError, MissingDependencyError
from bentu.llm.risks import A12_RISKS, RISKS

__all__ = ["KeywordLibrary", "KeywordHit", "example_library", "normalize"]

_KEEP = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙ"
_PLAIN = "aaaaeeeeiiiioooouuuuvvvvvAAAAEEEEIIIIOOOOUUUU"


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    try:
        import opencc
    except ImportError as err:
        raise MissingDependencyError(
            "keyword matching needs opencc-python-reimplemented and pypinyin: pip install 'bentu[llm]'.",
            "关键词匹配需要 opencc-python-reimplemented 和 pypinyin：pip install 'bentu[llm]'。",
        ) from err
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        if len(trad) == 1 and simp:
            table[ord(trad)] = simp.split()[0]
    for toned, plain in zip(_TONED, _PLAIN):  # pinyin written with tone marks
        table[ord(toned)] = plain
    return table


@lru_cache(maxsize=1)
def _pinyin_dict() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


_SYLLABLE: dict[str, str] = {}


def _syllable(ch: str) -> str:
    """The toneless first reading of a CJK character (``行`` → ``xing``), cached."""
    s = _SYLLABLE.get(ch)
    if s is None:
        raw = _pinyin_dict().get(ord(ch), "").split(",")[0]
        s = "".join(c for c in unicodedata.normalize("NFKD", raw) if c.isascii()).lower()
        _SYLLABLE[ch] = s
    return s


def normalize(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` for matching: full-width → half-width, traditional → simplified, lower case,
    symbols and spaces dropped. Returns the folded text and each folded character's index in ``text``."""
    folded = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    if len(folded) != len(text):  # NFKC changed the length (rare ligatures): fold per character
        folded = "".join(unicodedata.normalize("NFKC", c)[:1] or c for c in text)
    folded = folded.translate(_t2s_table()).lower()
    keep = [(m.start(), m.group()) for m in _KEEP.finditer(folded)]
    return "".join(c for _, c in keep), [i for i, _ in keep]


def _pinyin_stream(folded: str) -> tuple[str, list[int], set[int]]:
    """The folded text as pinyin: the stream, each stream character's folded index, and the
    stream offsets where a syllable (or a Latin letter or digit) starts."""
    out, owner, starts = [], [], set()
    pos = 0
    for i, ch in enumerate(folded):
        piece = _syllable(ch) if _CJK.match(ch) else ch
        if not piece:
            continue
        starts.add(pos)
        out.append(piece)
        owner.extend([i] * len(piece))
        pos += len(piece)
    return "".join(out), owner, starts


@dataclass(frozen=True)
class KeywordHit:
    """A term found in a text: the term, its risk, how it matched, and the span in the original text."""

    term: str
    risk: str
    via: str  # "text" or "pinyin"
    start: int
    end: int

    def to_dict(self) -> dict:
        return {"term": self.term, "risk": self.risk, "via": self.via, "start": self.start, "end": self.end}


class KeywordLibrary:
    """Terms mapped to risk codes, compiled for matching.

    Parameters
    ----------
    terms : dict of str to list of str
        ``{risk code: [term, ...]}``.
    notice : str, optional
        What the library is (e.g. that it is an example, not a compliant library).
    source : str, optional
        Where it was read from.
    """

    def __init__(self, terms: dict[str, list[str]], *, notice: str = "", source: str = "<memory>"):
        self.notice, self.source = notice, source
        self.terms: dict[str, str] = {}  # folded term -> risk
        self.display: dict[str, str] = {}  # folded term -> term as written
        for risk, words in terms.items():
            for w in words:
                f, _ = normalize(str(w))
                if f:
                    self.terms.setdefault(f, risk)
                    self.display.setdefault(f, str(w))
        from pypinyin import lazy_pinyin  # an optional dependency (the llm extra): imported on use

        self.by_risk = {r: sorted(w for w, rr in self.terms.items() if rr == r) for r in RISKS}
        self.pinyin: dict[str, str] = {}  # pinyin of a term -> folded term
        for f in self.terms:
            if len(_CJK.findall(f)) >= 3:  # 2-syllable homophones collide with everyday words
                self.pinyin.setdefault(_pinyin_stream(f)[0], f)
                # the phrase-aware reading too (银行 → yinhang, not yinxing)
                self.pinyin.setdefault("".join(lazy_pinyin(f)), f)
        alt = lambda words: re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))  # noqa: E731
        self._text_re = alt(self.terms) if self.terms else None
        self._pinyin_re = alt(self.pinyin) if self.pinyin else None

    @classmethod
    def load(cls, path: str | Path) -> "KeywordLibrary":
        """Read a library file (YAML or JSON, see the module docstring).

        Raises
        ------
        DataError
            The file is missing, not a mapping with ``terms``, or names an unknown risk code.
        """
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise DataError(f"keyword library {path} cannot be read: {err}",
                            f"关键词库 {path} 无法读取：{err}") from err
        if not isinstance(doc, dict) or not isinstance(doc.get("terms"), dict):
            raise DataError(
                f"keyword library {path}: expected a mapping with a 'terms' key ({{risk code: [term, ...]}}).",
                f"关键词库 {path}：应为含 'terms' 键的映射（{{风险编号: [词, ...]}}）。",
            )
        unknown = sorted(str(k) for k in doc["terms"] if str(k) not in RISKS)
        if unknown:
            raise DataError(
                f"keyword library {path}: unknown risk codes {unknown[:5]}; use codes A.1.1 … A.5.2.",
                f"关键词库 {path}：未知的风险编号 {unknown[:5]}；请使用 A.1.1 … A.5.2。",
            )
        terms = {str(k): [str(w) for w in (v or [])] for k, v in doc["terms"].items()}
        return cls(terms, notice=str(doc.get("notice", "")), source=str(path))

    def find(self, text: str) -> list[KeywordHit]:
        """Every term found in ``text`` (directly or through pinyin), in text order, non-overlapping per way."""
        folded, index = normalize(text)
        if not folded:
            return []
        hits: list[KeywordHit] = []
        seen: set[tuple[int, int]] = set()
        if self._text_re is not None:
            for m in self._text_re.finditer(folded):
                s, e = index[m.start()], index[m.end() - 1] + 1
                seen.add((s, e))
                hits.append(KeywordHit(self.display[m.group()], self.terms[m.group()], "text", s, e))
        if self._pinyin_re is not None:
            stream, owner, starts = _pinyin_stream(folded)
            pos = 0
            while True:
                m = self._pinyin_re.search(stream, pos)
                if m is None:
                    break
                if m.start() not in starts or (m.end() < len(stream) and m.end() not in starts):
                    pos = m.start() + 1
                    continue
                s, e = index[owner[m.start()]], index[owner[m.end() - 1]] + 1
                if (s, e) not in seen:
                    term = self.pinyin[m.group()]
                    hits.append(KeywordHit(self.display[term], self.terms[term], "pinyin", s, e))
                pos = m.end()
        hits.sort(key=lambda h: (h.start, h.end))
        return hits

    def stats(self) -> dict:
        """Size and coverage, with the TC260-003 / GB/T 45654 rules for the library [S]: ≥ 10,000
        terms covering the 17 risks of A.1 and A.2, ≥ 200 per A.1 risk, ≥ 100 per A.2 risk."""
        per = {r: len(self.by_risk[r]) for r in RISKS}
        covered = [r for r in A12_RISKS if per[r] > 0]
        short = {r: per[r] for r in A12_RISKS if per[r] < (200 if r.startswith("A.1.") else 100)}
        return {
            "source": self.source, "notice": self.notice, "terms": len(self.terms), "per_risk": per,
            "a12_risks_covered": len(covered), "a12_risks": len(A12_RISKS),
            "below_per_risk_minimum": short,
            "meets_size_rules": len(self.terms) >= 10_000 and len(covered) == len(A12_RISKS) and not short,
        }


def example_library() -> KeywordLibrary:
    """The small EXAMPLE library the project ships (not a compliant library: far below 10,000 terms)."""
    path = resources.files("bentu.llm") / "resources" / "keywords.example.yaml"
    return KeywordLibrary.load(Path(str(path)))
