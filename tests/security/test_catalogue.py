"""The catalogue of attacks in docs/security.md is the suite's own list."""

from scripts.attacks import catalogue, current, markdown


def test_every_attack_is_named_and_the_document_lists_them() -> None:
    """Stale documentation: docs/security.md lists exactly the attacks this suite performs."""
    for module, about, tests in catalogue():
        assert about, f"{module} has no docstring naming its surface"
        for name, doc in tests:
            assert doc, f"{module}::{name} needs a one-line docstring saying what attack it performs"
    assert current() == markdown().strip(), "run `python -m scripts.attacks --write`"
