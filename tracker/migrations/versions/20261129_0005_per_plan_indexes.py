"""per-plan indexes: queries about one plan cost the same whatever the number of plans

Measured on a database of 1,000 generated plans (benchmarks/generate.py): the
index on budget_line.year alone made the planner read every plan's lines of a
year (about 200 ms a query, 0.1 ms without it, through the unique key that
starts with action_id); an action's past statuses walked every plan's audit
entries (ix_audit_entry_entity); « the indicators of an action » scanned
indicator_action.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_line_year")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entry_action_field", ["action_id", "entity", "field", "at"], unique=False
        )
    with op.batch_alter_table("indicator_action", schema=None) as batch_op:
        batch_op.create_index("ix_indicator_action_action_id", ["action_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("indicator_action", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_action_action_id")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_action_field")
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.create_index("ix_budget_line_year", ["year"], unique=False)
