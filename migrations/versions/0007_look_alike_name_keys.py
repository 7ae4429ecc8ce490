"""Uniqueness keys of userName and Group displayName ignore look-alike differences: format characters
(zero-width space, joiners, soft hyphen, BOM …) and white space at either end (fluid_scim.text.name_key).

Hand-written, data only: every stored key is recomputed. Two rows of one organisation that the new
key makes one name cannot be merged silently, so one keeps the key and the other is displaced:

* the row whose key does not change keeps it (its name was already the plain spelling); when neither
  is spelled plainly, the row created first keeps it;
* the other rows get a key no name can have (the new key, U+2060, the row's id): they keep their
  names and ids, are no longer found by ``userName eq`` / ``displayName eq``, and every change to them
  is refused with 409 (uniqueness) until an admin renames or deletes one of the two. Each displaced
  row is logged with its organisation and the row that kept the key.

Downgrade puts back the former keys (NFKC, lower-cased).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00

"""

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# The key as fluid_scim.text.name_key computes it, written out: a migration must not change when the code does.
MARK = "\u2060"  # WORD JOINER, a format character, so no name's key ever holds it
KEY_LENGTH = 255
ID_LENGTH = 36

# (table, name column, key column, what the name is called in the log)
TABLES = (("scim_user", "user_name", "user_name_key", "userName"), ("scim_group", "display_name", "display_name_key", "displayName"))


def new_key(name):
    visible = "".join(char for char in name if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFKC", visible).strip().lower()


def old_key(name):
    return unicodedata.normalize("NFKC", name).lower()


def displaced_key(key, row_id):
    return f"{key[: KEY_LENGTH - ID_LENGTH - 1]}{MARK}{row_id}"


def _table(name, name_column, key_column):
    return sa.table(
        name,
        sa.column("organisation_id", sa.Uuid()),
        sa.column("id", sa.String()),
        sa.column(name_column, sa.String()),
        sa.column(key_column, sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )


def _organisations(connection, table):
    return [row[0] for row in connection.execute(sa.select(table.c.organisation_id).distinct())]


def _rows(connection, table, organisation_id, name_column, key_column):
    query = (
        sa.select(table.c.id, table.c[name_column], table.c[key_column], table.c.created_at)
        .where(table.c.organisation_id == organisation_id)
        .order_by(table.c.created_at, table.c.id)
    )
    return list(connection.execute(query))


def plan_keys(rows):
    """{row id: its key under the new rule} for ``rows`` (id, name, stored key, created_at), oldest first,
    and [(displaced id, kept id)] for the rows that lost their key to a look-alike."""
    by_key = {}
    for row in rows:
        by_key.setdefault(new_key(row[1]), []).append(row)
    keys, displaced = {}, []
    for key, holders in by_key.items():
        plain = [row for row in holders if row[2] == key]
        keeper = plain[0] if plain else holders[0]  # rows come oldest first
        keys[keeper[0]] = key
        for row in holders:
            if row is not keeper:
                keys[row[0]] = displaced_key(key, row[0])
                displaced.append((row[0], keeper[0]))
    return keys, displaced


def _write(connection, table, organisation_id, key_column, rows, keys):
    """Set the changed keys in two steps (a placeholder first), so that no two rows ever hold one key."""
    changed = [(row[0], keys[row[0]]) for row in rows if row[2] != keys[row[0]]]
    where = sa.and_(table.c.organisation_id == organisation_id, table.c.id == sa.bindparam("row_id"))
    update = sa.update(table).where(where).values({key_column: sa.bindparam("key")})
    for batch in (
        [{"row_id": row_id, "key": f"{MARK}{MARK}{row_id}"} for row_id, _ in changed],
        [{"row_id": row_id, "key": key} for row_id, key in changed],
    ):
        if batch:
            connection.execute(update, batch)
    return len(changed)


def recompute_keys(connection):
    """Recompute every userName and Group displayName key under the new rule; returns the displaced rows
    as (table, organisation id, displaced id, kept id)."""
    report = []
    for table_name, name_column, key_column, label in TABLES:
        table = _table(table_name, name_column, key_column)
        changed = 0
        for organisation_id in _organisations(connection, table):
            rows = _rows(connection, table, organisation_id, name_column, key_column)
            keys, displaced = plan_keys(rows)
            changed += _write(connection, table, organisation_id, key_column, rows, keys)
            for row_id, kept_id in displaced:
                log.warning(
                    "organisation %s: %s %s has the same %s as %s once look-alike characters are ignored; it keeps its "
                    "%s but no longer its key: changes to it are refused (409) until one of the two is renamed or deleted",
                    organisation_id, table_name, row_id, label, kept_id, label,
                )
                report.append((table_name, organisation_id, row_id, kept_id))
        log.info("%s: %d %s keys recomputed, %d displaced", table_name, changed, label, sum(1 for r in report if r[0] == table_name))
    return report


def restore_keys(connection):
    """The former keys (NFKC, lower-cased), in two steps as :func:`_write` sets them."""
    for table_name, name_column, key_column, _ in TABLES:
        table = _table(table_name, name_column, key_column)
        for organisation_id in _organisations(connection, table):
            rows = _rows(connection, table, organisation_id, name_column, key_column)
            _write(connection, table, organisation_id, key_column, rows, {row[0]: old_key(row[1]) for row in rows})


def upgrade():
    recompute_keys(op.get_bind())


def downgrade():
    restore_keys(op.get_bind())
