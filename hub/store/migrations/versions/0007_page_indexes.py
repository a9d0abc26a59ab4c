"""indexes for the pages with 10,000 conversations: the filter counts group by status,
queue and channel; "mine" and agent loads filter by assignee; the response-time report and
the dashboard's complaints select by creation time (measured with bench/pages.py)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:30:00
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_conversations_created_at', 'conversations', ['created_at'])
    op.create_index('ix_conversations_status_queue_channel', 'conversations', ['status', 'queue', 'channel'])
    op.create_index('ix_conversations_assignee_status', 'conversations', ['assignee', 'status'])


def downgrade() -> None:
    op.drop_index('ix_conversations_assignee_status', table_name='conversations')
    op.drop_index('ix_conversations_status_queue_channel', table_name='conversations')
    op.drop_index('ix_conversations_created_at', table_name='conversations')
