"""LLM building blocks without a database: prompts, schema, pricing, URLs,
the wire formats against a real local HTTP server, fallback and re-prompts."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from agents.base import AgentError, PermanentError, RateLimited
from agents.llm import client, plan, pricing, prompts, providers, roles
from agents.llm.client import parse_json
from agents.llm.providers import ConfigError, ProviderError, ProviderRateLimited, Request, http
from agents.llm.providers.anthropic import AnthropicProvider
from agents.llm.providers.openai import OpenAIProvider
from reachly.orchestration import graph
from tests.llm.fake_server import FakeLLMServer, Reply
from tests.llm.fakes import FakeContext, ScriptedProvider


@pytest.fixture
def server():
    s = FakeLLMServer().start()
    yield s
    s.stop()


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(providers.TYPES, "scripted", ScriptedProvider)
    ScriptedProvider.seen = []
    return ScriptedProvider


LEAD = {"id": 7, "first_name": "Ada", "last_name": "Byron", "company": "Analytical Engines", "title": "CTO"}


# -- prompts -----------------------------------------------------------------


def test_every_prompt_template_renders_with_its_values():
    system, user = prompts.render(
        "copywriter.outreach", {"lead": LEAD, "topic": "data pipelines", "brief": "Reach CTOs."}
    )
    assert "300 characters" in system
    assert '"first_name": "Ada"' in user and "Reach CTOs." in user
    assert set(prompts.tasks()) >= {"planner.graph", "copywriter.outreach", "analyst.summary", "seo.plan"}


def test_a_prompt_missing_a_value_says_which():
    with pytest.raises(ValueError, match="'topic'"):
        prompts.render("copywriter.outreach", {"lead": LEAD, "brief": ""})


# -- the planner's schema and checks ------------------------------------------


def test_the_default_graph_follows_the_outreach_contract():
    steps = plan.default_graph(campaign=3, brief="b", leads=[1, 2, 3, 4, 5], sender_accounts=[10, 20], batch_size=2)
    by_key = {s["key"]: s for s in steps}
    assert list(by_key) == [
        "write-copy",
        "invite-10-1",
        "follow-up-10-1",
        "invite-10-2",
        "follow-up-10-2",
        "invite-20-1",
        "follow-up-20-1",
        "summarise",
    ]
    assert by_key["write-copy"]["input"] == {"campaign": 3, "brief": "b", "leads": [1, 2, 3, 4, 5]}
    # Round-robin: account 10 gets leads 1, 3, 5; account 20 gets 2, 4.
    assert by_key["invite-10-1"]["input"] == {"action": "invite", "leads": [1, 3], "notes_from": "write-copy"}
    assert by_key["invite-10-2"]["input"]["leads"] == [5]
    assert by_key["follow-up-20-1"] == {
        "key": "follow-up-20-1",
        "agent": "outreach",
        "sender_account": 20,
        "input": {"action": "follow_up", "leads": [2, 4], "messages_from": "write-copy"},
        "depends_on": ["write-copy", "invite-20-1"],
    }
    assert sorted(by_key["summarise"]["depends_on"]) == sorted(k for k in by_key if k.startswith(("invite", "follow")))
    assert plan.check(steps, leads=[1, 2, 3, 4, 5], sender_accounts=[10, 20], graph_errors=_taken("plan")) == []


def _taken(*keys: str):
    """The job port's graph check for a job that has steps `keys`."""
    return lambda steps: graph.extension_errors(steps, set(keys))


def test_without_sender_accounts_the_graph_is_copy_then_summary():
    steps = plan.default_graph(campaign=3, brief="b", leads=[1, 2], sender_accounts=[])
    assert [(s["key"], s.get("depends_on", [])) for s in steps] == [("write-copy", []), ("summarise", ["write-copy"])]


