"""Lead import: a CSV file or a JSON list of leads into a campaign, in bulk.

    lead_import_csv(campaign=c, file=f)     -> ImportResult
    lead_import_rows(campaign=c, rows=[{...}])
    lead_import_preview(campaign=c, file=f) -> ImportPreview (a dry run: nothing written)

1. Decode (CSV): UTF-8, with or without a BOM; UTF-16 with a BOM, or
   without one when every other byte is NUL (said in `warnings`); other
   files with NUL bytes are refused; anything that is not valid UTF-8 is
   read as Windows-1252 (Excel's "CSV" on Windows; said in `warnings`),
   falling back to Latin-1 for the five bytes 1252 leaves undefined.
2. Dialect: an Excel `sep=;` first line names the delimiter; else it is the
   one (`,` `;` tab `|`) the header line uses most, outside quotes, checked
   against the first data lines: a header split by one and rows by another
   is a file error; an ambiguous header is a warning.
3. Header: names matched case-insensitively, ignoring spaces, `-` and `_`,
   with common aliases (ALIASES); every other column is kept per lead in
   `custom_fields`, under its own header. A second column for one field, a
   repeated name (kept as `Name (2)`) or an unnamed one is a warning.
4. Rows, streamed: each is validated (profile URL required, on the
   network of the campaign's sender accounts, and canonicalised by that
   network's site module, see normalize_profile_url;
   e-mail, lengths; "Last, First" full names split right); a bad row is
   rejected with `{row, field, message}` and the others go on, including a
   row whose quote is never closed (to the end of the file, or across a
   line that looks like another row: it names the lines). Duplicates
   (within the file, or already in the campaign) are reported, not
   silently dropped.
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
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from agents.browser.sites import network_profile_url
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
MAX_WARNINGS = 50
# How many lines after the header are read to check the delimiter.
_SNIFF_LINES = 20
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "dds", "cpa"})
_SEP_LINE = re.compile(r'"?sep=(.)"?[\r\n]*', re.I)
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
    # File-level notes: every guess the reader made (an encoding, a
    # delimiter) and every column it renamed or set aside, in plain words.
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings and len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)

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
            "warnings": self.warnings,
        }


# ---------------------------------------------------------------------------
# Normalisation and validation of one lead
# ---------------------------------------------------------------------------


def normalize_profile_url(raw: str, networks: Collection[str] = ()) -> str:
    """A profile URL as typed → its canonical spelling (what de-duplication compares).

    `HTTP://WWW.Example.com//in/Ada/?utm=x#top` → `https://example.com/in/Ada`.
    A missing scheme becomes https; then the network's site module whose
    host it is on canonicalises it (`Site.canonical_profile_url`: the
    sandbox's base origin and `/in/<handle>`), and any other host gets
    agents.browser.sites.generic_profile_url (https, no `www.`, no query,
    fragment, doubled or trailing slash, unreserved percent-encodings
    decoded).

    `networks` (campaign_networks: the networks of the campaign's sender
    accounts) limits the URL to those networks' site modules: a profile
    no account of the campaign could open is refused, naming the
    networks expected. Empty (no accounts yet): any registered site, or
    another public host, but never a loopback, private or link-local
    address or localhost (agents.browser.sites.network_profile_url).

    Raises ValueError saying why: empty, spaces, not http(s), credentials,
    no host, no profile path, or not on the expected network(s).
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
    return network_profile_url(value, networks)


def campaign_networks(campaign: Campaign) -> frozenset[str]:
    """The networks (names, e.g. `{"sandbox"}`) of `campaign`'s sender
    accounts: the ones a lead's profile URL must be on, since only those
    accounts work the campaign (campaigns.jobs). Empty when it has none."""
    return frozenset(campaign.sender_accounts.values_list("network", flat=True))


def split_full_name(full: str) -> tuple[str, str]:
    """`"Ada Lovelace"` → `("Ada", "Lovelace")`; the comma form, as address
    books and CRMs export it, `"Lovelace, Ada"` → `("Ada", "Lovelace")`;
    a comma before a suffix is not that form: `"John Doe, Jr."` →
    `("John", "Doe, Jr.")`. One word is a first name only."""
    if full.count(",") == 1:
        last, _, first = (p.strip() for p in full.partition(","))
        if first and last and first.rstrip(".").replace(".", "").lower() not in _SUFFIXES:
            return first, last
    first, _, last = full.partition(" ")
    return first, last.strip()


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


def _clean(known: dict[str, Any], custom: dict[str, Any], networks: Collection[str] = ()) -> tuple[str, ...]:
    """Validate one lead (its profile URL on one of `networks`, see
    normalize_profile_url); the row for COPY, or _RowRejected."""
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
        values["profile_url"] = normalize_profile_url(values["profile_url"], networks)
    except ValueError as exc:
        raise _RowRejected("profile_url", str(exc)) from None
    email = values["email"]
    if email and not _PLAIN_EMAIL.match(email):
        try:
            _email(email)  # Django's full rules: quoted local parts, IDN domains...
        except ValidationError:
            raise _RowRejected("email", f"not a valid e-mail address: {email[:100]!r}") from None
    if values["full_name"] and not (values["first_name"] or values["last_name"]):
        values["first_name"], values["last_name"] = split_full_name(values["full_name"])
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


# (row number, known fields or the reader's reason to reject the row, custom fields)
Row = tuple[int, "dict[str, Any] | _RowRejected", dict[str, Any]]


def _checked(
    rows: Iterable[Row], result: ImportResult, existing: set[str], networks: Collection[str]
) -> Iterator[tuple[str, ...]]:
    """Validate and de-duplicate `(row number, known, custom)` rows, profile
    URLs on `networks` (campaign_networks); yield the ones to write (as
    COPY rows) and count the others in `result`."""
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
            if isinstance(known, _RowRejected):
                raise known
            row = _clean(known, custom, networks)
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


def _load(campaign: Campaign, rows: Iterable[Row], result: ImportResult) -> None:
    """Validate, de-duplicate and write `(row number, known, custom)` rows."""
    now = timezone.now()
    constants = (campaign.tenant_id, campaign.pk, Lead.Status.NEW, "", now, now)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, campaign.pk])
            existing = set(Lead.objects.filter(campaign=campaign).values_list("profile_url", flat=True))
            networks = campaign_networks(campaign)
            with cursor.cursor.copy(f"COPY campaigns_lead ({_COLUMNS}) FROM STDIN") as copy:
                for row in _checked(rows, result, existing, networks):
                    copy.write_row(row + constants)
                    result.created += 1
    except IntegrityError:
        # A lead added by something other than an import, mid-way: nothing
        # was written; the next attempt sees it as a duplicate.
        raise Conflict("leads were added to this campaign during the import; send the file again") from None


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when the first bytes look like UTF-16 text
    without a byte-order mark (text in Latin script: every other byte NUL),
    else None."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = sum(1 for i in range(0, pairs * 2, 2) if head[i] == 0)
    odd = sum(1 for i in range(1, pairs * 2, 2) if head[i] == 0)
    if odd >= pairs * 0.6 and even <= pairs * 0.1:
        return "utf-16-le"
    if even >= pairs * 0.6 and odd <= pairs * 0.1:
        return "utf-16-be"
    return None


