from django.core.management.base import BaseCommand, CommandError

from reachly.tenants.services import TenantError, tenant_create


class Command(BaseCommand):
    help = "Create a tenant on a plan (free, pro, agency, enterprise)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--plan", default="free")
        parser.add_argument("--name", default="")
        parser.add_argument("--timezone", default="UTC")

    def handle(self, *args, slug, plan, name, timezone, **options):
        try:
            tenant = tenant_create(slug=slug, name=name, plan=plan, timezone_name=timezone)
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created tenant {tenant.slug} (id {tenant.id}) on plan {tenant.plan.code}")
