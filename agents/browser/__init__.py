"""Browser agents: a per-process Chromium pool, site modules (all selectors
of one network in one module), and the playbooks (outreach, research)."""
