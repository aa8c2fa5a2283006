from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser

# Close code for a handshake without a valid ticket (4000-4999 are the application's own;
# docs/live-protocol.md lists them all).
CLOSE_UNAUTHENTICATED = 4401


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):
    """Answers who the ticket authenticated; lets clients and tests check websocket auth."""

    async def connect(self):
        user = self.scope["user"]
        if user.is_authenticated and hasattr(user, "aload"):
            # A TicketUser (no query at the gateway): deactivated or told to change the password
            # since the ticket was issued means no entry.
            user = await user.aload() or AnonymousUser()
        if not user.is_authenticated:
            # Accept first: a close before accept becomes a bare HTTP 403 at the handshake
            # under Daphne, and the client would never see why.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        await self.send_json({"type": "hello", "user_id": user.pk, "username": user.username})
