"""Demo studios; filled in once the studios app lands."""


def seed_demo_studios(*, rng) -> None:
    return None
