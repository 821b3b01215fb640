from django.contrib import admin

from reachly.sandbox.models import Incident, Invitation, Login, Member, Message


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["handle", "name", "title", "company", "accepts_invitations", "challenge_in", "challenged_until"]
    search_fields = ["handle", "name", "email", "company"]
    exclude = ["password"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["id", "sender", "recipient", "created_at", "accept_at", "duplicate"]
    list_filter = ["duplicate"]
    list_select_related = ["sender", "recipient"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "sender", "recipient", "created_at"]
    list_select_related = ["sender", "recipient"]


@admin.register(Login)
class LoginAdmin(admin.ModelAdmin):
    list_display = ["member", "at", "user_agent"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["member", "kind", "path", "at"]
    list_filter = ["kind"]
