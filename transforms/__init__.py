"""Python used by the dbt project's Python models (on `sys.path` via `module_paths` in profiles.yml)."""
