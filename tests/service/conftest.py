from ..calling.conftest import people  # noqa: F401  (the fixture, for floods aimed at real agents)
