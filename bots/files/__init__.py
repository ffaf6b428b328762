"""Keying by file: target systems (基幹系) that take a batch import file instead of screens.

:mod:`bots.files.layout` describes the file (a YAML per system under ``bots/files/layouts/``) and
turns a record into its bytes; :mod:`bots.files.target` drops the file and waits for the importer's
answer, exactly once (search-before-create, as the screen bots do).
"""
