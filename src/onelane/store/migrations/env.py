"""Alembic environment: runs on the connection onelane hands it (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

from onelane.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # called from the alembic command line
    from onelane.config import db_url
    from onelane.store.db import Database

    engine = Database(context.config.get_main_option("sqlalchemy.url") or db_url()).engine
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
