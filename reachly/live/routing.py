"""WebSocket routes."""

from django.urls import path

from reachly.live.consumers import EventsConsumer

websocket_urlpatterns = [path("ws/events/", EventsConsumer.as_asgi())]
