"""Issue 11, section 5: an import never silently changes what the file said.
One regression test per instance, through the API."""

from __future__ import annotations

import pytest

from reachly.campaigns.models import Lead
from tests.api.conftest import error
from tests.api.test_lead_import import campaign, leads, upload  # noqa: F401  (campaign: a fixture)

pytestmark = pytest.mark.django_db


def test_an_unterminated_quote_rejects_the_row_naming_the_lines_it_swallowed(alice, campaign):  # noqa: F811
    body = upload(
        alice, campaign, b'url,first_name\nhttps://sandbox.test/in/u1,"Open\nhttps://sandbox.test/in/u2,Next\n'
    )
    body = body.json()
    assert (body["rows"], body["created"], body["rejected"]) == (1, 0, 1)
    [err] = body["errors"]
    assert err["row"] == 2 and err["field"] == "first_name"
    assert "never closed" in err["message"] and "lines 2 to 3" in err["message"]
    assert not leads(campaign)


def test_a_big_file_with_a_broken_last_row_imports_the_rest_and_rejects_that_row(alice, campaign):  # noqa: F811
    rows = b"".join(b"https://sandbox.test/in/p%d,P%d\n" % (i, i) for i in range(99_998))
    body = upload(alice, campaign, b"url,first_name\n" + rows + b'https://sandbox.test/in/last,"Unclosed\n').json()
    assert (body["rows"], body["created"], body["rejected"]) == (99_999, 99_998, 1)
    assert body["errors"][0]["row"] == 100_000 and "never closed" in body["errors"][0]["message"]


def test_a_quote_closed_rows_later_rejects_the_row_that_swallowed_another(alice, campaign):  # noqa: F811
    csv = (
        b"url,first_name\n"
        b'https://sandbox.test/in/a,"Open\n'
        b"https://sandbox.test/in/b,Bee\n"
        b'https://sandbox.test/in/c,Close"\n'
        b"https://sandbox.test/in/d,Dee\n"
    )
    body = upload(alice, campaign, csv).json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert "looks like another row" in body["errors"][0]["message"]
    assert "https://sandbox.test/in/b" in body["errors"][0]["message"]
    assert set(leads(campaign)) == {"https://sandbox.test/in/d"}


def test_a_multi_line_quoted_value_that_holds_no_row_is_kept(alice, campaign):  # noqa: F811
    csv = b'url,bio\nhttps://sandbox.test/in/a,"line one\nsee https://blog.example/x, really"\n'
    body = upload(alice, campaign, csv).json()
    assert body["created"] == 1
    assert leads(campaign)["https://sandbox.test/in/a"].custom_fields == {
        "bio": "line one\nsee https://blog.example/x, really"
    }


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "little"), ("utf-16-be", "big")])
def test_utf16_without_a_bom_is_read_as_utf16_and_says_it_guessed(alice, campaign, codec, order):  # noqa: F811
    body = upload(alice, campaign, "url,name\nhttps://sandbox.test/in/zoe,Zoë Ångström\n".encode(codec)).json()
    assert (body["rows"], body["created"], body["rejected"]) == (1, 1, 0)
    assert body["format"] == {"encoding": codec, "delimiter": ","}
    assert any("byte-order mark" in w and order in w for w in body["warnings"])
    assert leads(campaign)["https://sandbox.test/in/zoe"].full_name == "Zoë Ångström"


def test_other_files_with_nul_bytes_are_refused(alice, campaign):  # noqa: F811
    response = upload(alice, campaign, b"url\x00\x00\x00,name\nhttps://x.test/a\x00\x00\x00\x00\x00\n")
    assert response.status_code == 400 and "NUL" in error(response)["message"]


def test_a_windows_1252_guess_is_a_warning(alice, campaign):  # noqa: F811
    body = upload(alice, campaign, "url,name\nhttps://sandbox.test/in/r,René\n".encode("cp1252")).json()
    assert body["format"]["encoding"] == "cp1252"
    assert any("not valid UTF-8" in w and "Windows-1252" in w for w in body["warnings"])


def test_a_semicolon_header_over_comma_data_is_a_file_error(alice, campaign):  # noqa: F811
    response = upload(alice, campaign, b"url;name\nhttps://sandbox.test/in/a,Ann\nhttps://sandbox.test/in/b,Bob\n")
    assert response.status_code == 400
    err = error(response)
    assert "file" in err["details"] and "semicolon-separated" in err["message"] and "comma-separated" in err["message"]
    assert not Lead.objects.filter(campaign=campaign).exists()


