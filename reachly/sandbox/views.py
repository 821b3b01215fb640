"""The sandbox network's pages (thin: the behaviour is in services).

Its own session cookie (`sbx_session`, scoped to the sandbox's path) and its
own CSRF check (an HMAC of the session), so nothing is shared with the
product's users and sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import cast
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reachly.sandbox import services
from reachly.sandbox.models import Incident, Invitation, Member

COOKIE = "sbx_session"


class MemberRequest(HttpRequest):
    """A request member_view let through: it carries the signed-in member."""

    sandbox_member: Member


def _csrf(request: HttpRequest) -> str:
    return salted_hmac("reachly.sandbox.csrf", request.COOKIES.get(COOKIE, "")).hexdigest()


def _page(request: HttpRequest, template: str, context: dict | None = None, status: int = 200) -> HttpResponse:
    me = getattr(request, "sandbox_member", None)
    return render(request, f"sandbox/{template}", {"me": me, "csrf": _csrf(request), **(context or {})}, status=status)


def member_view(get: str | None = None, post: str | None = None) -> Callable:
    """Signed-in members only; every request passes the site's defences.

    `get` and `post` name what a request of that method counts as toward
    the hourly limit ("view", "invite", "message"); None counts nothing.
    """

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            member = services.session_member(request.COOKIES.get(COOKIE))
            if member is None:
                login = reverse("sandbox:login") + "?" + urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(login)
            cast(MemberRequest, request).sandbox_member = member
            if request.method == "POST" and not constant_time_compare(request.POST.get("csrf", ""), _csrf(request)):
                return _page(request, "error.html", {"message": "Your form expired; reload the page."}, 403)
            kind = post if request.method == "POST" else get
            trouble = services.gate(member, path=request.path, action=kind)
            if trouble is not None and trouble.kind == Incident.Kind.CHALLENGE:
                return _page(request, "challenge.html", {"seconds": int(trouble.until or 0)}, 403)
            if trouble is not None:
                return _page(request, "too_many_requests.html", status=429)
            try:
                return view(request, member, *args, **kwargs)
            except services.Refused as refused:
                return _page(request, "error.html", {"message": str(refused)}, refused.status)

        return wrapper

    return decorate


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("sandbox:home")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("sandbox:home")
    error = ""
    if request.method == "POST":
        member = services.authenticate(request.POST.get("username", ""), request.POST.get("password", ""))
        if member is not None:
            session = services.session_start(member, request.headers.get("User-Agent", ""))
            response = HttpResponseRedirect(next_url)
            response.set_cookie(
                COOKIE, session.key, max_age=30 * 86400, path=reverse("sandbox:home"), httponly=True, samesite="Lax"
            )
            return response
        error = "Wrong e-mail, handle or password."
    return _page(request, "login.html", {"next": next_url, "error": error}, 401 if error else 200)


@member_view()
@require_http_methods(["POST"])
def logout(request: HttpRequest, member: Member) -> HttpResponse:
    services.session_end(request.COOKIES.get(COOKIE))
    response = HttpResponseRedirect(reverse("sandbox:login"))
    response.delete_cookie(COOKIE, path=reverse("sandbox:home"))
    return response


@member_view()
def home(request: HttpRequest, member: Member) -> HttpResponse:
    people = Member.objects.exclude(pk=member.pk)[:100]
    sent = Invitation.objects.filter(sender=member, duplicate=False).select_related("recipient")[:100]
    return _page(request, "home.html", {"people": people, "sent": sent})


@member_view(get="view")
def profile(request: HttpRequest, member: Member, handle: str) -> HttpResponse:
    person = Member.objects.filter(handle=handle).first()
    if person is None:
        return _page(request, "not_found.html", status=404)
    return _page(request, "profile.html", {"person": person, "state": services.state(member, person)})


@member_view(post="invite")
@require_http_methods(["POST"])
def connect(request: HttpRequest, member: Member, handle: str) -> HttpResponse:
    person = get_object_or_404(Member, handle=handle)
    services.invitation_send(member, person, request.POST.get("note", ""))
    services.respond_later(member)
    return HttpResponseRedirect(reverse("sandbox:profile", args=[handle]), status=303)


@member_view(get="view", post="message")
@require_http_methods(["GET", "POST"])
def messages(request: HttpRequest, member: Member, handle: str) -> HttpResponse:
    person = Member.objects.filter(handle=handle).first()
    if person is None:
        return _page(request, "not_found.html", status=404)
    if request.method == "POST":
        services.message_send(member, person, request.POST.get("body", ""))
        services.respond_later(member)
        return HttpResponseRedirect(reverse("sandbox:messages", args=[handle]), status=303)
    if services.state(member, person) != services.State.CONNECTED:
        return _page(request, "error.html", {"message": "You can only message your connections."}, 403)
    return _page(request, "messages.html", {"person": person, "thread": services.thread(member, person)})
