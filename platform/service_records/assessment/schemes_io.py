"""The JSON document of an assessment scheme: export, parsing and validation.

Format ``xuewen.assessment-scheme/1`` (documented in docs/assessment.md)::

    {
      "format": "xuewen.assessment-scheme/1",
      "region": "WZ",                       # Region.code (city or county)
      "code": "wz-three-tier-2026",         # stable across versions
      "name": "温州市三层次名师在线服务考核方案（2026年度）",
      "version": 1,                         # optional on import: next free version
      "period": {"label": "2026年度", "start": "2026-01-01", "end": "2026-12-31"},
      "tiers": ["city-backbone", "city-famous"],   # TeacherTier codes; [] = every three-tier teacher
      "thresholds": {"excellent": "85.00", "qualified": "60.00"},
      "indicators": [                       # A-level nodes, in order
        {"code": "A1", "level": "A", "name": "答疑服务", "max_points": "40.00",
         "children": [ ... B-level nodes ... ]},
        ...
      ]
    }

A leaf node (no children) says how service counts::

    {"code": "C1", "level": "C", "name": "答疑解答", "max_points": null,
     "event_kinds": ["answer_given"], "credit_per_unit": "0.5000", "cap_per_period": "30.00",
     "weights": {"accepted": "2.00", "low_rating_below": "3.00", "low_rating": "0.50"},
     "duty": {"minimum": "60.00", "per": "month", "consequence": "no_awards_and_grade_down"}}

``duty`` is null for leaves that are not duties. Decimals are strings with the field's places;
export writes every key, so export → import → export gives the same document, byte for byte
(``document_dumps``). Import accepts the keys of a leaf on any node only to refuse them with a
field error (an indicator with children counts nothing itself).
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from service_records.models import AssessmentScheme, Indicator

FORMAT = "xuewen.assessment-scheme/1"
MAX_NODES = 500
LEVELS = ["A", "B", "C"]
LEAF_KEYS = ("event_kinds", "credit_per_unit", "cap_per_period", "weights", "duty")


def _dec(value: Decimal | None, places: int) -> str | None:
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


# --- export ---------------------------------------------------------------------------------

def _leaf_fields_are_default(node: Indicator, kinds: list[str]) -> bool:
    return (not kinds and node.credit_per_unit == 0 and node.cap_per_period is None
            and node.accepted_weight == 1 and node.low_rating_below is None
            and node.low_rating_weight == 1 and node.required_minimum is None
            and node.minimum_per == Indicator.MinimumPer.PERIOD
            and node.consequence == Indicator.Consequence.NONE)


def _node_document(node: Indicator, children_of: dict, kinds_of: dict) -> dict:
    children = children_of.get(node.pk, [])
    kinds = sorted(kinds_of.get(node.pk, []))
    doc = {"code": node.code, "level": node.level, "name": node.name,
           "max_points": _dec(node.max_points, 2)}
    if not children or not _leaf_fields_are_default(node, kinds):
        has_duty = (node.required_minimum is not None or node.consequence != Indicator.Consequence.NONE
                    or node.minimum_per != Indicator.MinimumPer.PERIOD)
        doc.update({
            "event_kinds": kinds,
            "credit_per_unit": _dec(node.credit_per_unit, 4),
            "cap_per_period": _dec(node.cap_per_period, 2),
            "weights": {"accepted": _dec(node.accepted_weight, 2),
                        "low_rating_below": _dec(node.low_rating_below, 2),
                        "low_rating": _dec(node.low_rating_weight, 2)},
            "duty": {"minimum": _dec(node.required_minimum, 2), "per": node.minimum_per,
                     "consequence": node.consequence} if has_duty else None,
        })
    if children:
        doc["children"] = [_node_document(child, children_of, kinds_of) for child in children]
    return doc


def scheme_indicator_tree(scheme: AssessmentScheme) -> list[dict]:
    """The scheme's indicators as nested documents, in order (three queries at most)."""
    nodes = list(scheme.indicators.order_by("order", "code"))
    kinds_of: dict[int, list[str]] = {}
    through = Indicator.event_kinds.through
    for indicator_id, code in through.objects.filter(indicator__scheme=scheme).values_list(
            "indicator_id", "serviceeventkind__code"):
        kinds_of.setdefault(indicator_id, []).append(code)
    children_of: dict[int | None, list[Indicator]] = {}
    for node in nodes:
        children_of.setdefault(node.parent_id, []).append(node)
    return [_node_document(root, children_of, kinds_of) for root in children_of.get(None, [])]


