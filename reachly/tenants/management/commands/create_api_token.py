from django.core.management.base import BaseCommand, CommandError

from reachly.tenants.models import Tenant
from reachly.tenants.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a tenant and print its key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant slug")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, tenant, name, **options):
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"tenant: no tenant with slug {tenant!r}") from None
        token, key = api_token_create(tenant=tenant_obj, name=name)
        self.stderr.write(f"token {token.name!r} for {tenant_obj.slug}; the key is shown only once:")
        self.stdout.write(key)
