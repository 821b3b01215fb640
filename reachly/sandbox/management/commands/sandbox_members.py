"""Create sandbox members for a demo or a manual try-out.

    manage.py sandbox_members --count 30 --prefix lead
    manage.py sandbox_members --count 2 --prefix sender --password s3cret

Prints each member's handle and profile URL (idempotent: re-running updates).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from reachly.sandbox import services


class Command(BaseCommand):
    help = "Create (or update) deterministic sandbox members."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=10)
        parser.add_argument("--prefix", default="member")
        parser.add_argument("--password", default=None, help="Members can sign in with it (sender accounts).")
        parser.add_argument("--accept-after", type=float, default=None, help="Seconds before they accept invitations.")
        parser.add_argument("--base-url", default=None, help="Default: REACHLY_SANDBOX_URL.")

    def handle(self, *args, count, prefix, password, accept_after, base_url, **options):
        knobs = {"accept_after_seconds": accept_after} if accept_after is not None else {}
        for member in services.members_seed(count, prefix=prefix, password=password, **knobs):
            self.stdout.write(f"{member.handle}\t{member.name}\t{services.profile_url(member, base_url)}")
