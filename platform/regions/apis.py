"""Places and school structure: read-only reference lists for every signed-in user."""

from django_filters import rest_framework as filters
from rest_framework import generics, serializers

from accounts.models import TeacherTier
from accounts.selectors import teacher_tier_list
from common.filters import IdFilter
from regions.models import Grade, Region, School, SchoolStage, Subject
from regions.selectors import grade_list, region_list, school_list, school_stage_list, subject_list


class RegionFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Region.Kind.choices)
    parent = IdFilter(field_name="parent_id", help_text="Counties of this city.")

    class Meta:
        model = Region
        fields = []


class RegionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "kind", "code", "name", "parent"]


class RegionListApi(generics.ListAPIView):
    """Cities (市) and counties (县市区)."""

    serializer_class = RegionOutputSerializer
    filterset_class = RegionFilter
    ordering_fields = ["code", "name", "id"]
    ordering = ["code"]

    def get_queryset(self):
        return region_list(user=self.request.user)


class SchoolFilter(filters.FilterSet):
    county = IdFilter(field_name="county_id")
    city = IdFilter(field_name="city_id")
    stage = IdFilter(field_name="stages", distinct=True)
    name = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=64)

    class Meta:
        model = School
        fields = []


class SchoolOutputSerializer(serializers.ModelSerializer):
    stage_ids = serializers.PrimaryKeyRelatedField(source="stages", many=True, read_only=True)

    class Meta:
        model = School
        fields = ["id", "code", "name", "county", "city", "stage_ids"]


class SchoolListApi(generics.ListAPIView):
    """Schools (names and places are public within the platform)."""

    serializer_class = SchoolOutputSerializer
    filterset_class = SchoolFilter
    ordering_fields = ["code", "name", "id"]
    ordering = ["code"]

    def get_queryset(self):
        return school_list(user=self.request.user)


class SchoolDetailApi(generics.RetrieveAPIView):
    serializer_class = SchoolOutputSerializer

    def get_queryset(self):
        return school_list(user=self.request.user)


def _reference_list_api(model, selector, fields, name):
    """A read-only, paginated list of a small reference table (stages, subjects, ...), read
    through the table's selector and ordered by the model's ordering."""
    meta = type("Meta", (), {"model": model, "fields": fields})
    serializer = type(f"{name}OutputSerializer", (serializers.ModelSerializer,), {"Meta": meta})
    return type(
        f"{name}ListApi",
        (generics.ListAPIView,),
        {
            "serializer_class": serializer,
            "get_queryset": lambda self: selector(user=self.request.user),
            "ordering_fields": [f for f in fields if f in {"id", "code", "name", "order", "rank"}],
            "__doc__": f"{model._meta.verbose_name_plural}: reference data.",
            "__module__": __name__,
        },
    )


SchoolStageListApi = _reference_list_api(
    SchoolStage, school_stage_list, ["id", "code", "name", "order"], "SchoolStage")
SubjectListApi = _reference_list_api(Subject, subject_list, ["id", "code", "name", "order"], "Subject")
GradeListApi = _reference_list_api(Grade, grade_list, ["id", "code", "name", "stage", "order"], "Grade")
TeacherTierListApi = _reference_list_api(
    TeacherTier, teacher_tier_list, ["id", "code", "name", "rank", "is_three_tier"], "TeacherTier"
)
