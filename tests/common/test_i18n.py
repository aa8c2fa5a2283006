"""Chinese by default, English on request; the committed catalogue is complete and compiled."""

import gettext
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation.template import templatize

from tests.common.admin_support import admin_client

LOCALE = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


def _wrong_login(client, **headers):
    return client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong-password"},
                       content_type="application/json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("headers,message", [
    ({}, "用户名或密码错误。"),
    ({"HTTP_ACCEPT_LANGUAGE": "zh-hans"}, "用户名或密码错误。"),
    ({"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}, "用户名或密码错误。"),
    ({"HTTP_ACCEPT_LANGUAGE": "en"}, "Wrong username or password."),
    ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, "Wrong username or password."),
])
def test_api_errors_speak_the_requested_language_chinese_by_default(headers, message):
    response = _wrong_login(Client(), **headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    english = "en" in headers.get("HTTP_ACCEPT_LANGUAGE", "")
    assert response["Content-Language"] == ("en" if english else "zh-hans")


@pytest.mark.django_db
def test_errors_outside_views_and_field_errors_are_translated_too():
    assert Client().get("/api/v1/no-such-thing/").json()["error"]["message"] == "没有此资源。"
    english = Client().get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"] == "No such resource."
    response = Client().post("/api/v1/auth/token/", {"username": "x"}, content_type="application/json")
    assert response.json()["error"]["message"] == "以下字段无效：password"


def test_admin_pages_are_chinese_by_default_and_english_on_request(world):
    client = admin_client(world.county_admin_a.user)
    page = client.get("/admin/accounts/teacherprofile/").content.decode()
    assert "教师" in page and "工号" in page
    page = client.get("/admin/accounts/teacherprofile/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Teachers" in page and "Staff number" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})  # the language cookie
    page = client.get("/admin/accounts/teacherprofile/").content.decode()
    assert "Teachers" in page


# --- the catalogue ----------------------------------------------------------------------------


def _unquote(text: str) -> str:
    return text[1:-1].encode("raw_unicode_escape").decode("unicode_escape")


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (or {n: msgstr}), flags and the
    source files they come from (this project uses no message contexts)."""
    entries, current, key = [], {}, None

    def flush():
        if current.get("msgid"):
            entries.append(dict(current))
        current.clear()

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            flush()
        elif line.startswith("#:"):
            current.setdefault("sources", []).extend(ref.rsplit(":", 1)[0] for ref in line[2:].split())
        elif line.startswith("#,"):
            current.setdefault("flags", []).extend(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if isinstance(key, int):
                current["msgstr"][key] += _unquote(line)
            else:
                current[key] += _unquote(line)
        else:
            name, _, value = line.partition(" ")
            if name.startswith("msgstr["):
                key = int(name[7:-1])
                current.setdefault("msgstr", {})[key] = _unquote(value)
            else:
                key = name
                current[key] = _unquote(value)
    return entries


def _translations(entry) -> list[str]:
    text = entry.get("msgstr", "")
    return list(text.values()) if isinstance(text, dict) else [text]


# Translated: accounts, regions, common, studios, settings, templates, the live rooms (live/, its
# page included), app names and every model's names, choices and help texts. Strings of the other
# parts (service records, imports) carry drafted translations marked fuzzy: not compiled, so those
# parts speak English until their owners review the drafts (and their tests, which assert
# English) and drop the fuzzy flag.
OWN = re.compile(r"^(platform/(common|config|regions|studios|templates)/|platform/accounts/[^/]+\.py$|live/"
                 r"|([a-z_]+/)+apps\.py$|platform/[a-z_]+/models(\.py$|/))")


def test_our_strings_are_translated_and_every_translation_keeps_its_placeholders():
    entries = read_po(LOCALE / "django.po")
    own = [e for e in entries if any(OWN.match(src) for src in e.get("sources", []))]
    assert len(own) > 300
    for entry in own:
        assert "fuzzy" not in entry.get("flags", []), entry["msgid"]
        assert all(_translations(entry)), f"untranslated: {entry['msgid']!r}"
    for entry in entries:
        source = entry.get("msgid_plural", entry["msgid"])
        for text in _translations(entry):
            if text:
                placeholders = sorted(PLACEHOLDER.findall(source))
                assert sorted(PLACEHOLDER.findall(text)) == placeholders, entry["msgid"]


def test_the_compiled_catalogue_matches_the_po_file():
    with open(LOCALE / "django.mo", "rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    compiled = {key: value for key, value in catalog.items() if key != ""}
    expected = {}
    for entry in read_po(LOCALE / "django.po"):
        if "fuzzy" in entry.get("flags", []) or not all(_translations(entry)):
            continue  # msgfmt leaves these out: gettext falls back to the English source
        if "msgid_plural" in entry:
            expected.update({(entry["msgid"], n): text for n, text in entry["msgstr"].items()})
        else:
            expected[entry["msgid"]] = entry["msgstr"]
    assert compiled == expected, "recompile the .mo: see platform/locale/README.md"


_KEYWORDS = ["gettext", "gettext_lazy", "gettext_noop", "_", "_lazy", "ngettext:1,2", "ngettext_lazy:1,2",
             "pgettext:1c,2", "pgettext_lazy:1c,2"]


def _extracted(sources: list[Path], templates: list[Path] = ()) -> set[str]:
    """The msgids xgettext finds in Python ``sources`` and in Django ``templates`` (read as
    makemessages reads them: templatize, then xgettext)."""
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR) as workdir:
        files = [str(path) for path in sources]
        for index, template in enumerate(templates):
            converted = Path(workdir) / f"template{index}.py"
            converted.write_text(templatize(template.read_text(encoding="utf-8"), origin=str(template)),
                                 encoding="utf-8")
            files.append(str(converted))
        result = subprocess.run(
            ["xgettext", "--language=Python", "--from-code=UTF-8", "--no-location", "--no-wrap", "-o", "-",
             *[f"--keyword={k}" for k in _KEYWORDS], *files],
            capture_output=True, text=True, check=True,
        )
        pot = Path(workdir) / "check.pot"
        pot.write_text(result.stdout, encoding="utf-8")
        return {entry["msgid"] for entry in read_po(pot)}


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_every_string_of_accounts_regions_and_common_is_in_the_catalogue():
    platform_dir = Path(settings.PLATFORM_DIR)
    # accounts/imports/ is left out: its strings are drafts still (fuzzy), see the README.
    sources = sorted(
        path for app in ("accounts", "regions", "common") for path in (platform_dir / app).rglob("*.py")
        if "migrations" not in path.parts and "imports" not in path.parts
    )
    wanted = _extracted(sources)
    catalogue = {entry["msgid"] for entry in read_po(LOCALE / "django.po")}
    assert wanted, "xgettext found no strings"
    missing = sorted(wanted - catalogue)
    assert not missing, f"run makemessages and translate (platform/locale/README.md): {missing}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_every_string_of_the_live_rooms_and_their_page_is_translated():
    live_dir = Path(settings.BASE_DIR) / "live"
    sources = sorted(path for path in live_dir.rglob("*.py") if "migrations" not in path.parts)
    templates = sorted((live_dir / "templates").rglob("*.html"))
    wanted = _extracted(sources, templates)
    assert {"Questions to the lecturer", "Connecting…", "No such quiz in this room."} <= wanted
    translated = {entry["msgid"] for entry in read_po(LOCALE / "django.po")
                  if all(_translations(entry)) and "fuzzy" not in entry.get("flags", [])}
    missing = sorted(wanted - translated)
    assert not missing, f"translate in platform/locale/zh_Hans/LC_MESSAGES/django.po: {missing}"
