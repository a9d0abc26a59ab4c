"""surveys: a row per survey asked (for the satisfaction report) and a conversation's
surveys as its JSON shows them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('surveys', sa.JSON(), nullable=False, server_default='[]'))
    op.create_table(
        'surveys',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('conversation_id', sa.String(64), nullable=False, index=True),
        sa.Column('contact_id', sa.String(64), nullable=False, index=True),
        sa.Column('kind', sa.String(8), nullable=False),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('language', sa.String(8), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('queue', sa.String(64), nullable=False),
        sa.Column('agent', sa.String(64), nullable=True),
        sa.Column('sla', sa.String(16), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('low', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivery', sa.String(16), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('surveys')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('surveys')
