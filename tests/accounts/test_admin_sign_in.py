"""The browser pages around the admin: signing in at /accounts/login/ (LOGIN_URL) and the forced
change of an initial password, which must clear the flag so the user is not sent back forever."""

from django.test import Client

from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "Blue-Lantern-42"  # noqa: S105


def test_the_sign_in_page_renders_and_signs_in(world):
    client = Client()
    page = client.get("/accounts/login/?next=/admin/")
    assert page.status_code == 200
    assert "学问通" in page.content.decode() and 'name="password"' in page.content.decode()
    response = client.post("/accounts/login/?next=/admin/",
                           {"username": world.county_admin_a.user.username, "password": PASSWORD,
                            "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_password_is_refused_on_the_sign_in_page(world):
    response = Client().post("/accounts/login/", {"username": world.county_admin_a.user.username,
                                                  "password": "not-the-password"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_an_initial_password_must_be_changed_before_the_admin_and_only_once(world):
    admin_user = world.school_admin_a.user
    admin_user.must_change_password = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)

    response = client.get("/admin/accounts/studentprofile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/password_change/")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'id="must-change"' in page.content.decode()

    response = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
    admin_user.refresh_from_db()
    assert not admin_user.must_change_password and admin_user.check_password(NEW_PASSWORD)
    done = client.get("/accounts/password_change/done/")
    assert done.status_code == 200 and "/admin/" in done.content.decode()
    assert client.get("/admin/accounts/studentprofile/").status_code == 200  # signed in still


def test_a_student_with_an_initial_password_sees_the_change_page_without_admin_links(db):
    student = UserFactory(must_change_password=True)
    client = Client()
    client.force_login(student)
    page = client.get("/accounts/password_change/")
    assert page.status_code == 200
    assert 'href="/admin/"' not in page.content.decode()
    response = client.post("/accounts/password_change/", {
        "old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 200 and response.context["form"].errors
    student.refresh_from_db()
    assert student.must_change_password


def test_the_admins_change_password_link_goes_through_the_platforms_page(world):
    client = Client()
    client.force_login(world.county_admin_a.user)
    page = client.get("/admin/").content.decode()
    assert 'href="/accounts/password_change/"' in page and "/admin/password_change/" not in page
