"""Demo assessment schemes and incentive rules, built from the seeds' duties.

- ``demo/wz-three-tier-2026.json``: Wenzhou's three-tier teacher scheme (seed 000: online service
  is a duty of three-tier teachers; seeds 003/004): answer-desk answers (an accepted answer counts
  double, one rated below 3 counts half), answer-desk duty of at least 120 minutes a month,
  lectures and live minutes, question authoring and review, studio activities, a research lesson
  at least once a term, member reports at least twice a year, outreach, trainee mentoring.
  Missing a duty: no awards that year and the grade drops one level (seed 004 art. 10).
  优秀 from 85 points, 合格 from 60.
- ``demo/ts-outreach-2026.json``: Taishun county's outreach studio scheme (seed 004: at least 5
  offline outreach activities), a two-level tree: schemes differ between regions.
- Incentive rules of Wenzhou (seed 003): a studio host 10,000 CNY and a member 5,000 CNY a year
  when excellent or qualified, nothing when unqualified; excellent and qualified teachers keep
  award eligibility and count for title review, unqualified ones do neither.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from regions.models import Region
from service_records.assessment.services import incentive_rules_seed, scheme_import, scheme_publish
from service_records.models import AssessmentScheme, IncentiveRule

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_SCHEMES = ["wz-three-tier-2026.json", "ts-outreach-2026.json"]
PASSING = ["excellent", "qualified"]

DEMO_RULES = {
    "WZ": [
        {"code": "studio-host-stipend", "name": "工作室主持人劳务补贴",
         "role": IncentiveRule.Role.STUDIO_HOST,
         "grades": PASSING, "stipend": Decimal("10000.00"), "awards_eligible": True,
         "title_review_eligible": True, "valid_from": datetime.date(2026, 1, 1)},
        {"code": "studio-member-stipend", "name": "工作室成员劳务补贴",
         "role": IncentiveRule.Role.STUDIO_MEMBER,
         "grades": PASSING, "stipend": Decimal("5000.00"), "awards_eligible": True,
         "title_review_eligible": True, "valid_from": datetime.date(2026, 1, 1)},
        {"code": "assessed-passing", "name": "考核合格及以上：可评优评先，计入职称评审",
         "role": IncentiveRule.Role.ANY_TEACHER, "grades": PASSING, "stipend": Decimal("0.00"),
         "awards_eligible": True, "title_review_eligible": True, "valid_from": datetime.date(2026, 1, 1)},
        {"code": "assessed-unqualified", "name": "考核不合格：不得评优评先，不计入职称评审",
         "role": IncentiveRule.Role.ANY_TEACHER, "grades": ["unqualified"], "stipend": Decimal("0.00"),
         "awards_eligible": False, "title_review_eligible": False, "valid_from": datetime.date(2026, 1, 1)},
    ],
}


def demo_scheme_documents() -> list[dict]:
    return [json.loads((DEMO_DIR / name).read_text(encoding="utf-8")) for name in DEMO_SCHEMES]


@transaction.atomic
def seed_demo_schemes() -> dict[str, int]:
    """Imports and publishes the demo schemes and creates the demo incentive rules, for the
    regions that exist (the demo city WZ and its county WZ-TS). Idempotent: a second call finds
    everything in place and changes nothing."""
    regions = set(Region.objects.values_list("code", flat=True))
    for doc in demo_scheme_documents():
        if doc["region"] not in regions:
            continue
        scheme = scheme_import(data=doc).scheme
        if scheme.status == AssessmentScheme.Status.DRAFT:
            scheme_publish(scheme=scheme)
    for code, rules in DEMO_RULES.items():
        region = Region.objects.filter(code=code).first()
        if region is not None:
            incentive_rules_seed(region=region, rules=rules)
    codes = [doc["code"] for doc in demo_scheme_documents()]
    return {
        "assessment_schemes": AssessmentScheme.objects.filter(code__in=codes,
                                                              status=AssessmentScheme.Status.PUBLISHED).count(),
        "incentive_rules": IncentiveRule.objects.filter(region__code__in=list(DEMO_RULES)).count(),
    }
