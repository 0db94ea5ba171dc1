"""The warehouse as a user works with it (`python -m warehouse …`): its tables, the report page, the SQL
shell, the scheduler, the Spark build, DuckDB's extensions."""
