"""Serializers shared by several account views (the signed-in user's own view of themself)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.selectors import user_role


class MeSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    profile = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "role", "must_change_password", "profile"]

    def get_role(self, user) -> str:
        return user_role(user)

    @extend_schema_field(serializers.DictField())
    def get_profile(self, user) -> dict:
        if hasattr(user, "admin_profile"):
            p = user.admin_profile
            return {"real_name": p.real_name, "level": p.level, "region_id": p.region_id,
                    "school_id": p.school_id}
        if hasattr(user, "teacher_profile"):
            p = user.teacher_profile
            return {"real_name": p.real_name, "school_id": p.school_id,
                    "tier_id": p.tier_id, "subject_ids": [s.pk for s in p.subjects.all()]}
        if hasattr(user, "student_profile"):
            p = user.student_profile
            return {"real_name": p.real_name, "school_id": p.school_id, "grade_id": p.grade_id,
                    "class_name": p.class_name}
        return {}
