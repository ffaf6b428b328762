"""The pipeline steps as plain functions: intake, read, review decisions, keying.

Prefect flows in ``flows/`` call these as tasks; tests and the CLI can call them directly. Each step
reads its input from the store and writes its output to the store, so any step can be re-run.
"""
