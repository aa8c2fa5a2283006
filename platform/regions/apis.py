"""Places and school structure: read-only reference lists for every signed-in user."""

from django_filters import rest_framework as filters
from rest_framework import generics, serializers

from accounts.models import TeacherTier
from regions.models import Grade, Region, School, SchoolStage, Subject
from regions.selectors import region_list, school_list


class RegionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "kind", "code", "name", "parent"]


class RegionListApi(generics.ListAPIView):
    serializer_class = RegionOutputSerializer
    filterset_fields = ["kind", "parent"]

    def get_queryset(self):
        return region_list(user=self.request.user).order_by("code")


class SchoolFilter(filters.FilterSet):
    county = filters.NumberFilter(field_name="county_id")
    city = filters.NumberFilter(field_name="city_id")
    stage = filters.NumberFilter(field_name="stages", distinct=True)
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
    serializer_class = SchoolOutputSerializer
    filterset_class = SchoolFilter

    def get_queryset(self):
        return school_list(user=self.request.user).order_by("code")


class SchoolDetailApi(generics.RetrieveAPIView):
    serializer_class = SchoolOutputSerializer

    def get_queryset(self):
        return school_list(user=self.request.user)


def _reference_list_api(model, fields, name):
    """A read-only, paginated list of a small reference table (stages, subjects, ...)."""
    meta = type("Meta", (), {"model": model, "fields": fields})
    serializer = type(f"{name}OutputSerializer", (serializers.ModelSerializer,), {"Meta": meta})
    return type(
        f"{name}ListApi",
        (generics.ListAPIView,),
        {"serializer_class": serializer, "queryset": model.objects.all(),
         "__doc__": f"{model._meta.verbose_name_plural}: reference data."},
    )


SchoolStageListApi = _reference_list_api(SchoolStage, ["id", "code", "name", "order"], "SchoolStage")
SubjectListApi = _reference_list_api(Subject, ["id", "code", "name", "order"], "Subject")
GradeListApi = _reference_list_api(Grade, ["id", "code", "name", "stage", "order"], "Grade")
TeacherTierListApi = _reference_list_api(
    TeacherTier, ["id", "code", "name", "rank", "is_three_tier"], "TeacherTier"
)
