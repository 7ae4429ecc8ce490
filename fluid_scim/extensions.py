"""Extension instances, unbound until :func:`app.create_app` calls their ``init_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from fluid_scim.database import ReadingAwareSession

# Constraint names are fixed before the first migration so that Alembic can drop and alter them
# by name on every backend (SQLite batch mode needs them too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(
    model_class=Base,
    session_options={
        # Objects stay readable after the commit that ends each use case, without a reload per attribute.
        "expire_on_commit": False,
        # While a request only reads, its session (if it needs one) runs on the request's own connection
        # (repositories.connections), and the session's commit commits on that connection.
        "class_": ReadingAwareSession,
        "join_transaction_mode": "control_fully",
    },
)
# Batch mode lets Alembic alter SQLite tables by rebuilding them. A rebuild drops SQLite's expression
# indexes (Alembic cannot reflect them): review every generated migration, and prefer plain
# op.add_column / op.create_index on tables that carry such indexes (scim_user, scim_user_value).
migrate = Migrate(compare_type=True, render_as_batch=True)

# The base class of every model. Flask-SQLAlchemy builds ``db.Model`` at run time as a subclass of
# ``Base`` (adding its bind and name mixins), which a type checker cannot follow: it reads ``Base``.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
