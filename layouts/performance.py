"""A wide task stream over progress, for performance work: panel serve layouts/performance.py"""

from pathlib import Path

from dashkit.layouts import serve_spec

serve_spec(Path(__file__).with_name("performance.yaml"))
