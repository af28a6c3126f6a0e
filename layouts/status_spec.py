"""The status page from its spec twin, status.yaml: panel serve layouts/status_spec.py"""

from pathlib import Path

from dashkit.layouts import serve_spec

serve_spec(Path(__file__).with_name("status.yaml"))
