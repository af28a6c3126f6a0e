"""A compact dark monitor for many workers: panel serve layouts/compact.py"""

from pathlib import Path

from dashkit.layouts import serve_spec

serve_spec(Path(__file__).with_name("compact.yaml"))
