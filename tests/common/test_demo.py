from django.core.management import call_command

from accounts.models import AdministratorProfile, StudentProfile, TeacherProfile, User
from common.demo import DEMO_PASSWORD
from regions.models import Region


def _counts():
    return (Region.objects.count(), User.objects.count(), StudentProfile.objects.count(),
            TeacherProfile.objects.count(), AdministratorProfile.objects.count())


def test_seed_demo_builds_the_documented_world_once(db):
    call_command("seed_demo", verbosity=0)
    first = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == first  # idempotent
    assert Region.objects.filter(kind="county").count() == 3
    assert 45 <= TeacherProfile.objects.count() <= 60
    assert 450 <= StudentProfile.objects.count() <= 550
    assert set(AdministratorProfile.objects.values_list("level", flat=True)) == {
        "city", "county", "school"}
    # students see only grades their school teaches
    for profile in StudentProfile.objects.select_related("grade__stage", "school"):
        assert profile.grade.stage in profile.school.stages.all()


def test_documented_demo_logins_work(db, api_client):
    call_command("seed_demo", verbosity=0)
    for username in ["student001", "teacher001", "city_admin", "county_admin_lc",
                     "school_admin_330302002"]:
        response = api_client.post("/api/v1/auth/token/",
                                   {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 200, (username, response.json())
        assert response.json()["user"]["must_change_password"] is False
