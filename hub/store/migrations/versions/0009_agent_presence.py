"""agent presence across web processes: a row per agent and web process holding her live
socket, good until seen_until (hub/web/presence.py); when a conversation became a complaint

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agent_presence',
        sa.Column('username', sa.String(64), primary_key=True),
        sa.Column('process', sa.String(32), primary_key=True),
        sa.Column('seen_until', sa.DateTime(timezone=True), nullable=False, index=True),
    )
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('complaint_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('complaint_at')
    op.drop_table('agent_presence')
