from tests.service_records.test_exports_jobs import *  # noqa

def test_xyzzy(world, ledger, client_for, media, eager, django_capture_on_commit_callbacks):
    client = client_for(world.city_admin.user)
    job = _start(client, django_capture_on_commit_callbacks, format="csv", **MARCH)
    d = client.get(f"{JOBS}{job['id']}/").json()
    print(d)
    r = client.get(d["download_url"])
    print(r.status_code, r.headers, body(r)[:300])
