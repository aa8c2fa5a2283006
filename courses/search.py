"""The search hook for courses: what the search issue indexes, and when.

``course_search_document(course)`` is the document of one course; ``courses.signals.course_changed``
is sent (after commit) with ``course_id=`` whenever a course is created or changed through
``courses.services``. The search app connects a receiver that loads the course and indexes the
document; indexing errors are logged by the signal, never raised into the user's write."""

from __future__ import annotations

from courses.models import Course


def course_search_document(course: Course) -> dict:
    """The fields search needs: text to match (title, description, studio, owner, subject), the
    facets to filter on, and who may see it (visibility, city, school, studio)."""
    return {
        "id": course.pk,
        "title": course.title,
        "description": course.description,
        "status": course.status,
        "visibility": course.visibility,
        "city_id": course.city_id,
        "school_id": course.school_id,
        "studio_id": course.studio_id,
        "studio_name": course.studio.name if course.studio_id else "",
        "owner_id": course.owner_id,
        "owner_name": course.owner.real_name if course.owner_id else "",
        "subject_id": course.subject_id,
        "subject_name": course.subject.name if course.subject_id else "",
        "stage_id": course.stage_id,
        "grade_id": course.grade_id,
        "created_at": course.created_at.isoformat() if course.created_at else None,
        "updated_at": course.updated_at.isoformat() if course.updated_at else None,
    }


def course_for_indexing(course_id: int) -> Course | None:
    return (Course.objects.select_related("studio", "owner", "subject")
            .filter(pk=course_id).first())
