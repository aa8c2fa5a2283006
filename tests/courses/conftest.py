import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded covers and resources go to a temporary folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
