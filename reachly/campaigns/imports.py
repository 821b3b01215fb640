"""Lead import: a CSV file or a JSON list of leads into a campaign, in bulk.

    lead_import_csv(campaign=c, file=f)     -> ImportResult
    lead_import_rows(campaign=c, rows=[{...}])
    lead_import_preview(campaign=c, file=f) -> ImportPreview (a dry run: nothing written)

1. Decode (CSV): UTF-8, with or without a BOM; anything that is not valid
   UTF-8 is read as Windows-1252 (Excel's "CSV" on Windows), falling back to
   Latin-1 for the five bytes 1252 leaves undefined. UTF-16 with a BOM too.
2. Dialect: the delimiter (`,` `;` tab `|`) is the one the header line uses
   most, outside quotes.
3. Header: names matched case-insensitively, ignoring spaces, `-` and `_`,
   with common aliases (ALIASES); every other column is kept per lead in
   `custom_fields`, under its own header.
4. Rows, streamed: each is validated (profile URL required and normalised,
   e-mail, lengths); a bad row is rejected with `{row, field, message}` and
   the others go on. Duplicates (within the file, or already in the
   campaign) are reported, not silently dropped.
5. Insert: valid rows stream straight into campaigns_lead with PostgreSQL
   COPY while the file is read, in one transaction (all or nothing), under
   a per-campaign lock so two imports cannot race past the duplicate check
   (benchmarks/lead_import.py: 100,000 rows in seconds; memory stays flat,
   rows are never all held in Python).

Limits: more than REACHLY_IMPORT_MAX_ROWS rows imports nothing and says so
(TooManyRows); the byte limit is checked by the caller before reading
(REACHLY_IMPORT_MAX_BYTES, TooLarge).

Row numbers: for CSV, the row as a spreadsheet shows it (the header is row
1, the first lead row 2); for JSON, the index in the list (from 0).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from agents.browser.sites import canonical_profile_url
from reachly.campaigns.errors import Conflict, Invalid, TooManyRows
from reachly.campaigns.models import Campaign, Lead

FIELDS = ("profile_url", "first_name", "last_name", "full_name", "company", "title", "email")


def _max_length(name: str) -> int:
    lead_field = Lead._meta.get_field(name)
    assert isinstance(lead_field, models.CharField) and lead_field.max_length is not None
    return lead_field.max_length


MAX_LENGTH = {name: _max_length(name) for name in FIELDS}
# Keys are header names lowercased with spaces, "-" and "_" removed.
ALIASES: dict[str, str] = {
    **dict.fromkeys(
        [
            "profileurl",
            "linkedinurl",
            "url",
            "linkedin",
            "linkedinprofile",
            "linkedinprofileurl",
            "profile",
            "profilelink",
            "personlinkedinurl",
        ],
        "profile_url",
    ),
    **dict.fromkeys(["firstname", "first", "givenname", "forename"], "first_name"),
    **dict.fromkeys(["lastname", "last", "surname", "familyname"], "last_name"),
    **dict.fromkeys(["fullname", "name", "contactname", "personname"], "full_name"),
    **dict.fromkeys(["company", "companyname", "organization", "organisation", "employer", "account"], "company"),
    **dict.fromkeys(["title", "jobtitle", "position", "role", "headline"], "title"),
    **dict.fromkeys(["email", "emailaddress", "mail", "workemail"], "email"),
}
DELIMITERS = (",", ";", "\t", "|")
# At most this many row errors are listed; the counts stay exact.
MAX_ERRORS = 1000
_CUSTOM_MAX = 2000  # characters per custom value
_SPACE = re.compile(r"\s")
# Addresses this plain are valid for Django's EmailValidator too; others ask it.
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_json = json.JSONEncoder(ensure_ascii=False).encode
_email = EmailValidator()


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # a decoding handler only
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("reachly_latin1", _latin1_fallback)


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False
    format: dict[str, str] = field(default_factory=dict)

    def error(self, row: int, field_name: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "field": field_name, "message": message})
        else:
            self.errors_truncated = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": self.errors,
            "errors_truncated": self.errors_truncated,
            "format": self.format,
        }


# ---------------------------------------------------------------------------
# Normalisation and validation of one lead
# ---------------------------------------------------------------------------


def normalize_profile_url(raw: str) -> str:
    """A profile URL as typed → its canonical spelling (what de-duplication compares).

    `HTTP://WWW.Example.com//in/Ada/?utm=x#top` → `https://example.com/in/Ada`.
    A missing scheme becomes https; then the network's site module whose
    host it is on canonicalises it (`Site.canonical_profile_url`: the
    sandbox's base origin and `/in/<handle>`), and any other host gets
    agents.browser.sites.generic_profile_url (https, no `www.`, no query,
    fragment, doubled or trailing slash, unreserved percent-encodings
    decoded). Raises ValueError saying why: empty, spaces, not http(s),
    credentials, no host, or no profile path.
    """
    value = raw.strip()
    if not value:
        raise ValueError("a profile URL is required")
    if _SPACE.search(value):
        raise ValueError("a URL cannot contain spaces")
    if "://" not in value:
        value = "https://" + value
    if value.split("://", 1)[0].lower() not in ("http", "https"):
        raise ValueError("must be an http or https URL")
    return canonical_profile_url(value)


def _text(value: Any) -> str | None:
    """A cell as text (None when it cannot be one: a list or object)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return None


class _RowRejected(Exception):
    def __init__(self, field_name: str, message: str):
        self.field = field_name
        self.message = message


def _clean(known: dict[str, Any], custom: dict[str, Any]) -> tuple[str, ...]:
    """Validate one lead; the row for COPY, or _RowRejected."""
    values: dict[str, str] = {}
    for name in FIELDS:
        raw = known.get(name)
        if type(raw) is str and "\x00" not in raw:
            values[name] = raw.strip()  # the CSV case: no conversion needed
            continue
        text = _text(raw)
        if text is None:
            raise _RowRejected(name, "must be text")
        values[name] = text
    try:
        values["profile_url"] = normalize_profile_url(values["profile_url"])
    except ValueError as exc:
        raise _RowRejected("profile_url", str(exc)) from None
    email = values["email"]
    if email and not _PLAIN_EMAIL.match(email):
        try:
            _email(email)  # Django's full rules: quoted local parts, IDN domains...
        except ValidationError:
            raise _RowRejected("email", f"not a valid e-mail address: {email[:100]!r}") from None
    if values["full_name"] and not (values["first_name"] or values["last_name"]):
        first, _, last = values["full_name"].partition(" ")
        values["first_name"], values["last_name"] = first, last.strip()
    elif not values["full_name"]:
        values["full_name"] = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
    for name in FIELDS:
        if len(values[name]) > MAX_LENGTH[name]:
            raise _RowRejected(name, f"longer than {MAX_LENGTH[name]} characters")
    extra: dict[str, Any] = {}
    for key, value in custom.items():
        if isinstance(value, str):
            value = value.replace("\x00", "").strip()
            if not value:
                continue
            if len(value) > _CUSTOM_MAX:
                raise _RowRejected(key, f"longer than {_CUSTOM_MAX} characters")
        elif value is None:
            continue
        extra[str(key).replace("\x00", "")[:200]] = value
    try:
        custom_json = _json(extra) if extra else "{}"
    except (TypeError, ValueError):
        raise _RowRejected("custom_fields", "must be JSON") from None
    if "\\u0000" in custom_json:
        raise _RowRejected("custom_fields", "must not contain NUL characters")
    return (*(values[name] for name in FIELDS), custom_json)


# ---------------------------------------------------------------------------
# Writing: COPY into a temporary table, then one INSERT
# ---------------------------------------------------------------------------

# Imports into one campaign take turns (a transaction-scoped advisory lock),
# so the duplicate check made before writing stays true while rows stream in.
_LOCK_NAMESPACE = 0x4C454144  # "LEAD"
_COLUMNS = (
    "profile_url, first_name, last_name, full_name, company, title, email, custom_fields,"
    " tenant_id, campaign_id, status, status_detail, created_at, updated_at"
)


def _checked(
    rows: Iterable[tuple[int, dict[str, Any], dict[str, Any]]], result: ImportResult, existing: set[str]
) -> Iterator[tuple[str, ...]]:
    """Validate and de-duplicate `(row number, known, custom)` rows; yield
    the ones to write (as COPY rows) and count the others in `result`."""
    max_rows = settings.REACHLY_IMPORT_MAX_ROWS
    seen: dict[str, int] = {}
    for number, known, custom in rows:
        result.rows += 1
        if result.rows > max_rows:
            raise TooManyRows(
                f"the import has more than {max_rows:,} rows; split it into smaller files",
                field="file",
                details={"max_rows": max_rows},
            )
        try:
            row = _clean(known, custom)
        except _RowRejected as bad:
            result.rejected += 1
            result.error(number, bad.field, bad.message)
            continue
        url = row[0]
        if url in seen:
            result.duplicates += 1
            result.error(number, "profile_url", f"duplicate of row {seen[url]} in this import")
            continue
        seen[url] = number
        if url in existing:
            result.duplicates += 1
            result.error(number, "profile_url", "already a lead of this campaign")
            continue
        yield row


def _load(campaign: Campaign, rows: Iterable[tuple[int, dict[str, Any], dict[str, Any]]], result: ImportResult) -> None:
    """Validate, de-duplicate and write `(row number, known, custom)` rows."""
    now = timezone.now()
    constants = (campaign.tenant_id, campaign.pk, Lead.Status.NEW, "", now, now)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, campaign.pk])
            existing = set(Lead.objects.filter(campaign=campaign).values_list("profile_url", flat=True))
            with cursor.cursor.copy(f"COPY campaigns_lead ({_COLUMNS}) FROM STDIN") as copy:
                for row in _checked(rows, result, existing):
                    copy.write_row(row + constants)
                    result.created += 1
    except IntegrityError:
        # A lead added by something other than an import, mid-way: nothing
        # was written; the next attempt sees it as a duplicate.
        raise Conflict("leads were added to this campaign during the import; send the file again") from None


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _detect_encoding(raw: IO[bytes]) -> str:
    raw.seek(0)
    head = raw.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := raw.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _detect_delimiter(first_line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.replace("\ufeff", "")).lower()