def scheme_to_document(scheme: AssessmentScheme) -> dict:
    """The scheme's definition as a JSON-ready document (no status, no ids)."""
    return {
        "format": FORMAT,
        "region": scheme.region.code,
        "code": scheme.code,
        "name": scheme.name,
        "version": scheme.version,
        "period": {"label": scheme.period_label, "start": scheme.period_start.isoformat(),
                   "end": scheme.period_end.isoformat()},
        "tiers": sorted(scheme.tiers.values_list("code", flat=True)),
        "thresholds": {"excellent": _dec(scheme.excellent_min, 2),
                       "qualified": _dec(scheme.qualified_min, 2)},
        "indicators": scheme_indicator_tree(scheme),
    }


def document_dumps(document: dict) -> str:
    """The canonical text of a document (what export writes)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# --- parsing (types) ------------------------------------------------------------------------

def _decimal(max_digits: int, places: int, **kw):
    return serializers.DecimalField(max_digits=max_digits, decimal_places=places, **kw)


class WeightsSerializer(serializers.Serializer):
    accepted = _decimal(5, 2, required=False, default=Decimal("1"), min_value=Decimal("0"))
    low_rating_below = _decimal(3, 2, required=False, allow_null=True, default=None,
                                min_value=Decimal("0"))
    low_rating = _decimal(5, 2, required=False, default=Decimal("1"), min_value=Decimal("0"))


class DutySerializer(serializers.Serializer):
    minimum = _decimal(10, 2, allow_null=True, min_value=Decimal("0"))
    per = serializers.ChoiceField(choices=Indicator.MinimumPer.choices,
                                  default=Indicator.MinimumPer.PERIOD)
    consequence = serializers.ChoiceField(choices=Indicator.Consequence.choices,
                                          default=Indicator.Consequence.NONE)


class IndicatorNodeSerializer(serializers.Serializer):
    """One node; ``children`` are validated recursively (depth at most 3: A, B, C)."""

    code = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=32)
    level = serializers.ChoiceField(choices=Indicator.Level.choices)
    name = serializers.CharField(max_length=128)
    max_points = _decimal(10, 2, required=False, allow_null=True, default=None,
                          min_value=Decimal("0.01"))
    event_kinds = serializers.ListField(child=serializers.SlugField(max_length=64), required=False,
                                        default=list, max_length=50)
    credit_per_unit = _decimal(10, 4, required=False, default=Decimal("0"), min_value=Decimal("0"))
    cap_per_period = _decimal(10, 2, required=False, allow_null=True, default=None,
                              min_value=Decimal("0"))
    weights = WeightsSerializer(required=False, default=None, allow_null=True)
    duty = DutySerializer(required=False, allow_null=True, default=None)
    children = serializers.ListField(child=serializers.DictField(), required=False, default=list,
                                     max_length=200)

    def __init__(self, *args, depth: int = 1, **kwargs):
        self.depth = depth
        super().__init__(*args, **kwargs)

    def validate_children(self, children):
        if not children:
            return []
        if self.depth >= len(LEVELS):
            raise serializers.ValidationError(
                gettext_lazy("A C-level indicator cannot have children (levels are A, B, C)."))
        nested = IndicatorNodeSerializer(data=children, many=True, depth=self.depth + 1)
        if not nested.is_valid():
            raise serializers.ValidationError(nested.errors)
        return nested.validated_data


class PeriodSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=32)
    start = serializers.DateField()
    end = serializers.DateField()


class ThresholdsSerializer(serializers.Serializer):
    excellent = _decimal(10, 2, min_value=Decimal("0"))
    qualified = _decimal(10, 2, min_value=Decimal("0"))


def _count_raw(nodes, depth: int = 0) -> int:
    """Nodes in an unparsed tree, stopping early: refuses huge documents before parsing them."""
    total = 0
    for node in nodes if isinstance(nodes, list) else []:
        total += 1
        if isinstance(node, dict) and depth < len(LEVELS):
            total += _count_raw(node.get("children"), depth + 1)
        if total > MAX_NODES:
            break
    return total


class SchemeDocumentSerializer(serializers.Serializer):
    """A scheme document (see the module docstring)."""

    format = serializers.ChoiceField(choices=[FORMAT], required=False, default=FORMAT)
    region = serializers.CharField(max_length=32)
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=128)
    version = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                       max_value=100000)
    period = PeriodSerializer()
    tiers = serializers.ListField(child=serializers.CharField(max_length=32), required=False,
                                  default=list, max_length=50)
    thresholds = ThresholdsSerializer()
    indicators = serializers.ListField(child=serializers.DictField(), max_length=200)

    def validate_indicators(self, indicators):
        if _count_raw(indicators) > MAX_NODES:
            raise serializers.ValidationError(
                gettext_lazy("A scheme has at most %(n)d indicators.") % {"n": MAX_NODES})
        nested = IndicatorNodeSerializer(data=indicators, many=True, depth=1)
        if not nested.is_valid():
            raise serializers.ValidationError(nested.errors)
        return nested.validated_data


def flatten_errors(detail, path: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"indicators[0].children[1].credit_per_unit": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        items = enumerate(detail)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {path or "non_field_errors": [str(m) for m in messages]}
    for key, value in items:
        here = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        if isinstance(value, dict | list) and value:
            out.update(flatten_errors(value, here))
    return out


# --- rules of a well-formed scheme -----------------------------------------------------------

def _walk(nodes: list[dict], path: str = "indicators"):
    for index, node in enumerate(nodes):
        here = f"{path}[{index}]"
        yield here, node
        yield from _walk(node.get("children") or [], f"{here}.children")


def _is_leaf_value_default(node: dict) -> bool:
    weights = node.get("weights") or {}
    return (not node.get("event_kinds") and not node.get("credit_per_unit")
            and node.get("cap_per_period") is None and node.get("duty") is None
            and Decimal(weights.get("accepted", 1)) == 1 and Decimal(weights.get("low_rating", 1)) == 1
            and weights.get("low_rating_below") is None)


def document_problems(doc: dict, *, complete: bool) -> dict[str, list[str]]:
    """What is wrong with a parsed document (``SchemeDocumentSerializer.validated_data``),
    by field path. ``complete`` adds the rules a scheme must meet to be published: every leaf
    names event kinds and gives credit."""
    problems: dict[str, list[str]] = {}

    def add(path, message):
        problems.setdefault(path, []).append(str(message))

    period = doc["period"]
    if period["end"] < period["start"]:
        add("period.end", _("The period must not end before it starts."))
    thresholds = doc["thresholds"]
    if thresholds["excellent"] <= thresholds["qualified"]:
        add("thresholds.excellent", _("The excellent threshold must be above the qualified threshold."))
    if not doc["indicators"]:
        add("indicators", _("A scheme needs at least one indicator."))

    seen: dict[str, str] = {}
    count = 0
    leaves = 0

    def check_level(nodes, expected, path):
        for index, node in enumerate(nodes):
            here = f"{path}[{index}]"
            if node["level"] != expected:
                add(f"{here}.level", _("Expected a %(level)s-level indicator here.") % {"level": expected})
            children = node.get("children") or []
            if children and expected != LEVELS[-1]:
                check_level(children, LEVELS[LEVELS.index(expected) + 1], f"{here}.children")

    check_level(doc["indicators"], "A", "indicators")
    for path, node in _walk(doc["indicators"]):
        count += 1
        if node["code"] in seen:
            add(f"{path}.code", _("The code %(code)s is used twice (also at %(other)s).")
                % {"code": node["code"], "other": seen[node["code"]]})
        seen.setdefault(node["code"], path)
        children = node.get("children") or []
        duty = node.get("duty")
        weights = node.get("weights") or {}
        if children:
            if not _is_leaf_value_default(node):
                add(path, _("An indicator with children counts nothing itself: remove its event kinds, "
                            "credit, cap, weights and duty, or move them to a child."))
            continue
        leaves += 1
        if duty is not None:
            if duty.get("minimum") is None and duty.get("consequence") != Indicator.Consequence.NONE:
                add(f"{path}.duty.minimum", _("A consequence needs a required minimum."))
            if duty.get("minimum") is not None and duty["minimum"] <= 0:
                add(f"{path}.duty.minimum", _("A required minimum must be above zero."))
        if weights.get("low_rating_below") is not None and weights["low_rating_below"] > 5:
            add(f"{path}.weights.low_rating_below", _("Ratings run from 1 to 5."))
        if complete:
            if not node.get("event_kinds"):
                add(f"{path}.event_kinds", _("A leaf indicator must name the event kinds it counts."))
            if not node.get("credit_per_unit"):
                add(f"{path}.credit_per_unit", _("A leaf indicator must give credit per unit."))
    if count > MAX_NODES:
        add("indicators", _("A scheme has at most %(n)d indicators.") % {"n": MAX_NODES})
    if doc["indicators"] and not leaves:
        add("indicators", _("A scheme needs at least one leaf indicator."))
    return problems
