"""The layout rules of DEVELOPERS.md: platform/ is a source root, never a package."""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_stdlib_platform_module_is_not_shadowed():
    import platform

    assert Path(platform.__file__).parent != ROOT / "platform"
    assert callable(platform.python_version)
    assert not (ROOT / "platform" / "__init__.py").exists()
    import uuid  # uuid imports platform on some versions; it must keep working

    assert uuid.uuid4()


def _first_party_top_level() -> set[str]:
    names = set()
    for root in (ROOT, ROOT / "platform"):
        for child in root.iterdir():
            if child.is_dir() and (child / "__init__.py").exists():
                names.add(child.name)
            elif child.suffix == ".py" and root == ROOT:
                names.add(child.stem)
    return names


def test_no_first_party_package_is_named_like_a_stdlib_module():
    names = _first_party_top_level()
    assert {"config", "accounts", "courses", "live"} <= names
    clashes = names & set(sys.stdlib_module_names)
    assert not clashes, f"first-party modules shadow the standard library: {clashes}"


def test_every_app_is_importable_from_its_source_root():
    for app in ["config", "accounts", "regions", "studios", "service_records", "common", "notifications",
                "courses", "live", "qa", "question_bank", "search"]:
        module = importlib.import_module(app)
        assert Path(module.__file__).resolve().is_relative_to(ROOT)
