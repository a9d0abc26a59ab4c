"""opted-out addresses, kept by dispatch (its own consumer group since the worker reshape;
before, a faust table held them)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'opt_outs',
        sa.Column('address_key', sa.String(320), primary_key=True),
        sa.Column('since', sa.String(40), nullable=False),
        sa.Column('keyword', sa.String(80), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('opt_outs')
