"""The main job, on the embedded defaults (see devtools/demo/stack.py)."""

import signal
import time

from django.core.management.base import BaseCommand

from devtools.demo import stack as demo
from devtools.demo.data import DEMO_PASSWORD, seed
from devtools.demo.jobs import DEMO_ENV, start_demo_jobs


class Command(BaseCommand):
    help = "Start Reachly's processes, run the demo jobs with live progress, print the URLs."

    def add_arguments(self, parser):
        parser.add_argument("--exit", action="store_true", help="Stop everything when the jobs end.")

    def handle(self, *args, exit=False, **options):
        stack = demo.Stack(demo.demo_dir() / "logs", extra_env=DEMO_ENV)
        data = seed(sandbox_url=f"{stack.base_url}/sandbox/")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            stack.start()
            demo.print_urls(stack, f"alice / bob / admin, password {DEMO_PASSWORD}")
            jobs, describe, summarise = start_demo_jobs(data, stack)
            demo.follow(jobs, describe=describe)
            summarise(jobs)
            demo.print_urls(stack, f"alice / bob / admin, password {DEMO_PASSWORD}")
            if not exit:
                demo.console.print("\n[bold]Reachly is running.[/] Press Ctrl-C to stop.")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            demo.console.print("[dim]stopping…[/]")
            stack.stop()
