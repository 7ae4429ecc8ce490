"""prepared.native_sql: psycopg's placeholders turned into PostgreSQL's own once, for statements run on a RawCursor."""

from fluid_scim.repositories.prepared import native_sql


def test_each_name_gets_one_number_in_the_order_first_met() -> None:
    sql = "SELECT %(b)s WHERE organisation_id = %(a)s::UUID AND manager_ref IN (%(b)s, %(c)s)"
    assert native_sql(sql) == ("SELECT $1 WHERE organisation_id = $2::UUID AND manager_ref IN ($1, $3)", ("b", "a", "c"))


def test_an_escaped_percent_becomes_one_percent() -> None:
    converted = native_sql("SELECT x FROM t WHERE y LIKE 'a%%' AND z = %(z)s")
    assert converted == ("SELECT x FROM t WHERE y LIKE 'a%' AND z = $1", ("z",))


def test_any_other_percent_sequence_keeps_psycopgs_placeholders() -> None:
    assert native_sql("SELECT %s") is None
    assert native_sql("SELECT %(a)b") is None
    assert native_sql("SELECT 1") == ("SELECT 1", ())
