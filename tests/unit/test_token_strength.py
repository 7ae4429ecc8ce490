"""Strength rules for admin-entered SCIM tokens: each rule refuses with its own name."""

import secrets

import pytest

from fluid_scim.services.token_strength import check_token_strength

STRONG = "Zq7!pR2#vL9@kW4$mN8%tB3^hJ6&cX1*"


def test_a_strong_token_passes():
    assert check_token_strength(STRONG) is None
    assert check_token_strength(secrets.token_urlsafe(32) + "A1-") is None


@pytest.mark.parametrize(
    ("token", "rule", "phrase"),
    [
        ("Zq7!pR2#vL9@kW4$", "min_length", "at least 32 characters long; it has 16"),
        ("Zq7!pR2#" * 65, "max_length", "at most 512 characters"),
        (STRONG[:-1] + " ", "charset", "only visible ASCII"),
        (STRONG[:-1] + "é", "charset", "only visible ASCII"),
        ("abcdefghijkmnopqrstuvwxyzqwertyuiop", "character_classes", "it has 1"),
        ("aB1aB1aB1aB1aB1aB1aB1aB1aB1aB1aB1aB1", "distinct_characters", "at least 12 different characters"),
        ("Zq7!pR2#vL9@kW4$mN8%tB3^hJ6&cXXXXX1", "repeated_characters", "repeats 'X' more than 4 times"),
        ("Zq7!pR2#vL9@kW4$mN8%tB3^hJ6&abcdefg", "sequence", "sequence"),
        ("Zq7!pR2#vL9@kW4$Zq7!pR2#vL9@kW4$", "repeated_pattern", "16-character pattern repeated"),
        ("Zq7!pR2#vL9@kW4$mN8%tB3^Password1", "common_word", "'password'"),
    ],
)
def test_each_rule_names_itself(token, rule, phrase):
    problem = check_token_strength(token)
    assert problem is not None
    assert problem.rule == rule
    assert phrase in problem.message
