"""Python the dbt project runs: what its Python models call (on `sys.path` via `module_paths` in
profiles.yml), and its dbt-duckdb plugins (`transforms.plugins`)."""
