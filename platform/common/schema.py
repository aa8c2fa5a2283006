from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names nested serializers after their view: ``TokenLoginApi.OutputSerializer`` becomes
    the component ``TokenLoginApiOutput``, so the HackSoft-style nested Input/Output
    serializers of different views never collide in the schema."""

    def get_serializer_name(self, serializer, direction):
        qualname = serializer.__class__.__qualname__
        if "." in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)