def map_header(header: list[str]) -> tuple[dict[int, str], dict[int, str]]:
    """Column index → lead field, and column index → custom field name."""
    known: dict[int, str] = {}
    custom: dict[int, str] = {}
    taken: set[str] = set()
    for i, raw_name in enumerate(header):
        name = raw_name.replace("\ufeff", "").replace("\x00", "").strip()
        target = ALIASES.get(_header_key(name))
        if target and target not in taken:
            known[i] = target
            taken.add(target)
        else:
            custom[i] = name or f"column_{i + 1}"
    return known, custom


def _csv_rows(
    reader: Iterator[list[str]], known_cols: dict[int, str], custom_cols: dict[int, str]
) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    width = len(known_cols) + len(custom_cols)
    for index, cells in enumerate(reader):
        if not any(c.strip() for c in cells):
            continue  # blank line
        known = {name: cells[i] for i, name in known_cols.items() if i < len(cells)}
        custom = {name: cells[i] for i, name in custom_cols.items() if i < len(cells)}
        for i in range(width, len(cells)):
            if cells[i].strip():
                custom[f"column_{i + 1}"] = cells[i]
        yield index + 2, known, custom


@contextmanager
def _csv_source(file: IO[bytes]) -> Iterator[tuple[Iterator[tuple[int, dict, dict]], list[str], dict[int, str], dict]]:
    """Open a CSV upload: (rows, header, column index → lead field, format).

    Raises Invalid for an empty file, a bad header or no profile URL column;
    a malformed row while reading raises Invalid naming the row.
    """
    encoding = _detect_encoding(file)
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=encoding, errors="reachly_latin1", newline="")
    try:
        first_line = text.readline()
        if not first_line.strip():
            raise Invalid("the file is empty (expected a header line, then one lead per line)", field="file")
        delimiter = _detect_delimiter(first_line)
        csv.field_size_limit(1 << 20)
        # itertools.chain, not a generator: closing it must not close `text`.
        reader = csv.reader(itertools.chain([first_line], text), delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise Invalid(f"the header line is not valid CSV: {exc}", field="file") from None
        known_cols, custom_cols = map_header(header)
        if "profile_url" not in known_cols.values():
            raise Invalid(
                "no profile URL column; name one of: profile_url, linkedin_url, url"
                f" (found: {', '.join(h.strip() for h in header[:20])})",
                field="file",
            )
        try:
            yield (
                _csv_rows(reader, known_cols, custom_cols),
                header,
                known_cols,
                {"encoding": encoding, "delimiter": delimiter},
            )
        except csv.Error as exc:
            raise Invalid(f"row {reader.line_num}: not valid CSV ({exc})", field="file") from None
    finally:
        text.detach()


def lead_import_csv(*, campaign: Campaign, file: IO[bytes]) -> ImportResult:
    """Import a CSV file (a binary, seekable file object) into `campaign`."""
    with _csv_source(file) as (rows, _header, _known, fmt):
        result = ImportResult(format=fmt)
        _load(campaign, rows, result)
        return result


@dataclass
class ImportPreview:
    """What importing a file would do, computed without writing anything."""

    result: ImportResult  # `created`: the leads an import would create now
    columns: list[dict[str, str]]  # [{"header", "field"}]; field "" = kept as a custom field
    sample: list[dict[str, Any]]  # the first rows: {"row", "values": {field: text}, "custom": n, "error"}


def lead_import_preview(*, campaign: Campaign, file: IO[bytes], sample: int = 10) -> ImportPreview:
    """A dry run of lead_import_csv: the detected format and columns, the
    first `sample` rows as they would be read, and every row error (same
    rules, same duplicate check against the campaign's leads), without
    writing. The file is read once; the caller seeks it back to import."""
    with _csv_source(file) as (rows, header, known_cols, fmt):
        result = ImportResult(format=fmt)
        first: list[tuple[int, dict[str, Any], dict[str, Any]]] = []

        def tap(source: Iterable[tuple[int, dict[str, Any], dict[str, Any]]]):
            for item in source:
                if len(first) < sample:
                    first.append(item)
                yield item

        existing = set(Lead.objects.filter(campaign=campaign).values_list("profile_url", flat=True))
        for _row in _checked(tap(rows), result, existing):
            result.created += 1
    errors: dict[int, str] = {}
    for error in result.errors:
        errors.setdefault(error["row"], f"{error['field']}: {error['message']}")
    columns = [
        {"header": name.replace("\ufeff", "").strip() or f"column_{i + 1}", "field": known_cols.get(i, "")}
        for i, name in enumerate(header)
    ]
    return ImportPreview(
        result=result,
        columns=columns,
        sample=[
            {
                "row": number,
                "values": {name: str(known.get(name) or "").strip() for name in FIELDS},
                "custom": sum(1 for v in custom.values() if str(v or "").strip()),
                "error": errors.get(number, ""),
            }
            for number, known, custom in first
        ],
    )


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def _json_rows(rows: list[Any], result: ImportResult) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    for index, item in enumerate(rows):
        if not isinstance(item, dict):
            result.rows += 1
            result.rejected += 1
            result.error(index, "row", "must be an object with a profile_url")
            continue
        known: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in item.items():
            target = ALIASES.get(_header_key(str(key)))
            if target and target not in known:
                known[target] = value
            elif key == "custom_fields" and isinstance(value, dict):
                custom.update(value)
            else:
                custom[str(key)] = value
        yield index, known, custom


def lead_import_rows(*, campaign: Campaign, rows: Any) -> ImportResult:
    """Import a JSON list of lead objects (same names and aliases as CSV)."""
    if not isinstance(rows, list):
        raise Invalid("expected a JSON list of lead objects", field="non_field_errors")
    if len(rows) > settings.REACHLY_IMPORT_MAX_ROWS:
        max_rows = settings.REACHLY_IMPORT_MAX_ROWS
        raise TooManyRows(
            f"the import has {len(rows):,} rows; at most {max_rows:,} per import",
            field="non_field_errors",
            details={"max_rows": max_rows},
        )
    result = ImportResult(format={"encoding": "json"})
    _load(campaign, _json_rows(rows, result), result)
    return result
