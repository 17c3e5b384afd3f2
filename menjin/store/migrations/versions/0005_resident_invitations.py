"""resident invitations: one-time codes for a resident's first sign-in (selector, argon2 hash, lockout)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("selector", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_resident_invitations_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_resident_invitations_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_resident_invitations_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_invitations")),
        sa.UniqueConstraint("selector", name=op.f("uq_resident_invitations_selector")),
    )
    with op.batch_alter_table("resident_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resident_invitations_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resident_invitations_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("resident_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_invitations_person_id"))
        batch_op.drop_index(batch_op.f("ix_resident_invitations_community_id"))

    op.drop_table("resident_invitations")
