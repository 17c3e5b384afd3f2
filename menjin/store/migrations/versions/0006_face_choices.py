"""face choices: a resident's recorded decline of face recognition (face_declines)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_declines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("given_by", sa.String(length=8), nullable=False),
        sa.Column("guardian_name", sa.String(length=60), nullable=True),
        sa.Column("guardian_relation", sa.String(length=20), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_declines_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_face_declines_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_declines")),
    )
    with op.batch_alter_table("face_declines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_declines_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_declines_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("face_declines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_declines_person_id"))
        batch_op.drop_index(batch_op.f("ix_face_declines_community_id"))

    op.drop_table("face_declines")
