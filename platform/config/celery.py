"""The Celery app. Without REDIS_URL tasks run eagerly in the caller (see settings).

Workers log through Django's LOGGING (JSON in production; CELERY_WORKER_HIJACK_ROOT_LOGGER is
off), and a task's log lines carry the request id of the HTTP request that enqueued it (sent as a
message header), or the task id when nothing enqueued it from a request (beat, the shell).
"""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("xuewen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["service_records.review", "service_records.assessment"])  # tasks of app sub-packages

REQUEST_ID_HEADER = "xuewen_request_id"
_request_id_tokens: dict = {}


@before_task_publish.connect
def _send_request_id(headers=None, **kwargs) -> None:
    from common.request_id import request_id_var

    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def _bind_request_id(task_id=None, task=None, **kwargs) -> None:
    from common.request_id import new_request_id, request_id_var

    if request_id_var.get() != "-":
        return  # run eagerly inside a request: keep that request's id
    incoming = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    _request_id_tokens[task_id] = request_id_var.set(new_request_id(incoming or task_id))


@task_postrun.connect
def _unbind_request_id(task_id=None, **kwargs) -> None:
    from common.request_id import request_id_var

    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
