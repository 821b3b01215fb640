"""WebSocket routes (the consumers arrive with the live-updates work)."""

websocket_urlpatterns: list = []
