"""LLM agents: providers behind one interface, budgets and accounting, roles.

providers/   local (offline default), openai (any OpenAI-compatible
             endpoint), anthropic; one HTTP client with bounded retries
client.py    one call: budget, tokens per minute, fallback chain, the
             effect ledger (a retried step never pays twice), recording
prompts.py   prompt templates (prompts/*.txt)
plan.py      the campaign graph: its JSON schema and the default graph
roles.py     the six LLM roles of agents.registry
"""
