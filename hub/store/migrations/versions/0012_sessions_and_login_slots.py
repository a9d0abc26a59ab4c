"""sessions that end (a token generation and a disabled flag per user, signed-out sessions)
and the login limiter's slots, shared by every web process

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:50:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('token_generation', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'signed_out_sessions',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('username', sa.String(64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        'login_slots',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('scope', sa.String(8), nullable=False),
        sa.Column('key', sa.String(200), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_login_slots_scope_key_taken_at', 'login_slots', ['scope', 'key', 'taken_at'])
    op.create_index('ix_login_slots_taken_at', 'login_slots', ['taken_at'])


def downgrade() -> None:
    op.drop_table('login_slots')
    op.drop_table('signed_out_sessions')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('disabled')
        batch.drop_column('token_generation')
