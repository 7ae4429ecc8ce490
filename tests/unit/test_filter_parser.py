"""Parser, renderer and limits of fluid_scim.filters (RFC 7644 §3.4.2.2, §3.5.2)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluid_scim.filters import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    FilterTooComplex,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_filter,
    parse_path,
    render,
)
from tests.support.urns import ENTERPRISE_URN, FLUID_URN, USER_URN


def p(attr: str, sub_attr: str | None = None, schema: str | None = None) -> AttrPath:
    return AttrPath(schema, attr, sub_attr)


def eq(path: AttrPath | ValuePath, value: object) -> Compare:
    return Compare(path, "eq", value)  # type: ignore[arg-type]


A, B, C = eq(p("a"), 1), eq(p("b"), 2), eq(p("c"), 3)
WORK = eq(p("type"), "work")

# The example filters listed in RFC 7644 §3.4.2.2, in order.
RFC_EXAMPLES: list[tuple[str, Filter]] = [
    ('userName eq "bjensen"', eq(p("userName"), "bjensen")),
    ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
    ('userName sw "J"', Compare(p("userName"), "sw", "J")),
    (f'{USER_URN}:userName sw "J"', Compare(p("userName", schema=USER_URN), "sw", "J")),
    ("title pr", Present(p("title"))),
    *[
        (f'meta.lastModified {op} "2011-05-13T04:42:34Z"', Compare(p("meta", "lastModified"), op, "2011-05-13T04:42:34Z"))
        for op in ("gt", "ge", "lt", "le")
    ],
    ('title pr and userType eq "Employee"', And(Present(p("title")), eq(p("userType"), "Employee"))),
    ('title pr or userType eq "Intern"', Or(Present(p("title")), eq(p("userType"), "Intern"))),
    (f'schemas eq "{ENTERPRISE_URN}"', eq(p("schemas"), ENTERPRISE_URN)),
    (
        'userType eq "Employee" and (emails co "example.com" or\n  emails.value co "example.org")',
        And(
            eq(p("userType"), "Employee"),
            Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org")),
        ),
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or\n  emails.value co "example.org")',
        And(
            Compare(p("userType"), "ne", "Employee"),
            Not(Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org"))),
        ),
    ),
    ('userType eq "Employee" and (emails.type eq "work")', And(eq(p("userType"), "Employee"), eq(p("emails", "type"), "work"))),
    (
        'userType eq "Employee" and emails[type eq "work" and\n  value co "@example.com"]',
        And(eq(p("userType"), "Employee"), ValuePath(p("emails"), And(WORK, Compare(p("value"), "co", "@example.com")))),
    ),
    (
        'emails[type eq "work" and value co "@example.com"] or\n  ims[type eq "xmpp" and value co "@foo.com"]',
        Or(
            ValuePath(p("emails"), And(WORK, Compare(p("value"), "co", "@example.com"))),
            ValuePath(p("ims"), And(eq(p("type"), "xmpp"), Compare(p("value"), "co", "@foo.com"))),
        ),
    ),
]

PARSE_CASES: list[tuple[str, Filter]] = [
    # precedence: not > and > or, all left-associative
    ("a eq 1 or b eq 2 and c eq 3", Or(A, And(B, C))),
    ("a eq 1 and b eq 2 or c eq 3", Or(And(A, B), C)),
    ("a eq 1 or b eq 2 or c eq 3", Or(Or(A, B), C)),
    ("a eq 1 and b eq 2 and c eq 3", And(And(A, B), C)),
    ("(a eq 1 or b eq 2) and c eq 3", And(Or(A, B), C)),
    ("a eq 1 or (b eq 2 or c eq 3)", Or(A, Or(B, C))),
    ("not (a eq 1) and b eq 2", And(Not(A), B)),
    ("not(a eq 1)", Not(A)),
    ("not (not (a eq 1))", Not(Not(A))),
    ("((a eq 1))", A),
    ("  a eq 1\t", A),
    # case-insensitive keywords, operators and literals; attribute case kept
    ("a EQ 1 OR b Eq 2 AnD c eQ 3", Or(A, And(B, C))),
    ("NOT (UserName PR)", Not(Present(p("UserName")))),
    ("x eq TRUE or x eq False or x eq NULL", Or(Or(eq(p("x"), True), eq(p("x"), False)), eq(p("x"), None))),
    # schema-qualified paths: split at the last colon, then at the dot
    (f'{ENTERPRISE_URN}:employeeNumber eq "701984"', eq(p("employeeNumber", schema=ENTERPRISE_URN), "701984")),
    (f'{USER_URN}:name.givenName eq "Barbara"', eq(p("name", "givenName", USER_URN), "Barbara")),
    (f'{ENTERPRISE_URN}:manager.value eq "26118915"', eq(p("manager", "value", ENTERPRISE_URN), "26118915")),
    (f"{FLUID_URN}:accessGranted eq true", eq(p("accessGranted", schema=FLUID_URN), True)),
    ("URN:x:y:attr pr", Present(p("attr", schema="URN:x:y"))),
    # value paths
    ('emails[type eq "work"]', ValuePath(p("emails"), WORK)),
    ('emails [type eq "work"]', ValuePath(p("emails"), WORK)),
    (
        'emails[not (type eq "work") or (primary eq true and value pr)]',
        ValuePath(p("emails"), Or(Not(WORK), And(eq(p("primary"), True), Present(p("value"))))),
    ),
    (f'{ENTERPRISE_URN}:manager[value eq "1"]', ValuePath(p("manager", schema=ENTERPRISE_URN), eq(p("value"), "1"))),
    # Entra: value path with a trailing sub-attribute, compared or tested
    ('emails[type eq "work"].value eq "user@contoso.com"', eq(ValuePath(p("emails"), WORK, "value"), "user@contoso.com")),
    ('emails[type eq "work"].value pr', Present(ValuePath(p("emails"), WORK, "value"))),
    ('roles[primary eq "True"]', ValuePath(p("roles"), eq(p("primary"), "True"))),
    # strings: every JSON escape of a character a value may hold (\b and \f: see ERRORS), raw unicode
    (r'x eq "q\"b\\s\/bn\nr\rt\t"', eq(p("x"), 'q"b\\s/bn\nr\rt\t')),
    (r'x eq "\u00e9\u00C9 \ud83d\ude00"', eq(p("x"), "éÉ 😀")),
    ('x eq "Ünïcødé 😀 ( ) [ ] and or"', eq(p("x"), "Ünïcødé 😀 ( ) [ ] and or")),
    ('x eq ""', eq(p("x"), "")),
    # numbers: JSON syntax, int stays int
    ("x eq 0", eq(p("x"), 0)),
    ("x eq -1", eq(p("x"), -1)),
    ("x eq 1.5e3", eq(p("x"), 1500.0)),
    ("x eq 2.50", eq(p("x"), 2.5)),
    ("x eq -0.5E-2", eq(p("x"), -0.005)),
    ("x gt 9223372036854775807", Compare(p("x"), "gt", 9223372036854775807)),  # integers: signed 64 bits
    ("x gt -9223372036854775808", Compare(p("x"), "gt", -9223372036854775808)),
    # names with digits, '-', '_' and '$ref'
    ('members.$ref eq "x" and x-1_y pr', And(eq(p("members", "$ref"), "x"), Present(p("x-1_y")))),
    # tolerated: no space before a string or after ')'
    ('a eq"x"and(b pr)', And(eq(p("a"), "x"), Present(p("b")))),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES + PARSE_CASES)
def test_parse(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize("op", sorted(COMPARE_OPS))
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.title])
def test_every_operator(op: str, spelling: object) -> None:
    text = f'userName {spelling(op)} "x"'  # type: ignore[operator]
    assert parse_filter(text) == Compare(p("userName"), op, "x")


def test_compare_equality_distinguishes_value_types() -> None:
    assert parse_filter("x eq 1") != parse_filter("x eq true")
    assert parse_filter("x eq 1") != parse_filter("x eq 1.0")
    assert parse_filter("x eq 1.0") == parse_filter("x eq 1.0")
    assert len({parse_filter("x eq 1"), parse_filter("x eq true")}) == 2


def test_bare_values_only_with_flag() -> None:
    with pytest.raises(FilterError, match=r"expected a value after 'eq' at position 14, found 'jyoung'"):
        parse_filter("externalId eq jyoung")
    bare = {"allow_bare_values": True}
    assert parse_filter("externalId eq jyoung", **bare) == eq(p("externalId"), "jyoung")
    assert parse_filter("x eq a@b.com and y eq 12ab", **bare) == And(eq(p("x"), "a@b.com"), eq(p("y"), "12ab"))
    # keywords and literals keep their meaning
    assert parse_filter("x eq true", **bare) == eq(p("x"), True)
    assert parse_filter("x eq 12", **bare) == eq(p("x"), 12)
    with pytest.raises(FilterError, match="expected a value after 'eq'"):
        parse_filter("x eq and", **bare)


PATCH_PATHS: list[tuple[str, PatchPath]] = [
    ("name.familyName", PatchPath(p("name", "familyName"))),
    ("members", PatchPath(p("members"))),
    ('members[value eq "2819c223"]', PatchPath(p("members"), eq(p("value"), "2819c223"))),
    ('emails[type eq "work"].value', PatchPath(p("emails"), WORK, "value")),
    (f"{ENTERPRISE_URN}:manager", PatchPath(p("manager", schema=ENTERPRISE_URN))),
    (f"{ENTERPRISE_URN}:manager.value", PatchPath(p("manager", "value", ENTERPRISE_URN))),
    ('addresses[type eq "work"].streetAddress', PatchPath(p("addresses"), WORK, "streetAddress")),
    ('members[value eq "a" or value eq "b"]', PatchPath(p("members"), Or(eq(p("value"), "a"), eq(p("value"), "b")))),
]


@pytest.mark.parametrize(("text", "expected"), PATCH_PATHS)
def test_parse_path(text: str, expected: PatchPath) -> None:
    assert parse_path(text) == expected
    assert parse_path(render(expected)) == expected


@pytest.mark.parametrize(
    ("text", "phrase", "position"),
    [
        ("", "path is empty", 0),
        ("emails[type eq", "expected a value after 'eq' at position 14, found end of path", 14),
        ("emails[type eq 1]x", "expected end of path at position 17, found 'x'", 17),
        ("name.givenName[x pr]", "must follow a multi-valued attribute", 14),
        ("emails[type eq 1].", "expected a sub-attribute name after '.' at position 18", 18),
        ("emails pr", "expected end of path at position 7, found 'pr'", 7),
    ],
)
def test_parse_path_errors(text: str, phrase: str, position: int) -> None:
    with pytest.raises(FilterError) as info:
        parse_path(text)
    assert phrase in str(info.value)
    assert info.value.position == position


ERRORS: list[tuple[str, str, int | None]] = [
    ("", "filter is empty", 0),
    ("  \t ", "filter is empty", 0),
    ("userName foo", "expected a comparison operator after 'userName' at position 9, found 'foo'", 9),
    ('userName eqq "x"', "unknown operator 'eqq' at position 9", 9),
    ('userName equals "x"', "unknown operator 'equals' at position 9", 9),
    ("userName", "expected a comparison operator after 'userName' at position 8, found end of filter", 8),
    ('userName eq "abc', "unterminated string starting at position 12", 12),
    ('userName eq "abc\\', "unterminated string starting at position 12", 12),
    ("not a pr", "'not' must be followed by '(' at position 4, found 'a'", 4),
    ("not", "'not' must be followed by '(' at position 3, found end of filter", 3),
    ("userName eq", "expected a value after 'eq' at position 11, found end of filter", 11),
    ("userName eq )", "expected a value after 'eq' at position 12, found ')'", 12),
    ('a eq "x" b eq "y"', "expected 'and', 'or' or end of filter at position 9, found 'b'", 9),
    ("a pr)", "unmatched ')' at position 4", 4),
    ("a pr]", "unmatched ']' at position 4", 4),
    ("(a pr", "expected 'and', 'or' or ')' at position 5 to close the '(' at position 0", 5),
    ("(a pr]", "found ']'", 5),
    ('emails[type eq "w"', "expected 'and', 'or' or ']' at position 18 to close the '[' at position 6", 18),
    ("emails[a[b pr]]", "value filters cannot be nested: unexpected '[' at position 8", 8),
    ("a pr and", "expected an attribute name, '(' or 'not' at position 8, found end of filter", 8),
    ("a pr or or b pr", "expected an attribute name, '(' or 'not' at position 8, found 'or'", 8),
    ("()", "expected an attribute name, '(' or 'not' at position 1, found ')'", 1),
    ('"x" eq a', "expected an attribute name, '(' or 'not' at position 0", 0),
    ("1 eq 1", "expected an attribute name at position 0, found '1'", 0),
    ("a..b eq 1", "invalid attribute path 'a..b' at position 0", 0),
    ("a.b.c eq 1", "invalid attribute path 'a.b.c' at position 0", 0),
    ("a:b eq 1", "invalid attribute path 'a:b' at position 0", 0),
    ("urn:x eq 1", "invalid schema URN 'urn' in attribute path at position 0", 0),
    ("urn:a::b eq 1", "invalid schema URN 'urn:a:' in attribute path at position 0", 0),
    ("urn:a:b:.c eq 1", "invalid attribute path", 0),
    ('emails[type eq "w"]. eq 1', "expected a sub-attribute name after '.' at position 20", 20),
    ('emails[type eq "w"].value', "expected a comparison operator after 'emails[type eq \"w\"].value'", 25),
    ('emails[type eq "w"] eq "x"', "expected 'and', 'or' or end of filter at position 20, found 'eq'", 20),
    ("x eq 01", "invalid number '01' at position 5", 5),
    ("x eq 1.", "invalid number '1.' at position 5", 5),
    ("x eq -", "invalid number '-' at position 5", 5),
    ("x eq 1e999", "number '1e999' at position 5 is out of range", 5),
    ("x gt 12345678901234567890", "number '12345678901234567890' at position 5 is out of range", 5),
    ("x gt -9223372036854775809", "number '-9223372036854775809' at position 5 is out of range", 5),
    ("x eq tru", "expected a value after 'eq' at position 5, found 'tru'; string values must be in double", 5),
    ('x eq "a\\x"', "invalid escape '\\x' at position 7", 7),
    ('x eq "\\u12"', "invalid unicode escape at position 6", 6),
    ('x eq "\\ud83d"', "unpaired surrogate '\\ud83d' at position 6", 6),
    ('x eq "\\ude00"', "unpaired surrogate '\\ude00' at position 6", 6),
    ('x eq "\\ud83d\\u0041"', "unpaired surrogate '\\ud83d' at position 6", 6),
    ('x eq "a\nb"', "control character U+000A at position 7 must be escaped", 7),
    ('x eq "\ud800"', "unpaired surrogate U+D800 at position 6", 6),
    # Literals hold only what a value may hold (fluid_scim.text): no NUL, no other control but TAB, LF, CR.
    ('x eq "a\\u0000"', "the string at position 5 holds the control character U+0000 (NUL)", 5),
    ('x eq "\\b"', "the string at position 5 holds the control character U+0008", 5),
    ('x eq "\x7f"', "the string at position 5 holds the control character U+007F (DEL)", 5),
]


@pytest.mark.parametrize(("text", "phrase", "position"), ERRORS)
def test_errors(text: str, phrase: str, position: int | None) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    assert phrase in str(info.value)
    assert info.value.position == position
    assert type(info.value) is FilterError


def test_error_survives_pickling() -> None:
    error = FilterError("boom at position 3", 3)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (type(copy), str(copy), copy.position) == (FilterError, "boom at position 3", 3)


def chain(count: int, word: str = "or") -> str:
    return f" {word} ".join(f"a eq {i}" for i in range(count))


def test_limits_length() -> None:
    with pytest.raises(FilterTooComplex, match="5000 characters long; at most 4096"):
        parse_filter("a" * 5000)
    assert parse_filter("x pr", max_length=4) == Present(p("x"))
    with pytest.raises(FilterTooComplex):
        parse_filter("x pr ", max_length=4)
    with pytest.raises(FilterTooComplex):
        parse_path("a" * 5000)


@pytest.mark.parametrize(
    ("fits", "too_deep"),
    [
        ("(" * 32 + "a pr" + ")" * 32, "(" * 33 + "a pr" + ")" * 33),
        ("not (" * 32 + "a pr" + ")" * 32, "not (" * 33 + "a pr" + ")" * 33),
        (chain(33), chain(34)),
        (chain(33, "and"), chain(34, "and")),
        ("(" * 31 + "e[a pr]" + ")" * 31, "(" * 32 + "e[a pr]" + ")" * 32),
        ("e[" + "(" * 31 + "a pr" + ")" * 31 + "]", "e[" + "(" * 32 + "a pr" + ")" * 32 + "]"),
    ],
)
def test_limits_depth(fits: str, too_deep: str) -> None:
    parse_filter(fits)
    with pytest.raises(FilterTooComplex, match="nested too deeply") as info:
        parse_filter(too_deep)
    assert info.value.position is not None


def test_limits_depth_is_configurable() -> None:
    assert parse_filter("((a pr))", max_depth=2) == Present(p("a"))
    with pytest.raises(FilterTooComplex):
        parse_filter("((a pr))", max_depth=1)
    assert parse_filter("a pr", max_depth=0) == Present(p("a"))
    with pytest.raises(ValueError, match="max_depth"):
        parse_filter("a pr", max_depth=10_000)


NESTED = ["(" * 100_000, "not (" * 5000, "(" * 100_000 + "a pr" + ")" * 100_000, "a[" + "(" * 100_000]


@pytest.mark.parametrize("text", [*NESTED, "[" * 100_000, "a[" * 50_000, "not " * 50_000])
def test_deep_input_never_recurses_too_far(text: str) -> None:
    for max_length in (4096, 10**7):
        with pytest.raises(FilterError):
            parse_filter(text, max_length=max_length)
        with pytest.raises(FilterError):
            parse_path(text, max_length=max_length)


@pytest.mark.parametrize("text", NESTED)
def test_deep_input_is_too_complex(text: str) -> None:
    with pytest.raises(FilterTooComplex, match="nested too deeply"):
        parse_filter(text, max_length=10**7, max_depth=100)


def test_limits_nodes() -> None:
    parse_filter(chain(20), max_nodes=39)  # 20 comparisons + 19 'or'
    with pytest.raises(FilterTooComplex, match="at most 38 comparisons"):
        parse_filter(chain(20), max_nodes=38)
    flat = " or ".join(f"(a eq {i} and b pr)" for i in range(100))
    with pytest.raises(FilterTooComplex, match="too many expressions"):
        parse_filter(flat, max_depth=100)


# -- property tests -------------------------------------------------------------

TOKENS = [
    *'a emails name.givenName urn: not and or pr eq EQ co gt ( ) [ ] . "x" " \\ \\u00 true null 1 -1.5e3 01 jyoung'.split(),
    f"{ENTERPRISE_URN}:manager.value",
    " ",
    "\t",
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet='()[]"\\ .:-_aenoqrtu1$\\', max_size=60),
        st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join),
        st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
    ),
    st.booleans(),
)
def test_any_text_parses_or_raises_filter_error(text: str, bare: bool) -> None:
    for parse in (parse_filter, parse_path):
        try:
            result = parse(text, allow_bare_values=bare)
        except FilterError as error:
            assert str(error)
            assert error.position is None or 0 <= error.position <= len(text)
        else:
            assert isinstance(result, Filter | PatchPath)


RESERVED_NAMES = {"and", "or", "not"}
names = st.from_regex(r"[A-Za-z$][A-Za-z0-9_$\-]{0,6}", fullmatch=True).filter(lambda name: name.lower() not in RESERVED_NAMES)
schemas = st.sampled_from([None, ENTERPRISE_URN, USER_URN, FLUID_URN, "URN:Ex:a.b-c:9"])
attr_paths = st.builds(AttrPath, schemas, names, st.none() | names)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t\n\r"), max_size=12),
)
ops = st.sampled_from(sorted(COMPARE_OPS))


def logical(leaves: st.SearchStrategy[Filter], max_leaves: int) -> st.SearchStrategy[Filter]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(And, children, children),
            st.builds(Or, children, children),
            st.builds(Not, children),
        ),
        max_leaves=max_leaves,
    )


simple_leaves = st.one_of(st.builds(Compare, attr_paths, ops, values), st.builds(Present, attr_paths))
plain_attrs = st.builds(AttrPath, schemas, names, st.none())
inner_filters = logical(simple_leaves, max_leaves=4)
value_paths = st.builds(ValuePath, plain_attrs, inner_filters, st.none())
sub_value_paths = st.builds(ValuePath, plain_attrs, inner_filters, names)
filters = logical(
    st.one_of(
        simple_leaves,
        value_paths,
        st.builds(Compare, sub_value_paths, ops, values),
        st.builds(Present, sub_value_paths),
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(filters)
def test_render_round_trips(node: Filter) -> None:
    text = render(node)
    assert parse_filter(text, max_depth=100, max_nodes=10_000) == node
    assert render(parse_filter(text, max_depth=100, max_nodes=10_000)) == text


@settings(max_examples=100, deadline=None)
@given(
    st.builds(PatchPath, plain_attrs, st.none() | inner_filters, st.none())
    | st.builds(PatchPath, plain_attrs, inner_filters, names)
)
def test_render_path_round_trips(path: PatchPath) -> None:
    assert parse_path(render(path), max_depth=100, max_nodes=10_000) == path


def test_render_is_canonical() -> None:
    text = 'A Eq 1 OR ( b pr AND NOT( c Gt "x\\u00e9\\n") ) or (d pr or e pr)'
    assert render(parse_filter(text)) == 'A eq 1 or b pr and not (c gt "xé\\n") or (d pr or e pr)'
    assert render(p("m", "v", ENTERPRISE_URN)) == f"{ENTERPRISE_URN}:m.v"
    assert render(eq(p("x"), 1e16)) == "x eq 1e+16"
