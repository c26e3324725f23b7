"""vessel sightings: the index of the vessels each stored event names, back-filled (issue 13)

Revision ID: 1300_vessel_sightings
Revises: 0001
Create Date: 2026-12-02 06:30:00

Derived data (engine/vessels/tables.py): the upgrade back-fills it from the events already
stored, as ``sanctions vessels reindex`` rebuilds it, so an existing store keeps its vessel
history.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1300_vessel_sightings"
down_revision = "0001"
branch_labels = ("i13a",)
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "vessel_sightings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("imo", sa.String(length=16), nullable=True),
        sa.Column("mmsi", sa.String(length=16), nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("flag", sa.String(length=8), nullable=True),
        sa.Column("call_sign", sa.String(length=32), nullable=True),
        sa.Column("owner", sa.String(length=300), nullable=True),
        sa.Column("operator", sa.String(length=300), nullable=True),
        sa.Column("manager", sa.String(length=300), nullable=True),
        sa.Column("port_locode", sa.String(length=16), nullable=True),
        sa.Column("port_country", sa.String(length=8), nullable=True),
        sa.Column("other_imo", sa.String(length=16), nullable=True),
        sa.Column("other_mmsi", sa.String(length=16), nullable=True),
        sa.Column("other_name", sa.String(length=300), nullable=True),
        sa.Column("other_flag", sa.String(length=8), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.event_id"],
            name=op.f("fk_vessel_sightings_event_id_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vessel_sightings")),
        sa.UniqueConstraint("event_id", "seq", name="uq_vessel_sightings_event_seq"),
    )
    op.create_index("ix_vessel_sightings_imo_occurred", "vessel_sightings", ["imo", "occurred_at"])
    op.create_index(
        "ix_vessel_sightings_mmsi_occurred", "vessel_sightings", ["mmsi", "occurred_at"]
    )
    # back-fill from the events already stored (the same derivation as the live writes)
    from engine.vessels.index import reindex

    reindex(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_vessel_sightings_mmsi_occurred", table_name="vessel_sightings")
    op.drop_index("ix_vessel_sightings_imo_occurred", table_name="vessel_sightings")
    op.drop_table("vessel_sightings")
