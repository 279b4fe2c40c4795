"""Act citations in the document's language (Interinstitutional Style Guide 1.2.1)."""

from __future__ import annotations

import pytest

from qualitas.regulations.catalog import default_catalog
from qualitas.regulations.citation import cite, eu_citation


@pytest.mark.parametrize(("celex", "kind", "lang", "expected"), [
    ("32014L0035", "directive", "en", "Directive 2014/35/EU"),
    ("32014L0035", "directive", "de", "Richtlinie 2014/35/EU"),
    ("32014L0035", "directive", "fr", "Directive 2014/35/UE"),
    ("32014L0035", "directive", "zh", "指令 2014/35/EU"),
    ("32014L0035", "directive", "vi", "Chỉ thị 2014/35/EU"),
    ("32006R1907", "regulation", "de", "Verordnung (EG) Nr. 1907/2006"),
    ("32006R1907", "regulation", "vi", "Quy định (EC) số 1907/2006"),
    ("32023R1542", "regulation", "zh", "条例 (EU) 2023/1542"),
    ("31985L0374", "directive", "fr", "Directive 85/374/CEE"),
])
def test_eu_citation(celex: str, kind: str, lang: str, expected: str) -> None:
    assert eu_citation(celex, kind, lang) == expected


def test_catalog_citation_comes_first() -> None:
    ccc = default_catalog().get("cn-ccc-regulations")
    assert cite(ccc, "zh").endswith("国家市场监督管理总局令第61号修订")
    assert cite(ccc, "en") == "AQSIQ Order No. 117 of 3 July 2009, as revised by SAMR Order No. 61 of 29 September 2022"
    assert cite(ccc, "de") == "AQSIQ Order No. 117"  # no German citation recorded: the identifier
