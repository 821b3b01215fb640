"""`manage.py rotate_encryption`: re-encrypt every stored secret with the
first key of REACHLY_ENCRYPTION_KEY.

Key rotation (reachly/core/crypto.py, MultiFernet): put the new key first
and keep the old ones after it (`new,old`), deploy, run this command, then
drop the old keys. Until it has run, old ciphertexts still need the old
keys. It walks every model field that is an EncryptedJSONField (sender
account passwords and sessions, webhook secrets), in primary-key batches,
each batch in one transaction; values are decrypted with any key and
written back encrypted with the first. A value no key can decrypt is
reported by model and primary key and left as it is (exit status 1).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from reachly.core import crypto
from reachly.core.fields import EncryptedJSONField


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of REACHLY_ENCRYPTION_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be re-encrypted")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        failures: list[str] = []
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedJSONField)]
            if not fields:
                continue
            label = model._meta.label
            done = 0
            last_pk: Any = None
            while True:
                page = model._default_manager.order_by("pk")
                if last_pk is not None:
                    page = page.filter(pk__gt=last_pk)
                pks = list(page.values_list("pk", flat=True)[:batch_size])
                if not pks:
                    break
                last_pk = pks[-1]
                with transaction.atomic():
                    for pk in pks:
                        values = self._decrypted(model, pk, fields, failures)
                        if values is None:
                            continue
                        changed = {name: value for name, value in values.items() if value is not None}
                        if changed and not dry_run:
                            model._default_manager.filter(pk=pk).update(**changed)
                        done += bool(changed)
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(f"{label}: {verb} {done} rows ({', '.join(fields)})")
        if failures:
            raise CommandError(
                f"{len(failures)} values could not be decrypted with any key: {', '.join(failures[:20])}"
            )

    def _decrypted(self, model: Any, pk: Any, fields: list[str], failures: list[str]) -> dict[str, Any] | None:
        try:
            row = model._default_manager.filter(pk=pk).values(*fields).get()
        except crypto.InvalidToken:
            failures.append(f"{model._meta.label}#{pk}")
            return None
        return dict(row)