def test_a_header_with_two_delimiters_names_the_guess(alice, campaign):  # noqa: F811
    body = upload(alice, campaign, b"url;name;team,unit\nhttps://sandbox.test/in/a;Ann;x,y\n").json()
    assert body["format"]["delimiter"] == ";" and body["created"] == 1
    assert any("semicolon-separated" in w for w in body["warnings"])


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Doe, John", "John", "Doe"),
        ("van der Berg, Anna Maria", "Anna Maria", "van der Berg"),
        ("John Doe, Jr.", "John", "Doe, Jr."),
        ("John Doe", "John", "Doe"),
    ],
)
def test_a_full_name_in_last_comma_first_form_is_split_right(alice, campaign, full, first, last):  # noqa: F811
    upload(alice, campaign, f'url,full_name\nhttps://sandbox.test/in/n,"{full}"\n'.encode())
    lead = leads(campaign)["https://sandbox.test/in/n"]
    assert (lead.first_name, lead.last_name, lead.full_name) == (first, last, full)


def test_duplicate_headers_are_warned_about_and_neither_value_is_lost(alice, campaign):  # noqa: F811
    body = upload(alice, campaign, b"url,Email,E-mail,Team,Team\nhttps://sandbox.test/in/a,a@x.test,b@x.test,1,2\n")
    body = body.json()
    assert body["created"] == 1
    assert any("columns 2 ('Email') and 3 ('E-mail') both name email" in w for w in body["warnings"])
    assert any("column 5 repeats the name 'Team'" in w for w in body["warnings"])
    lead = leads(campaign)["https://sandbox.test/in/a"]
    assert lead.email == "a@x.test"
    assert lead.custom_fields == {"E-mail": "b@x.test", "Team": "1", "Team (2)": "2"}


def test_spellings_of_one_profile_are_one_lead(alice, campaign):  # noqa: F811
    csv = (
        "url\n"
        "https://linkedin.com/in/jane-doe\n"  # row 2
        "http://www.linkedin.com/in/jane-doe/\n"  # scheme, www., trailing slash
        "https://LinkedIn.com/in/Jane-Doe\n"  # host and slug case
        "https://linkedin.com/in/jane%2ddoe\n"  # percent-encoded unreserved
        "https://linkedin.com//in/jane-doe\n"  # doubled slash
    )
    body = upload(alice, campaign, csv.encode()).json()
    assert (body["created"], body["duplicates"]) == (1, 4)
    assert all(e["message"] == "duplicate of row 2 in this import" for e in body["errors"])
    assert set(leads(campaign)) == {"https://linkedin.com/in/jane-doe"}


def test_a_url_with_no_profile_path_is_rejected(alice, campaign):  # noqa: F811
    body = upload(alice, campaign, b"url\nhttps://linkedin.com/\nhttps://linkedin.com\n").json()
    assert (body["created"], body["rejected"]) == (0, 2)
    assert all("no profile path" in e["message"] for e in body["errors"])


def test_sandbox_profile_urls_are_canonicalised_by_the_sandbox_site(alice, campaign, settings):  # noqa: F811
    settings.REACHLY_SANDBOX_URL = "http://127.0.0.1:8000/sandbox/"
    csv = (
        b"url\n"
        b"http://127.0.0.1:8000/sandbox/in/ava\n"
        b"http://127.0.0.1:8000/sandbox//in/ava/?ref=x\n"  # the same member
        b"http://127.0.0.1:8000/sandbox/in/\n"  # no handle
        b"http://127.0.0.1:8000/sandbox/in/ava/connect\n"  # an action, not a profile
    )
    body = upload(alice, campaign, csv).json()
    assert (body["created"], body["duplicates"], body["rejected"]) == (1, 1, 2)
    assert set(leads(campaign)) == {"http://127.0.0.1:8000/sandbox/in/ava"}


def test_a_json_import_canonicalises_and_splits_names_the_same_way(alice, campaign):  # noqa: F811
    rows = [
        {"url": "https://www.linkedin.com/in/jd/", "name": "Doe, John"},
        {"url": "http://linkedin.com/in/JD"},
    ]
    body = alice.client.post(f"/api/v1/campaigns/{campaign.pk}/leads/import", rows, format="json").json()
    assert (body["created"], body["duplicates"]) == (1, 1)
    lead = leads(campaign)["https://linkedin.com/in/jd"]
    assert (lead.first_name, lead.last_name) == ("John", "Doe")
