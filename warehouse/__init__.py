"""The warehouse as a user sees it: its tables, the compression report, a SQL shell, DuckDB's extensions."""
