"""gate fleet: devices, events, commands, gate and credential settings (existing rows get defaults)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_commands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_gate_commands_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_gate_commands_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_commands")),
    )
    with op.batch_alter_table("gate_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_commands_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_commands_gate_id"), ["gate_id"], unique=False)

    op.create_table(
        "gate_devices",
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_hash", sa.String(length=64), nullable=True),
        sa.Column("enrolment_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mqtt_username", sa.String(length=120), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("provisioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_version", sa.Integer(), nullable=False),
        sa.Column("built_from", sa.Integer(), nullable=False),
        sa.Column("synced", sa.LargeBinary(), nullable=True),
        sa.Column("cache_version", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_gate_devices_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_gate_devices_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("gate_id", name=op.f("pk_gate_devices")),
        sa.UniqueConstraint("mqtt_username", name=op.f("uq_gate_devices_mqtt_username")),
    )
    with op.batch_alter_table("gate_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_devices_community_id"), ["community_id"], unique=False)

    op.create_table(
        "gate_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_gate_events_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_gate_events_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_gate_events_event_id")),
    )
    with op.batch_alter_table("gate_events", schema=None) as batch_op:
        batch_op.create_index("ix_gate_events_community_at", ["community_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_events_gate_id"), ["gate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_events_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("register_version", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duress", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_mode", sa.String(length=16), nullable=False, server_default="any")
        )
        batch_op.add_column(sa.Column("methods", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("auth_rules", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("unlock_seconds", sa.Float(), nullable=False, server_default="5"))
        batch_op.add_column(sa.Column("held_open_seconds", sa.Float(), nullable=False, server_default="30"))
        batch_op.add_column(
            sa.Column("fail_mode", sa.String(length=8), nullable=False, server_default="safe")
        )


def downgrade() -> None:
    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.drop_column("fail_mode")
        batch_op.drop_column("held_open_seconds")
        batch_op.drop_column("unlock_seconds")
        batch_op.drop_column("methods")
        batch_op.drop_column("auth_rules")
        batch_op.drop_column("auth_mode")

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("duress")

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("register_version")

    with op.batch_alter_table("gate_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_events_person_id"))
        batch_op.drop_index(batch_op.f("ix_gate_events_gate_id"))
        batch_op.drop_index("ix_gate_events_community_at")

    op.drop_table("gate_events")
    with op.batch_alter_table("gate_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_devices_community_id"))

    op.drop_table("gate_devices")
    with op.batch_alter_table("gate_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_commands_gate_id"))
        batch_op.drop_index(batch_op.f("ix_gate_commands_community_id"))

    op.drop_table("gate_commands")
