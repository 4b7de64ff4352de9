"""The same Alembic history on PostgreSQL: it builds exactly the tables the models describe,
unwinds to nothing and builds them again."""

from tests.backend.test_migrations import check_history


async def test_upgrade_matches_models_and_downgrade_unwinds(postgres_url: str) -> None:
    await check_history(postgres_url)
