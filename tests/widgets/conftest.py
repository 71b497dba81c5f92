from ..calling.conftest import people  # noqa: F401  (signed-in people on a real service)
