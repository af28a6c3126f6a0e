"""Several clusters on one page, a row each: panel serve layouts/fleet.py"""

from pathlib import Path

from dashkit.layouts import serve_spec

serve_spec(Path(__file__).with_name("fleet.yaml"))