def test_schema_and_checks_name_what_is_invalid():
    validator = client.Draft202012Validator(
        plan.schema(key_pattern=graph.KEY_RE.pattern, priorities=list(graph.PRIORITIES))
    )
    bad = {"steps": [{"key": "x", "agent": "astrologer", "input": {}}, {"key": "y", "input": {}}]}
    errors = client.schema_errors(validator, bad)
    assert any(e.startswith("steps[0].agent:") and "astrologer" in e for e in errors)
    assert any(e.startswith("steps[1]:") and "'agent' is a required property" in e for e in errors)

    steps = [
        {"key": "write-copy", "agent": "copywriter", "input": {"leads": [1, 99]}},
        {"key": "inv", "agent": "outreach", "input": {"leads": [1], "notes_from": "nope"}, "depends_on": ["zzz"]},
        {"key": "plan", "agent": "data_analyst", "input": {}, "sender_account": 5},
    ]
    errors = plan.check(steps, leads=[1, 2], sender_accounts=[10], graph_errors=_taken("plan"))
    assert "steps[0].input.leads: [99] are not leads of this campaign" in errors
    assert any(e.startswith("steps[1].sender_account: the outreach agent needs one of [10]") for e in errors)
    assert "steps[1].input.notes_from: no step 'nope' in the graph" in errors
    assert "steps[1].depends_on: unknown step key 'zzz'" in errors
    assert "steps[2].key: the job already has a step 'plan'" in errors
    assert any(e.startswith("steps[2].sender_account: 5 is not one of") for e in errors)


def test_json_answers_in_code_fences_or_with_prose_are_parsed_and_garbage_is_named():
    assert parse_json('```json\n{"a": 1}\n```') == ({"a": 1}, [])
    assert parse_json('Sure! {"a": 1} Hope this helps.') == ({"a": 1}, [])
    data, errors = parse_json("I cannot do that.")
    assert data is None and errors[0].startswith("the answer is not JSON")
    assert parse_json("[1, 2]")[1] == ["the answer must be a JSON object, not list"]


# -- pricing ---------------------------------------------------------------------


def test_pricing_uses_the_longest_known_prefix_and_overrides():
    assert pricing.cost("gpt-4o-mini", 1_000_000, 1_000_000) == Decimal("0.750000")
    # A dated name is priced as its family, and not as the shorter "gpt-4o".
    assert pricing.cost("gpt-4o-mini-2024-07-18", 1000, 500) == Decimal("0.000450")
    assert pricing.cost("claude-3-5-haiku-20241022", 100, 50) == Decimal("0.000280")
    # Self-hosted models (Ollama, vLLM) and the local provider cost nothing.
    assert pricing.cost("llama3.2:3b", 10_000, 10_000) == Decimal(0)
    assert pricing.cost("local-template", 10_000, 10_000) == Decimal(0)
    assert pricing.cost("llama3.2:3b", 1_000_000, 0, {"llama3.2": [1, 2]}) == Decimal("1.000000")


# -- configuration: endpoints only from settings, never a URL from a tenant -----


