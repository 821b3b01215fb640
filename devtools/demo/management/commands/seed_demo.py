from django.core.management.base import BaseCommand

from devtools.demo.data import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenants, users, sender accounts and campaign."

    def handle(self, *args, **options):
        data = seed()
        self.stdout.write(
            f"tenants {data.acme.slug} (agency) and {data.globex.slug} (pro); users alice, bob and admin (staff),"
            f" password {DEMO_PASSWORD!r}"
        )
