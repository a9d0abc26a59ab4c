"""conversation context and SLA clocks; originals of inbound mail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('context', sa.JSON(), nullable=False, server_default='{}'))
        batch.add_column(sa.Column('sla', sa.JSON(), nullable=False, server_default='{}'))
    op.create_table('originals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('originals')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('sla')
        batch.drop_column('context')