@pytest.mark.parametrize(
    "url, problem",
    [
        ("ftp://llm.example.com", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://user:secret@llm.example.com/v1", "credentials"),
        ("https://llm.example.com/v1?redirect=http://169.254.169.254", "query"),
        ("https:///v1", "no host"),
        ("", "required"),
    ],
)
def test_a_bad_base_url_is_refused(url, problem):
    with pytest.raises(ConfigError, match=problem):
        providers.validate_base_url(url)


def test_a_good_base_url_is_kept_without_its_trailing_slash():
    assert providers.validate_base_url("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434/v1"


def _settings(**kw):
    from tests.llm.fakes import BASE_SETTINGS

    configured = {
        "local": {"type": "local", "model": "local-template"},
        "openai": {"type": "openai", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"},
        "anthropic": {"type": "anthropic", "base_url": "https://api.anthropic.com", "model": "claude-3-5-haiku"},
    }
    return {**BASE_SETTINGS, "providers": configured, **kw}


def test_a_tenant_chooses_providers_by_name_only():
    links = providers.chain(_settings(chain=["openai", "local"], chain_override="anthropic, local"))
    assert [link.name for link in links] == ["anthropic", "local"]
    with pytest.raises(ConfigError, match=r"unknown LLM provider 'http://10\.0\.0\.1/v1'"):
        providers.chain(_settings(chain_override="http://10.0.0.1/v1"))


def test_the_model_override_goes_to_the_primary_real_provider_or_the_named_one():
    links = providers.chain(_settings(chain=["local", "openai", "anthropic"], model_override="gpt-4o"))
    assert [(link.name, link.model) for link in links] == [
        ("local", "local-template"),
        ("openai", "gpt-4o"),
        ("anthropic", "claude-3-5-haiku"),
    ]
    links = providers.chain(_settings(chain=["openai", "anthropic"], model_override="anthropic:claude-opus-4"))
    assert [link.model for link in links] == ["gpt-4o-mini", "claude-opus-4"]
    # Ollama's tags have colons too: a prefix that is not a provider is part of the name.
    links = providers.chain(_settings(chain=["openai"], model_override="llama3.2:3b"))
    assert links[0].model == "llama3.2:3b"
    with pytest.raises(ConfigError, match="not a model name"):
        providers.chain(_settings(chain=["openai"], model_override="x/../../admin?y=1 z"))


def test_redirects_are_never_followed(server):
    target = FakeLLMServer().start()
    try:
        server.script("openai", [Reply(302, headers={"Location": target.url("openai") + "/chat/completions"})])
        provider = OpenAIProvider("openai", {"base_url": server.url("openai"), "model": "gpt-4o-mini"})
        with pytest.raises(ProviderError, match="redirects are not followed"):
            provider.complete(Request("t", "s", [{"role": "user", "content": "hi"}]), "gpt-4o-mini")
        assert target.requests == []
    finally:
        target.stop()


# -- the wire formats, against a real HTTP server ------------------------------------


def test_the_openai_provider_speaks_chat_completions(server):
    server.script("openai", [Reply(text='{"ok": true}', prompt_tokens=12, completion_tokens=3)])
    provider = OpenAIProvider("openai", {"base_url": server.url("openai"), "api_key": "sk-test", "model": "m"})
    request = Request("t", "be brief", [{"role": "user", "content": "hello"}], max_tokens=50, json=True)
    completion = provider.complete(request, "gpt-4o-mini")
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ('{"ok": true}', 12, 3)
    assert completion.model == "gpt-4o-mini-2024-07-18"
    sent = server.received("openai")[0]
    assert sent["headers"]["Authorization"] == "Bearer sk-test"
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert sent["body"]["response_format"] == {"type": "json_object"}
    assert (sent["body"]["model"], sent["body"]["max_tokens"]) == ("gpt-4o-mini", 50)


def test_the_anthropic_provider_speaks_messages(server):
    server.script("anthropic", [Reply(text="hello back", prompt_tokens=20, completion_tokens=4)])
    provider = AnthropicProvider("anthropic", {"base_url": server.url("anthropic"), "api_key": "ak-test"})
    completion = provider.complete(Request("t", "sys", [{"role": "user", "content": "hello"}]), "claude-3-5-haiku")
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("hello back", 20, 4)
    sent = server.received("anthropic")[0]
    assert sent["headers"]["x-api-key"] == "ak-test" and sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"]["system"] == "sys" and sent["body"]["messages"] == [{"role": "user", "content": "hello"}]


def test_a_short_retry_after_is_honoured_in_place_and_a_long_one_is_not(server):
    provider = OpenAIProvider("openai", {"base_url": server.url("openai")}, {"retries": 2, "retry_max_seconds": 1.0})
    request = Request("t", "", [{"role": "user", "content": "hi"}])
    server.script("openai", [Reply(429, retry_after=0), Reply(503, retry_after=0), Reply(text="third time")])
    assert provider.complete(request, "m").text == "third time"
    assert [r["status"] for r in server.received("openai")] == [429, 503, 200]

    server.requests.clear()
    server.script("openai", [Reply(429, retry_after=30)])
    with pytest.raises(ProviderRateLimited) as caught:
        provider.complete(request, "m")
    assert caught.value.retry_after == 30 and len(server.received("openai")) == 1


def test_retry_after_is_read_as_seconds_milliseconds_or_a_date():
    assert http.retry_after(httpx.Response(429, headers={"Retry-After": "7"}).headers) == 7
    assert http.retry_after(httpx.Response(429, headers={"retry-after-ms": "1500"}).headers) == 1.5
    date = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2037 07:28:00 GMT"})
    assert http.retry_after(date.headers) > 3600
    assert http.retry_after(httpx.Response(429).headers) is None


# -- the client: fallback, budget, tokens, re-prompts -----------------------------------


def test_a_rate_limited_primary_falls_back_and_later_calls_skip_it(scripted):
    scripted.answers = [ProviderRateLimited("HTTP 429", retry_after=30), '{"note": "n", "message": "m"}']
    ctx = FakeContext(
        {"leads": [7, 8]},
        providers={"primary": {"type": "scripted"}, "local": {"type": "local"}},
        chain=["primary", "local"],
    )
    ctx.lead_rows = {7: LEAD, 8: {**LEAD, "id": 8, "first_name": "Grace"}}
    out = roles.Copywriter().run(ctx)
    assert set(out["notes"]) == {"7", "8"} and "Grace" in out["notes"]["8"]
    assert [(c["provider"], c["outcome"], c["fallback"]) for c in ctx.calls] == [
        ("primary", "rate_limited", False),
        ("local", "ok", True),
        ("local", "ok", True),
    ]
    assert len(scripted.seen) == 1  # the second call did not ask the cooling primary again


def test_every_provider_rate_limited_makes_the_step_wait_for_the_soonest(scripted):
    scripted.answers = [ProviderRateLimited("HTTP 429", retry_after=12)]
    ctx = FakeContext({"leads": [7]}, providers={"primary": {"type": "scripted"}}, chain=["primary"])
    ctx.lead_rows = {7: LEAD}
    with pytest.raises(RateLimited) as caught:
        roles.Copywriter().run(ctx)
    assert caught.value.retry_after == 12 and "primary" in caught.value.scope


def test_a_provider_that_is_down_gives_a_retryable_error_naming_it(scripted):
    scripted.answers = [providers.ProviderUnavailable("HTTP 503: overloaded")]
    ctx = FakeContext({"leads": [7]}, providers={"primary": {"type": "scripted"}}, chain=["primary"])
    ctx.lead_rows = {7: LEAD}
    with pytest.raises(AgentError, match="primary: unavailable: HTTP 503") as caught:
        roles.Copywriter().run(ctx)
    assert caught.value.retryable


def test_a_spent_budget_makes_the_step_wait_with_a_clear_reason():
    ctx = FakeContext({"leads": [7]}, budget="5.00", spent="5.0123")
    ctx.lead_rows = {7: LEAD}
    with pytest.raises(RateLimited) as caught:
        roles.Copywriter().run(ctx)
    assert caught.value.scope.startswith("monthly LLM budget: $5.01 of $5.00 spent")
    assert "until the budget is raised or the month turns" in caught.value.scope
    assert ctx.calls == []


def test_a_token_limit_denial_is_a_wait_and_an_impossible_request_an_error():
    ctx = FakeContext({"leads": [7]})
    ctx.lead_rows = {7: LEAD}
    ctx.tokens_denied = RateLimited(20.0, "1000 LLM tokens per minute on local")
    with pytest.raises(RateLimited) as caught:
        roles.Copywriter().run(ctx)
    assert caught.value.retry_after == 20.0 and "tokens per minute on local" in caught.value.scope
    ctx.tokens_denied = RateLimited(-1, "10 LLM tokens per minute on local")
    with pytest.raises(AgentError, match="tokens exceed 10 LLM tokens per minute") as caught:
        roles.Copywriter().run(ctx)
    assert not caught.value.retryable


def test_the_planner_reprompts_invalid_json_then_rejects_it_naming_the_problem(scripted):
    scripted.answers = ["Here is your plan: step one, reach out."]
    ctx = FakeContext(
        {"campaign": 1, "brief": "b", "leads": [1, 2], "sender_accounts": []},
        role="activity_planner",
        providers={"fake": {"type": "scripted"}},
        chain=["fake"],
    )
    with pytest.raises(PermanentError) as caught:
        roles.ActivityPlanner().run(ctx)
    message = str(caught.value)
    assert "planner.graph: the model's answer was still invalid after 3 tries" in message
    assert "the answer is not JSON" in message
    assert caught.value.details["tries"] == 3
    assert len(scripted.seen) == 3 and ctx.extended == []
    # Each re-prompt showed the model its answer and what was wrong with it.
    retry = scripted.seen[1].messages
    assert retry[1] == {"role": "assistant", "content": "Here is your plan: step one, reach out."}
    assert "That answer was invalid" in retry[2]["content"] and "not JSON" in retry[2]["content"]


def test_the_planner_names_schema_errors_and_accepts_a_corrected_answer(scripted):
    bad = json.dumps({"steps": [{"key": "write-copy", "agent": "poet", "input": {}}]})
    good = json.dumps({"steps": plan.default_graph(campaign=1, brief="b", leads=[1, 2], sender_accounts=[])})
    scripted.answers = [bad, good]
    ctx = FakeContext(
        {"campaign": 1, "brief": "b", "leads": [1, 2]},
        role="activity_planner",
        providers={"fake": {"type": "scripted"}},
        chain=["fake"],
    )
    out = roles.ActivityPlanner().run(ctx)
    assert "steps[0].agent: 'poet' is not one of" in scripted.seen[1].messages[2]["content"]
    assert out["keys"] == ["write-copy", "summarise"] and ctx.extended[0][0]["agent"] == "copywriter"


def test_the_local_planner_answers_with_the_default_graph():
    ctx = FakeContext(
        {"campaign": 4, "brief": "b", "leads": [1, 2, 3], "sender_accounts": [9], "batch_size": 2},
        role="activity_planner",
    )
    out = roles.ActivityPlanner().run(ctx)
    assert ctx.extended[0] == plan.default_graph(
        campaign=4, brief="b", leads=[1, 2, 3], sender_accounts=[9], batch_size=2
    )
    assert out["provider"] == "local" and out["steps_added"] == 6


def test_local_copy_is_personal_deterministic_and_fits_the_note_limit():
    lead = {**LEAD, "company": "A" * 200}
    ctx = FakeContext({"brief": "Talk about data pipelines. More.", "leads": [7]})
    ctx.lead_rows = {7: lead}
    first = roles.Copywriter().run(ctx)
    note = first["notes"]["7"]
    assert "Ada" in note and len(note) <= 300
    assert "Talk about data pipelines" in first["messages"]["7"]
    ctx2 = FakeContext({"brief": "Talk about data pipelines. More.", "leads": [7]})
    ctx2.lead_rows = {7: lead}
    assert roles.Copywriter().run(ctx2) == first
    # Local accounting: deterministic estimates, no cost.
    assert ctx.calls[0]["prompt_tokens"] == ctx2.calls[0]["prompt_tokens"] > 0
    assert ctx.calls[0]["cost"] == "0.000000"


def test_fit_cuts_at_a_sentence_or_a_word():
    assert roles.fit("One.  Two!", 300) == "One. Two!"
    cut = roles.fit("A sentence of about forty characters. " * 12, 300)
    assert cut.endswith("characters.") and len(cut) <= 300
    cut = roles.fit("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…")


def test_the_other_roles_give_structured_output_on_the_local_provider():
    for role_cls, name, fields in [
        (roles.SeoSpecialist, "seo_specialist", {"keywords", "recommendations"}),
        (roles.SocialMediaManager, "social_media_manager", {"posts"}),
        (roles.PaidAdsManager, "paid_ads_manager", {"ads", "budget"}),
    ]:
        out = role_cls().run(FakeContext({"topic": "data pipelines", "brief": "b"}, role=name))
        assert fields <= set(out), name
    posts = roles.Copywriter().run(FakeContext({"kind": "posts", "topic": "data pipelines", "count": 2}))
    assert len(posts["posts"]) == 2
    summary = roles.DataAnalyst().run(FakeContext(role="data_analyst"))
    assert summary["summary"].startswith('Job "demo": 2 of 3 steps done so far')
    assert summary["headline"] == "2 of 2 leads new"
    assert summary["metrics"]["leads"]["total"] == 2


def test_the_system_check_names_a_bad_endpoint_and_an_unknown_chain_provider(settings):
    from reachly.llm.checks import llm_providers_check

    assert llm_providers_check() == []
    settings.REACHLY_LLM_PROVIDERS = {
        **settings.REACHLY_LLM_PROVIDERS,
        "vllm": {"type": "openai", "base_url": "gopher://x"},
    }
    settings.REACHLY_LLM_ROLE_CHAINS = {"copywriter": ["vllm", "ollama"]}
    errors = llm_providers_check()
    assert [(e.id, e.obj) for e in errors] == [
        ("reachly.llm.E001", "REACHLY_LLM_PROVIDERS['vllm']"),
        ("reachly.llm.E002", "REACHLY_LLM_ROLE_CHAINS['copywriter']"),
    ]
    assert "scheme must be http or https" in errors[0].msg and "'ollama'" in errors[1].msg
