"""face recognition: consents, KEK epochs, wrapped data keys, sealed templates, deletion receipts

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_deletions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=False),
        sa.Column("kek_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_deletions_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_deletions")),
    )
    with op.batch_alter_table("face_deletions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_deletions_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_deletions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "face_keks",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_keks_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_face_keks")),
    )
    op.create_table(
        "face_deletion_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deletion_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("place", sa.String(length=80), nullable=False),
        sa.Column("place_zh", sa.String(length=80), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_deletion_places_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deletion_id"],
            ["face_deletions.id"],
            name=op.f("fk_face_deletion_places_deletion_id_face_deletions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_deletion_places")),
    )
    with op.batch_alter_table("face_deletion_places", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_face_deletion_places_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_face_deletion_places_deletion_id"), ["deletion_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_face_deletion_places_gate_id"), ["gate_id"], unique=False)

    op.create_table(
        "face_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("given_by", sa.String(length=8), nullable=False),
        sa.Column("guardian_name", sa.String(length=60), nullable=True),
        sa.Column("guardian_relation", sa.String(length=20), nullable=True),
        sa.Column("text_version", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_consents_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_face_consents_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_consents")),
    )
    with op.batch_alter_table("face_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_consents_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_consents_person_id"), ["person_id"], unique=False)

    op.create_table(
        "face_keys",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("kek_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_keys_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_face_keys_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_face_keys")),
    )
    with op.batch_alter_table("face_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_keys_community_id"), ["community_id"], unique=False)

    op.create_table(
        "face_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_face_templates_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credentials.id"], name=op.f("fk_face_templates_credential_id_credentials")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_face_templates_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_templates")),
        sa.UniqueConstraint("person_id", "kind", name=op.f("uq_face_templates_person_id_kind")),
    )
    with op.batch_alter_table("face_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_templates_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_templates_credential_id"), ["credential_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("face_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_templates_credential_id"))
        batch_op.drop_index(batch_op.f("ix_face_templates_community_id"))

    op.drop_table("face_templates")
    with op.batch_alter_table("face_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_keys_community_id"))

    op.drop_table("face_keys")
    with op.batch_alter_table("face_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_consents_person_id"))
        batch_op.drop_index(batch_op.f("ix_face_consents_community_id"))

    op.drop_table("face_consents")
    with op.batch_alter_table("face_deletion_places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_deletion_places_gate_id"))
        batch_op.drop_index(batch_op.f("ix_face_deletion_places_deletion_id"))
        batch_op.drop_index(batch_op.f("ix_face_deletion_places_community_id"))

    op.drop_table("face_deletion_places")
    op.drop_table("face_keks")
    with op.batch_alter_table("face_deletions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_deletions_person_id"))
        batch_op.drop_index(batch_op.f("ix_face_deletions_community_id"))

    op.drop_table("face_deletions")
