"""NMPA inspection notices (飞行检查通告) in Chinese into the warning-letter structure.

Each numbered finding becomes a :class:`~qualitas.ingest.nlp.Violation` whose citation
is the clause of 《医疗器械生产质量管理规范》 it names (``《规范》第二十八条`` ->
``GMP Art. 28``; ``附录无菌医疗器械2.2.3条`` -> ``GMP Appendix Sterile 2.2.3``). Sentences
come from spaCy blank ``zh`` segmented by jieba; the subsystem from the finding's chapter
heading and words (``data/subsystems.yaml``).
"""

from __future__ import annotations

import datetime as dt
import re

from qualitas.ingest.nlp._letters import Violation, WarningLetter
from qualitas.ingest.nlp._relations import FailureRelation
from qualitas.ingest.nlp._spacy import chinese
from qualitas.ingest.nlp._tables import nmpa_subsystem

__all__ = ["chinese_number", "extract_notice"]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100}
_ARTICLE = re.compile(r"第([零〇一二两三四五六七八九十百\d]+)条")
_APPENDIX = re.compile(r"附录([\u4e00-\u9fff]{2,10}?医疗器械)\s*(\d+(?:\.\d+)*)\s*条")
_FINDING = re.compile(r"^\s*(\d+)[.．、]\s*(.+)$", re.M)
_CHAPTER = re.compile(r"^\s*[一二三四五六七八九十]+、\s*(.+?)方面\s*$", re.M)
_FIELD = re.compile(r"^(企业名称|产品名称|检查日期|发布日期)[：:]\s*(.+)$", re.M)
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_APPENDIX_CODES = {
    "无菌医疗器械": "Sterile",
    "植入性医疗器械": "Implantable",
    "体外诊断试剂": "IVD",
    "定制式义齿": "Custom dentures",
    "独立软件": "Software",
}
_FAILURE = re.compile(r"(脱落|泄漏|断裂|破损|污染|失效|堵塞|漏液|粘接不牢)")
_CAUSE = re.compile(r"(导致|造成|引起)")


def chinese_number(text: str) -> int:
    """``二十八`` -> 28, ``一百零二`` -> 102, ``64`` -> 64."""
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
    return total + digit


def _citation(finding: str) -> str | None:
    m = _APPENDIX.search(finding)
    if m:
        return f"GMP Appendix {_APPENDIX_CODES.get(m.group(1), m.group(1))} {m.group(2)}"
    m = _ARTICLE.search(finding)
    return f"GMP Art. {chinese_number(m.group(1))}" if m else None


def _date(value: str) -> dt.date | None:
    m = _DATE.search(value)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def extract_notice(text: str, *, source: str | None = None) -> WarningLetter:
    """Extract an NMPA flight-inspection notice into a :class:`WarningLetter` (language ``zh``)."""
    nlp = chinese()
    text = text.replace("\r\n", "\n")
    fields = {m.group(1): m.group(2).strip() for m in _FIELD.finditer(text)}
    chapters = [(m.start(), m.group(1)) for m in _CHAPTER.finditer(text)]
    violations: list[Violation] = []
    relations: list[FailureRelation] = []
    for m in _FINDING.finditer(text):
        finding = m.group(2).strip()
        citation = _citation(finding)
        if citation is None:
            continue
        chapter = next((name for at, name in reversed(chapters) if at < m.start()), "")
        doc = nlp(finding)
        observation = "".join(s.text for s in doc.sents if "不符合" not in s.text) or finding
        subsystem = nmpa_subsystem(chapter) or nmpa_subsystem(finding)
        violations.append(Violation(citation, subsystem, finding, observation))
        cause = _CAUSE.search(finding)
        failure = _FAILURE.search(finding[cause.end() :]) if cause else None
        if cause and failure:
            mechanism = next((x for x in reversed(re.split(r"[，,]", finding[: cause.start()])) if x), "")
            tokens = [t.text for t in nlp(mechanism)]
            relations.append(FailureRelation(failure.group(1), mechanism, tokens[0] if tokens else None, finding))
    products = tuple(p.strip() for p in re.split(r"[、，,]", fields.get("产品名称", "")) if p.strip())
    issued = _date(fields.get("发布日期", "")) or _date(fields.get("检查日期", ""))
    return WarningLetter(
        reference=None,
        firm=fields.get("企业名称"),
        date=issued,
        products=products,
        violations=tuple(violations),
        other_references=("《医疗器械生产质量管理规范》",),
        relations=tuple(relations),
        source=source,
        language="zh",
    )
