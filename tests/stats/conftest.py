from ..calling.conftest import people  # noqa: F401  (the same signed-in people fixture)
