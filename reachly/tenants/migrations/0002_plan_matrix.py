"""Install the plan matrix (see reachly.tenants.plans)."""

from django.db import migrations


def create_plans(apps, schema_editor):
    from reachly.tenants import plans

    plans.install(apps.get_model("tenants", "Plan"), apps.get_model("tenants", "PlanAgent"))


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
