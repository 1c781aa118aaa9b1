"""Suggested replies re-use other tickets' resolutions addressed to this requester and
signed by this agent; template variables are filled as plain text, gaps left visible."""

from __future__ import annotations

from loopwise.support.replies import fill, readdress


def test_a_reused_resolution_greets_this_requester_and_is_signed_by_this_agent() -> None:
    other = "Hi Yusuf, thanks for writing in.\n\nIt's fixed now.\n\nCheers,\nPriya"
    assert readdress(other, "Maria", "Ana") == (
        "Hi Maria, thanks for writing in.\n\nIt's fixed now.\n\nCheers,\nAna"
    )
    assert readdress(other, "", "").endswith("It's fixed now.\n\nCheers,")
    assert readdress("It's fixed now.", "Li", "Ana") == "Hi Li,\n\nIt's fixed now."


def test_template_variables_are_filled_as_text_and_unknown_ones_stay_visible() -> None:
    template = "Hi {{ first_name }}, your {{plan}} renews on {{ next_billing_date }}. {{ x }}"
    filled = fill(template, {"first_name": "Maria", "plan": "Pro", "next_billing_date": ""})
    assert filled == "Hi Maria, your Pro renews on {{ next_billing_date }}. {{ x }}"
    assert fill("{{ name }}", {"name": "{{ plan }} <b>"}) == "{{ plan }} <b>"
