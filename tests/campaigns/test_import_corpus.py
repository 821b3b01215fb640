"""The import corpus (tests/campaigns/import_corpus/): awkward files as
spreadsheets and CRMs write them, each with the leads (or the file error)
an import must give, and the warnings it must show (issue 11, section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reachly.campaigns.errors import Invalid
from reachly.campaigns.imports import lead_import_csv
from reachly.campaigns.models import Lead
from reachly.campaigns.services import campaign_create
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "import_corpus"

# file → expected: "leads" {url: {field: value}} (exactly these leads),
# "rejected" {row: text in the message}, "duplicates" n, "warnings" [text
# each found in some warning] (none when omitted), "format", or "error".
CASES: dict[str, dict[str, Any]] = {
    "unterminated_quote.csv": {"leads": {}, "rejected": {2: "never closed"}},
    "swallowed_rows.csv": {
        "leads": {"https://sandbox.test/in/d": {"first_name": "Dee"}},
        "rejected": {2: "looks like another row"},
    },
    "utf16le_no_bom.csv": {
        "leads": {"https://sandbox.test/in/zoe": {"first_name": "Zoë", "last_name": "Ångström"}},
        "format": {"encoding": "utf-16-le", "delimiter": ","},
        "warnings": ["byte-order mark"],
    },
    "utf16_with_bom.csv": {
        "leads": {"https://sandbox.test/in/zoe": {"full_name": "Zoë Ångström"}},
        "format": {"encoding": "utf-16", "delimiter": "\t"},
    },
    "semicolon_header_comma_data.csv": {"error": "semicolon-separated but the rows below it are comma-separated"},
    "last_comma_first.csv": {
        "leads": {"https://sandbox.test/in/jd": {"first_name": "John", "last_name": "Doe", "full_name": "Doe, John"}}
    },
    "duplicate_headers.csv": {
        "leads": {"https://sandbox.test/in/a": {"custom_fields": {"Team": "1", "Team (2)": "2"}}},
        "warnings": ["repeats the name 'Team'"],
    },
    "url_spellings.csv": {
        "leads": {"https://linkedin.com/in/jane-doe": {}},
        "duplicates": 4,
        "rejected": {7: "no profile path"},
    },
    "bom_utf8.csv": {
        "leads": {"https://sandbox.test/in/b": {"first_name": "Björk"}},
        "format": {"encoding": "utf-8-sig", "delimiter": ","},
    },
    "crlf.csv": {
        "leads": {
            "https://sandbox.test/in/c1": {"first_name": "Cee", "last_name": "One"},
            "https://sandbox.test/in/c2": {"last_name": "Two"},
        }
    },
    "trailing_empty_lines.csv": {"leads": {"https://sandbox.test/in/t1": {"first_name": "Tee"}}},
    "excel_sep_line.csv": {
        "leads": {"https://sandbox.test/in/x1": {"full_name": "René Müller", "company": "Crème, Brûlée"}},
        "format": {"encoding": "cp1252", "delimiter": ";"},
        "warnings": ["Windows-1252"],
    },
    "tabs.tsv": {
        "leads": {"https://sandbox.test/in/t": {"full_name": "Tab, Name", "custom_fields": {"bio": "one\ttwo"}}},
        "format": {"encoding": "utf-8", "delimiter": "\t"},
    },
    "cp1252.csv": {
        "leads": {"https://sandbox.test/in/rene": {"first_name": "René", "last_name": "Müller"}},
        "warnings": ["not valid UTF-8"],
    },
    "no_trailing_newline.csv": {"leads": {"https://sandbox.test/in/n1": {"first_name": "Nan"}}},
}


def test_every_corpus_file_has_a_case():
    assert {p.name for p in CORPUS.iterdir() if not p.name.startswith(".")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file(name):
    expected = CASES[name]
    campaign = campaign_create(tenant=TenantFactory(), name=name)
    with (CORPUS / name).open("rb") as f:
        if "error" in expected:
            with pytest.raises(Invalid, match=expected["error"]):
                lead_import_csv(campaign=campaign, file=f)
            assert not Lead.objects.filter(campaign=campaign).exists()
            return
        result = lead_import_csv(campaign=campaign, file=f)
    found = {lead.profile_url: lead for lead in Lead.objects.filter(campaign=campaign)}
    assert set(found) == set(expected["leads"])
    for url, values in expected["leads"].items():
        for field_name, value in values.items():
            assert getattr(found[url], field_name) == value, (url, field_name)
    rejected = {e["row"]: e["message"] for e in result.errors if "duplicate" not in e["message"]}
    assert set(rejected) == set(expected.get("rejected", {}))
    for row, text in expected.get("rejected", {}).items():
        assert text in rejected[row]
    assert result.duplicates == expected.get("duplicates", 0)
    if "format" in expected:
        assert result.format == expected["format"]
    wanted = expected.get("warnings", [])
    assert all(any(text in w for w in result.warnings) for text in wanted), result.warnings
    if not wanted:
        assert result.warnings == []
