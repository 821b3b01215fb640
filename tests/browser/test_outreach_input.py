"""The outreach step's input and texts (no browser needed)."""

from __future__ import annotations

import pytest

from agents.base import PermanentError
from agents.browser.outreach import default_note, fit, parse


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"action": "connect", "leads": [1]}, "input.action"),
        ({"action": "invite", "leads": "1,2"}, "input.leads"),
        ({"action": "invite", "leads": [1, True]}, "input.leads"),
        ({"action": "invite", "leads": [1], "notes_from": 3}, "input.notes_from"),
        ({"action": "follow_up", "leads": [1], "messages_from": ["x"]}, "input.messages_from"),
    ],
)
def test_bad_input_is_a_permanent_error_naming_the_field(spec, field):
    with pytest.raises(PermanentError, match=field):
        parse(spec)


def test_the_contract_input_parses_and_duplicate_leads_are_dropped():
    plan = parse({"action": "invite", "leads": [3, 1, 3], "notes_from": "copy"})
    assert (plan.action, plan.lead_ids, plan.source) == ("invite", [3, 1], "copy")


def test_notes_are_cut_to_the_limit_as_the_browser_counts_them():
    assert fit("short  note", 300) == "short note"
    long = "word " * 100
    cut = fit(long, 300)
    assert len(cut) <= 300 and cut.endswith("…") and not cut.endswith(" …")
    # Emoji are two UTF-16 units in a textarea's maxlength.
    emoji = "🙂" * 200
    assert len(fit(emoji, 300).encode("utf-16-le")) // 2 <= 300


def test_the_default_note_is_personalised_from_the_lead():
    note = default_note({"first_name": "Grace", "title": "CTO", "company": "Globex"})
    assert note.startswith("Hi Grace,") and "CTO at Globex" in note and len(note) <= 300
    assert default_note({"full_name": "Alan Turing"}).startswith("Hi Alan,")
