"""Management commands an operator runs by hand."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reachly.tenants.models import ApiToken, Tenant
from reachly.tenants.services import api_token_authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


def test_create_tenant_puts_the_tenant_on_its_plan():
    out = StringIO()
    call_command("create_tenant", "initech", "--plan", "pro", stdout=out)
    assert Tenant.objects.get(slug="initech").plan.code == "pro"
    assert "initech" in out.getvalue()


def test_create_tenant_names_what_is_wrong():
    with pytest.raises(CommandError, match="plan: unknown plan 'gold'; one of: free, pro, agency, enterprise"):
        call_command("create_tenant", "initech", "--plan", "gold")
    call_command("create_tenant", "initech", stdout=StringIO())
    with pytest.raises(CommandError, match="slug: a tenant 'initech' already exists"):
        call_command("create_tenant", "initech")


def test_create_api_token_prints_the_key_once_and_stores_only_its_hash():
    call_command("create_tenant", "initech", stdout=StringIO())
    out = StringIO()
    call_command("create_api_token", "initech", "--name", "zapier", stdout=out, stderr=StringIO())
    key = out.getvalue().strip()
    token = ApiToken.objects.get(name="zapier")
    assert key.startswith("rly_") and key not in token.key_hash
    assert api_token_authenticate(key) == token
    assert api_token_authenticate(key + "x") is None
    with pytest.raises(CommandError, match="tenant: no tenant with slug 'nope'"):
        call_command("create_api_token", "nope")


def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"acme", "globex"}
