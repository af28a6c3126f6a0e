"""Addresses written from a link template, as Dask's distributed.dashboard.link."""

import pytest

from dashkit.links import DEFAULT_LINK, link


def test_the_default_is_the_plain_address():
    assert link(DEFAULT_LINK, host="127.0.0.1", port=5006, page="status") == (
        "http://127.0.0.1:5006/status"
    )
    assert link(DEFAULT_LINK, "h", 1, "p", scheme="https") == "https://h:1/p"


def test_environment_variables_fill_fields():
    template = "https://hub.example.org/user/{USER}/proxy/{port}/{page}"
    assert link(template, "0.0.0.0", 8080, "fleet", environ={"USER": "ada"}) == (
        "https://hub.example.org/user/ada/proxy/8080/fleet"
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{scheme}://{HOST}:{port}", r"\{HOST\} is neither \{scheme\}, \{host\}"),
        ("{host.__class__}", r"\{host.__class__\} is not a field"),
        ("{}", r"\{\} is not a field"),
        ("{host", "expected '}'"),
    ],
)
def test_a_bad_template_is_a_clear_error(template, message):
    with pytest.raises(ValueError, match=message):
        link(template, "h", 1, "p", environ={})
