"""Channel-layer group names for live events."""


def tenant(tenant_id: int) -> str:
    return f"tenant-{tenant_id}"


def job(job_id: int) -> str:
    return f"job-{job_id}"


def token(token_id: int) -> str:
    """Sockets opened with a ticket of this API token (closed on revocation)."""
    return f"token-{token_id}"


# Event types a tenant's dashboard receives (a job page receives everything).
TENANT_TYPES = frozenset({"job.status", "job.progress", "lead.status_changed"})
