"""community notice contacts: data controller, contractor, maintenance, guard on duty, privacy contact

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (column, length): every gate notice (公示牌) names these; existing communities start empty
_COLUMNS = (
    ("data_controller", 120),
    ("contractor_name", 120),
    ("contractor_phone", 40),
    ("maintenance_phone", 40),
    ("guard_phone", 40),
    ("privacy_contact", 120),
)


def upgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        for name, length in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
