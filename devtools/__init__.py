"""Development tooling, outside the runtime package `reachly`: starting
Reachly's processes as children (processes.py, for tests, benchmarks and the
demo) and the demo (demo/). Not shipped in the image (.dockerignore)."""
