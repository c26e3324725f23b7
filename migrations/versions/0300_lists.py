"""lists: UN list snapshots, their entries and change reports

Revision ID: 0300_lists
Revises: 0001
Create Date: 2026-11-25 17:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0300_lists'
down_revision = '0001'
branch_labels = ('lists',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('list_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('date_generated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('individuals', sa.Integer(), nullable=False),
    sa.Column('entities', sa.Integer(), nullable=False),
    sa.Column('regimes', JSON, nullable=False),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('raw_gz', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_snapshots')),
    sa.UniqueConstraint('sha256', name=op.f('uq_list_snapshots_sha256'))
    )
    with op.batch_alter_table('list_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_list_snapshots_generated', ['date_generated'], unique=False)

    op.create_table('list_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('dataid', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('regime', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['list_snapshots.id'], name=op.f('fk_list_entries_snapshot_id_list_snapshots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_entries')),
    sa.UniqueConstraint('snapshot_id', 'dataid', name='uq_list_entries_snapshot_dataid')
    )
    with op.batch_alter_table('list_entries', schema=None) as batch_op:
        batch_op.create_index('ix_list_entries_reference', ['reference'], unique=False)

    op.create_table('list_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('dataid', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('regime', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('fields', JSON, nullable=False),
    sa.ForeignKeyConstraint(['previous_id'], ['list_snapshots.id'], name=op.f('fk_list_changes_previous_id_list_snapshots')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['list_snapshots.id'], name=op.f('fk_list_changes_snapshot_id_list_snapshots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_changes'))
    )
    with op.batch_alter_table('list_changes', schema=None) as batch_op:
        batch_op.create_index('ix_list_changes_reference', ['reference', 'change'], unique=False)
        batch_op.create_index('ix_list_changes_snapshot', ['snapshot_id', 'change'], unique=False)


def downgrade() -> None:
    op.drop_table('list_changes')
    op.drop_table('list_entries')
    with op.batch_alter_table('list_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_list_snapshots_generated')
    op.drop_table('list_snapshots')