def _detect_encoding(raw: IO[bytes]) -> tuple[str, str]:
    """(codec name, a warning when the encoding is a guess, else "").

    A BOM decides (UTF-8, UTF-16); then UTF-16 without one (NUL bytes at
    every other position); then UTF-8 if the whole file decodes; else
    Windows-1252. Raises Invalid for other files holding NUL bytes (a
    spreadsheet or other binary file, or UTF-32).
    """
    raw.seek(0)
    head = raw.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", ""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ""
    utf16 = _utf16_without_bom(head)
    if utf16:
        order = "little" if utf16.endswith("le") else "big"
        return utf16, f"the file has no byte-order mark; read as UTF-16 ({order}-endian) since every other byte is NUL"
    if b"\x00" in head:
        raise Invalid(
            "the file holds NUL bytes and is not UTF-16 text: save it as CSV (UTF-8) and send it again", field="file"
        )
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while chunk := raw.read(1 << 20):
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        at = max(offset + exc.start - len(decoder.getstate()[0]), 0)
        return "cp1252", (
            f"the file is not valid UTF-8 (byte {at:,}); read as Windows-1252"
            " (bytes it leaves undefined as Latin-1): check accented letters"
        )
    return "utf-8", ""


def _count_delimiters(line: str) -> dict[str, int]:
    """Each candidate delimiter's count in `line`, outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return counts


def _detect_delimiter(first_line: str) -> str:
    counts = _count_delimiters(first_line)
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))


def _check_delimiter(header_line: str, delimiter: str, sample: list[str], warnings: list[str]) -> None:
    """Check the header's delimiter against the first data lines.

    Raises Invalid when the header is split by one delimiter and the data
    by another (each line would be one cell: a URL holding the whole row);
    appends a warning when the header is ambiguous or has one column while
    the data has several.
    """
    header_counts = _count_delimiters(header_line)
    others = [d for d in DELIMITERS if d != delimiter and header_counts[d]]
    if header_counts[delimiter] and others:
        warnings.append(
            f"the header holds both {_name(delimiter)}s and {', '.join(_name(d) + 's' for d in others)};"
            f" read as {_name(delimiter)}-separated (the one it uses most)"
        )
    data = [line for line in sample if line.strip()]
    if not data:
        return
    counts = [_count_delimiters(line) for line in data]
    if header_counts[delimiter]:
        if all(c[delimiter] == 0 for c in counts):
            used = max(DELIMITERS, key=lambda d: sum(c[d] for c in counts))
            if used != delimiter and all(c[used] for c in counts):
                raise Invalid(
                    f"the header is {_name(delimiter)}-separated but the rows below it are {_name(used)}-separated;"
                    " save the file with one separator and send it again",
                    field="file",
                )
        return
    for d in DELIMITERS:
        if all(c[d] for c in counts):
            warnings.append(
                f"the header has one column but the rows look {_name(d)}-separated;"
                f" read as comma-separated, other cells kept as custom fields column_2…"
            )
            return


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.replace("\ufeff", "")).lower()


def map_header(header: list[str], warnings: list[str] | None = None) -> tuple[dict[int, str], dict[int, str]]:
    """Column index → lead field, and column index → custom field name.

    The first column naming a lead field wins; a later one naming the same
    field is kept as a custom field under its own name, an unnamed column
    is `column_<n>` and a repeated custom name gets ` (2)`, ` (3)`…; each
    of these is said in `warnings` (a list appended to) when given.
    """
    known: dict[int, str] = {}
    custom: dict[int, str] = {}
    taken: dict[str, int] = {}
    names: set[str] = set()
    notes: list[str] = []
    for i, raw_name in enumerate(header):
        name = raw_name.replace("\ufeff", "").replace("\x00", "").strip()
        target = ALIASES.get(_header_key(name))
        if target and target not in taken:
            known[i] = target
            taken[target] = i
            continue
        if target:
            first = header[taken[target]].replace("\ufeff", "").strip()
            notes.append(
                f"columns {taken[target] + 1} ({first!r}) and {i + 1} ({name!r}) both name {target}:"
                f" column {taken[target] + 1} is used, column {i + 1} kept as a custom field"
            )
        if not name:
            name = f"column_{i + 1}"
            if any(c.strip() for c in header):
                notes.append(f"column {i + 1} has no name; kept as custom field {name!r}")
        if name in names:
            n = 2
            while f"{name} ({n})" in names:
                n += 1
            notes.append(f"column {i + 1} repeats the name {name!r}; kept as custom field {name + f' ({n})'!r}")
            name = f"{name} ({n})"
        names.add(name)
        custom[i] = name
    if warnings is not None:
        warnings.extend(notes)
    return known, custom


class _Lines:
    """The file's lines for csv.reader, counted; `exhausted` once the
    reader asked past the last one (csv asks again only while inside a
    quoted value: a record returned then ran into the end of the file)."""

    def __init__(self, lines: Iterable[str], first_line_number: int):
        self._lines = iter(lines)
        self.number = first_line_number - 1  # the file line last handed out
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        self.number += 1
        return line


def _row_like(delimiter: str, width: int) -> re.Pattern[str]:
    """A line inside a value that looks like the start of another lead row:
    a URL, then (when the header has several columns) the delimiter."""
    tail = f"[^\\r\\n{re.escape(delimiter)}]*{re.escape(delimiter)}" if width > 1 else r"\S*"
    return re.compile(rf"[\r\n][ \t]*\"?((?:https?://|www\.)[^\s{re.escape(delimiter)}\"]*){tail}", re.I)


def _swallowed(
    cells: list[str], lines: _Lines, start: int, row_like: re.Pattern[str], names: dict[int, str]
) -> _RowRejected | None:
    """Why a record read across lines is not one row, or None.

    A value still quoted at the end of the file, or a multi-line value
    holding a line that starts like another row (a URL, then a
    delimiter): a quote was opened and never closed, and the reader took
    the lines after it as that value.
    """
    end = lines.number
    for i, cell in enumerate(cells):
        if "\n" not in cell and "\r" not in cell:
            continue
        column = names.get(i, f"column_{i + 1}")
        if lines.exhausted:
            return _RowRejected(
                column,
                f"a quote opened in this value is never closed: lines {start} to {end} of the file (to its end)"
                " were read as one value; close the quote (or remove it) and send the file again",
            )
        found = row_like.search(cell)
        if found:
            line = start + cell.count("\n", 0, found.start() + 1)
            return _RowRejected(
                column,
                f"this value runs over lines {start} to {end} and holds what looks like another row"
                f" (line {line}: {found[1][:80]!r}); a quote is probably not closed",
            )
    if lines.exhausted and start < end:
        return _RowRejected(
            names.get(0, "row"), f"a quote is never closed: lines {start} to {end} were read as one row"
        )
    return None


def _csv_rows(
    reader: Iterator[list[str]],
    lines: _Lines,
    known_cols: dict[int, str],
    custom_cols: dict[int, str],
    row_like: re.Pattern[str],
    warnings: list[str],
) -> Iterator[Row]:
    width = len(known_cols) + len(custom_cols)
    names = {**known_cols, **custom_cols}
    start = lines.number + 1
    for index, cells in enumerate(reader):
        number = index + 2
        first_line, start = start, lines.number + 1
        if not any(c.strip() for c in cells):
            continue  # blank line
        custom: dict[str, Any] = {}
        rejected = (
            _swallowed(cells, lines, first_line, row_like, names)
            if lines.number > first_line or lines.exhausted
            else None
        )
        if rejected is not None:
            yield number, rejected, custom
            continue
        known = {name: cells[i] for i, name in known_cols.items() if i < len(cells)}
        custom = {name: cells[i] for i, name in custom_cols.items() if i < len(cells)}
        for i in range(width, len(cells)):
            if cells[i].strip():
                custom[f"column_{i + 1}"] = cells[i]
                if len(warnings) < MAX_WARNINGS:
                    note = f"some rows have more cells than the header (row {number}); extra cells kept as column_<n>"
                    if not any(w.startswith("some rows have more cells") for w in warnings):
                        warnings.append(note)
        yield number, known, custom


@dataclass
class _Source:
    rows: Iterator[Row]
    header: list[str]
    known: dict[int, str]
    format: dict[str, str]
    warnings: list[str]  # filled while the rows are read, too


@contextmanager
def _csv_source(file: IO[bytes]) -> Iterator[_Source]:
    """Open a CSV upload as a _Source.

    Raises Invalid for an empty file, a bad header, no profile URL column,
    NUL bytes outside UTF-16 or a header and data with different
    delimiters; a malformed row while reading raises Invalid naming the row.
    """
    encoding, note = _detect_encoding(file)
    warnings = [note] if note else []
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=encoding, errors="reachly_latin1", newline="")
    try:
        first_line = text.readline()
        header_line_number = 1
        sep = _SEP_LINE.fullmatch(first_line.lstrip("\ufeff"))
        if sep:  # Excel's "sep=;" line names the delimiter; Excel does not show it as a row
            first_line = text.readline()
            header_line_number = 2
        if not first_line.strip():
            raise Invalid("the file is empty (expected a header line, then one lead per line)", field="file")
        delimiter = sep[1] if sep else _detect_delimiter(first_line)
        sample = list(itertools.islice(text, _SNIFF_LINES))
        if not sep:
            _check_delimiter(first_line, delimiter, sample, warnings)
        csv.field_size_limit(1 << 20)
        # itertools.chain, not a generator: closing it must not close `text`.
        lines = _Lines(itertools.chain([first_line], sample, text), header_line_number)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise Invalid(f"the header line is not valid CSV: {exc}", field="file") from None
        known_cols, custom_cols = map_header(header, warnings)
        if "profile_url" not in known_cols.values():
            raise Invalid(
                "no profile URL column; name one of: profile_url, linkedin_url, url"
                f" (found: {', '.join(h.strip() for h in header[:20])})",
                field="file",
            )
        row_like = _row_like(delimiter, len(header))
        try:
            yield _Source(
                _csv_rows(reader, lines, known_cols, custom_cols, row_like, warnings),
                header,
                known_cols,
                {"encoding": encoding, "delimiter": delimiter},
                warnings,
            )
        except csv.Error as exc:
            raise Invalid(f"row {reader.line_num}: not valid CSV ({exc})", field="file") from None
    finally:
        text.detach()


def lead_import_csv(*, campaign: Campaign, file: IO[bytes]) -> ImportResult:
    """Import a CSV file (a binary, seekable file object) into `campaign`.

    Returns the ImportResult: counts, row errors, the `format` read
    (encoding, delimiter) and `warnings` for every guess or renamed column.
    Raises Invalid (field "file") for a file that cannot be read as leads,
    TooManyRows, or Conflict.
    """
    with _csv_source(file) as source:
        result = ImportResult(format=source.format, warnings=source.warnings)
        _load(campaign, source.rows, result)
        return result


@dataclass
class ImportPreview:
    """What importing a file would do, computed without writing anything."""

    result: ImportResult  # `created`: the leads an import would create now
    columns: list[dict[str, str]]  # [{"header", "field"}]; field "" = kept as a custom field
    sample: list[dict[str, Any]]  # the first rows: {"row", "values": {field: text}, "custom": n, "error"}


def lead_import_preview(*, campaign: Campaign, file: IO[bytes], sample: int = 10) -> ImportPreview:
    """A dry run of lead_import_csv: the detected format, warnings and
    columns, the first `sample` rows as they would be read, and every row
    error (same rules, same duplicate check against the campaign's leads),
    without writing. The file is read once; the caller seeks it back to
    import. Raises what lead_import_csv raises (but Conflict)."""
    with _csv_source(file) as source:
        result = ImportResult(format=source.format, warnings=source.warnings)
        first: list[Row] = []

        def tap(rows: Iterable[Row]) -> Iterator[Row]:
            for item in rows:
                if len(first) < sample:
                    first.append(item)
                yield item

        existing = set(Lead.objects.filter(campaign=campaign).values_list("profile_url", flat=True))
        for _row in _checked(tap(source.rows), result, existing, campaign_networks(campaign)):
            result.created += 1
        header, known_cols = source.header, source.known
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
                "values": {name: str(known.get(name) or "").strip() for name in FIELDS}
                if isinstance(known, dict)
                else dict.fromkeys(FIELDS, ""),
                "custom": sum(1 for v in custom.values() if str(v or "").strip()),
                "error": errors.get(number, ""),
            }
            for number, known, custom in first
        ],
    )


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def _json_rows(rows: list[Any], result: ImportResult) -> Iterator[Row]:
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
