"""guest passes for couriers and visitors (guest_passes, their gates and uses), visitors' entry requests
at gates, residents' correction requests

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "entry_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_entry_requests_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_entry_requests_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_entry_requests_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_requests")),
    )
    with op.batch_alter_table("entry_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_requests_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entry_requests_gate_id"), ["gate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entry_requests_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "correction_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_correction_requests_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_correction_requests_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_correction_requests_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_requests")),
    )
    with op.batch_alter_table("correction_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_correction_requests_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_correction_requests_person_id"), ["person_id"], unique=False)

    op.create_table(
        "guest_passes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("host_person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("share_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_guest_passes_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_guest_passes_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["host_person_id"],
            ["people.id"],
            name=op.f("fk_guest_passes_host_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_passes")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_guest_passes_credential_id")),
    )
    with op.batch_alter_table("guest_passes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guest_passes_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guest_passes_host_person_id"), ["host_person_id"], unique=False)

    op.create_table(
        "guest_pass_gates",
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_guest_pass_gates_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pass_id"],
            ["guest_passes.id"],
            name=op.f("fk_guest_pass_gates_pass_id_guest_passes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pass_id", "gate_id", name=op.f("pk_guest_pass_gates")),
    )
    with op.batch_alter_table("guest_pass_gates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guest_pass_gates_gate_id"), ["gate_id"], unique=False)

    op.create_table(
        "guest_pass_uses",
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_guest_pass_uses_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pass_id"],
            ["guest_passes.id"],
            name=op.f("fk_guest_pass_uses_pass_id_guest_passes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pass_id", "gate_id", name=op.f("pk_guest_pass_uses")),
    )


def downgrade() -> None:

    op.drop_table("guest_pass_uses")
    with op.batch_alter_table("guest_pass_gates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guest_pass_gates_gate_id"))

    op.drop_table("guest_pass_gates")
    with op.batch_alter_table("guest_passes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guest_passes_host_person_id"))
        batch_op.drop_index(batch_op.f("ix_guest_passes_community_id"))

    op.drop_table("guest_passes")
    with op.batch_alter_table("correction_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_correction_requests_person_id"))
        batch_op.drop_index(batch_op.f("ix_correction_requests_community_id"))

    op.drop_table("correction_requests")
    with op.batch_alter_table("entry_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_requests_unit_id"))
        batch_op.drop_index(batch_op.f("ix_entry_requests_gate_id"))
        batch_op.drop_index(batch_op.f("ix_entry_requests_community_id"))

    op.drop_table("entry_requests")
