"""canned_responses: agents' saved replies with placeholders; users.away: an agent's chosen
availability, kept so a reload or a reconnecting socket does not put her back online

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 22:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_responses',
    sa.Column('shortcut', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shortcut')
    )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('away', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('away')
    op.drop_table('canned_responses')
