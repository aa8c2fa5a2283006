"""The service event kinds the platform records out of the box (more can be added as data).
Migration 0003 installs them; ``ensure_default_kinds`` puts back any that are missing (tests that
flush the database, a fresh database created without migrations)."""

DEFAULT_KINDS = [
    ("lecture_delivered", "讲座授课", "count", "A lecture given (名师大讲堂)."),
    ("live_minutes", "直播时长", "minutes", "Minutes spent live as lecturer or assistant."),
    ("answer_given", "答疑解答", "count", "An answer given on the answer desk."),
    ("answer_accepted", "解答被采纳", "count", "An answer the student accepted."),
    ("duty_minutes", "值班时长", "minutes", "Minutes on answer-desk duty."),
    ("question_authored", "命题", "count", "A question written for the question bank."),
    ("question_reviewed", "审题", "count", "A question reviewed for the question bank."),
    ("studio_activity", "工作室活动", "count", "A studio activity with an approved report."),
    ("research_lesson", "研究课", "count", "An open research lesson (每学期至少一次)."),
    ("member_report", "成员汇报", "count", "A member's report to the studio host (每年至少两次)."),
    ("outreach_session", "送教下乡", "count", "An outreach session in a county (名师送教)."),
    ("trainee_mentoring", "学员指导", "count", "Mentoring of a studio trainee."),
    ("resource_published", "资源发布", "count", "A teaching resource approved and published."),
]


def ensure_default_kinds(kind_model=None) -> None:
    if kind_model is None:
        from service_records.models import ServiceEventKind as kind_model
    present = set(kind_model.objects.values_list("code", flat=True))
    for code, name, unit, description in DEFAULT_KINDS:
        if code not in present:
            kind_model.objects.get_or_create(
                code=code, defaults={"name": name, "unit": unit, "description": description})
