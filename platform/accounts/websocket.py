from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from accounts.tickets import ws_ticket_redeem


@database_sync_to_async
def _active_user(user_id: int):
    from accounts.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.must_change_password:
        return AnonymousUser()
    return user


class WebsocketTicketAuthMiddleware(BaseMiddleware):
    """Puts the ticket's user (or AnonymousUser) in ``scope["user"]``; consumers decide."""

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        ticket = (query.get("ticket") or [""])[0]
        user_id = await ws_ticket_redeem(ticket=ticket)
        scope = dict(scope, user=await _active_user(user_id) if user_id else AnonymousUser())
        return await super().__call__(scope, receive, send)
