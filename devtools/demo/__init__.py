"""`manage.py demo` and `manage.py seed_demo`: the demo data, jobs and process stack."""
