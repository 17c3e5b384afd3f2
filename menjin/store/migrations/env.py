"""Alembic environment: menjin passes its engine in; there is no alembic.ini to keep in sync."""

from alembic import context

from menjin.store.tables import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
